// Options of a stream event source mapping: Lambda's Kinesis mapping parameters under their
// Lambda names (camelCase), with Lambda's defaults and limits; merged once, then validated with an
// error naming the field.
import { parseDuration } from '../../config/duration.js';
import { withDefaults } from '../../defaults.js';
import { InvalidMappingOptionError } from './errors.js';
import { compileFilterCriteria, type EventPattern, type FilterCriteria } from './filter.js';

export const DEFAULT_BATCH_SIZE = 100;
export const MAX_BATCH_SIZE = 10_000;
export const DEFAULT_MAXIMUM_BATCHING_WINDOW_S = 0;
export const MAX_BATCHING_WINDOW_S = 300; // 5 minutes
export const DEFAULT_STARTING_POSITION = 'LATEST';
export const DEFAULT_PARALLELIZATION_FACTOR = 1;
export const MAX_PARALLELIZATION_FACTOR = 10;
export const DEFAULT_MAXIMUM_RETRY_ATTEMPTS = -1; // until the record expires
export const MAX_RETRY_ATTEMPTS = 10_000;
export const DEFAULT_MAXIMUM_RECORD_AGE_S = -1; // until the record expires
export const MIN_RECORD_AGE_S = 60;
export const MAX_RECORD_AGE_S = 604_800; // 7 days
export const DEFAULT_RETRY_BASE_DELAY_MS = 1_000; // the first retry's wait; each next one doubles
export const DEFAULT_RETRY_MAX_DELAY_MS = 30_000; // the longest wait between retries
export const MAX_PAYLOAD_BYTES = 6 * 1024 * 1024; // Lambda's synchronous invocation payload limit

export type StartingPosition = 'TRIM_HORIZON' | 'LATEST' | 'AT_TIMESTAMP';
const POSITIONS: StartingPosition[] = ['TRIM_HORIZON', 'LATEST', 'AT_TIMESTAMP'];

export interface StreamMappingOptions {
  /** Most records in one invocation, 1–10,000. Default 100. A batch also stays under 6 MB of event. */
  batchSize?: number;
  /** How long to gather records before invoking, seconds 0–300 (or '30s', '2m'). Default 0: invoke as soon as records are there. */
  maximumBatchingWindow?: number | string;
  /**
   * Where a mapping without a committed position starts: TRIM_HORIZON (the oldest retained record),
   * LATEST (records appended after it starts) or AT_TIMESTAMP (startingPositionTimestamp).
   * Lambda requires it; Sluice defaults to LATEST. Once offsets are committed, they win.
   */
  startingPosition?: StartingPosition;
  /** For AT_TIMESTAMP: epoch seconds (as Lambda's API), an ISO 8601 text or a Date. */
  startingPositionTimestamp?: number | string | Date;
  /** Batches of one partition in flight at once, 1–10; records of one partition key are never in two at once and keep their order. Default 1. */
  parallelizationFactor?: number;
  /** On a function error, split the batch in two and retry each half (splitting uses no retry attempt). Default false. */
  bisectBatchOnFunctionError?: boolean;
  /** Retries of a failed batch before its records are discarded (to onFailure): −1 (until they expire) or 0–10,000. Default −1. */
  maximumRetryAttempts?: number;
  /** Records older than this are discarded (to onFailure) instead of invoked: −1 (never) or 60–604,800 seconds (or '1h'). Default −1. */
  maximumRecordAge?: number | string;
  /** ['ReportBatchItemFailures'] lets the function answer `{ batchItemFailures: [{ itemIdentifier }] }`. Default []. */
  functionResponseTypes?: 'ReportBatchItemFailures'[];
  /** EventBridge patterns; only matching records are delivered, the rest are passed over. Default: every record. */
  filterCriteria?: FilterCriteria;
  /** Stream (name, or Kinesis stream ARN) that receives a failure record for each discarded batch. Default: none (discarded records are logged). */
  onFailure?: string;
  /** A disabled mapping reads nothing. Default true. */
  enabled?: boolean;
  /** 'kinesis': Lambda's Kinesis event, byte for byte. 'records': `{ stream, streamArn, shardId, records: [{ partitionKey, sequenceNumber, data, arrival }] }` with data decoded. Default 'kinesis'. */
  format?: 'kinesis' | 'records';
  /** Sluice: wait before the first retry of a failed batch, ms; it doubles per retry. Default 1 s. */
  retryBaseDelayMs?: number;
  /** Sluice: the longest wait between retries, ms. Default 30 s. */
  retryMaxDelayMs?: number;
}

export interface ResolvedMappingOptions {
  batchSize: number;
  windowMs: number;
  startingPosition: StartingPosition;
  /** Epoch ms, for AT_TIMESTAMP. */
  startingTimestampMs?: number;
  parallelizationFactor: number;
  bisect: boolean;
  /** −1: unbounded. */
  maxRetries: number;
  /** undefined: unbounded. */
  maxRecordAgeMs?: number;
  reportBatchItemFailures: boolean;
  filter?: EventPattern;
  /** The destination stream's name. */
  onFailure?: string;
  enabled: boolean;
  format: 'kinesis' | 'records';
  retryBaseDelayMs: number;
  retryMaxDelayMs: number;
}

const KNOWN = new Set([
  'batchSize', 'maximumBatchingWindow', 'startingPosition', 'startingPositionTimestamp', 'parallelizationFactor',
  'bisectBatchOnFunctionError', 'maximumRetryAttempts', 'maximumRecordAge', 'functionResponseTypes', 'filterCriteria',
  'onFailure', 'enabled', 'format', 'retryBaseDelayMs', 'retryMaxDelayMs',
  'stream', // the trigger's own key, when a registry passes the trigger object whole
]);

/** Merges the defaults and validates; throws InvalidMappingOptionError naming the first bad field. */
export function resolveMappingOptions(options: StreamMappingOptions = {}): ResolvedMappingOptions {
  for (const key of Object.keys(options)) if (!KNOWN.has(key)) throw new InvalidMappingOptionError(key, 'is not a stream mapping option');
  const o = withDefaults(
    {
      batchSize: DEFAULT_BATCH_SIZE,
      maximumBatchingWindow: DEFAULT_MAXIMUM_BATCHING_WINDOW_S as number | string,
      startingPosition: DEFAULT_STARTING_POSITION as StartingPosition,
      parallelizationFactor: DEFAULT_PARALLELIZATION_FACTOR,
      bisectBatchOnFunctionError: false,
      maximumRetryAttempts: DEFAULT_MAXIMUM_RETRY_ATTEMPTS,
      maximumRecordAge: DEFAULT_MAXIMUM_RECORD_AGE_S as number | string,
      functionResponseTypes: [] as string[],
      enabled: true,
      format: 'kinesis' as string,
      retryBaseDelayMs: DEFAULT_RETRY_BASE_DELAY_MS,
      retryMaxDelayMs: DEFAULT_RETRY_MAX_DELAY_MS,
    },
    options,
  );
  const position = o.startingPosition;
  if (!POSITIONS.includes(position)) throw new InvalidMappingOptionError('startingPosition', `must be one of ${POSITIONS.join(', ')}, not ${JSON.stringify(position)}`);
  return {
    batchSize: integer('batchSize', o.batchSize, 1, MAX_BATCH_SIZE),
    windowMs: seconds('maximumBatchingWindow', o.maximumBatchingWindow, 0, MAX_BATCHING_WINDOW_S),
    startingPosition: position,
    startingTimestampMs: startingTimestamp(position, o.startingPositionTimestamp),
    parallelizationFactor: integer('parallelizationFactor', o.parallelizationFactor, 1, MAX_PARALLELIZATION_FACTOR),
    bisect: boolean('bisectBatchOnFunctionError', o.bisectBatchOnFunctionError),
    maxRetries: o.maximumRetryAttempts === -1 ? -1 : integer('maximumRetryAttempts', o.maximumRetryAttempts, 0, MAX_RETRY_ATTEMPTS, ' (or −1: until the record expires)'),
    maxRecordAgeMs: o.maximumRecordAge === -1 ? undefined : seconds('maximumRecordAge', o.maximumRecordAge, MIN_RECORD_AGE_S, MAX_RECORD_AGE_S, ' (or −1: no limit)'),
    reportBatchItemFailures: responseTypes(o.functionResponseTypes),
    filter: o.filterCriteria === undefined ? undefined : compileFilterCriteria(o.filterCriteria),
    onFailure: destination(o.onFailure),
    enabled: boolean('enabled', o.enabled),
    format: format(o.format),
    retryBaseDelayMs: integer('retryBaseDelayMs', o.retryBaseDelayMs, 1, 3_600_000),
    retryMaxDelayMs: integer('retryMaxDelayMs', o.retryMaxDelayMs, 1, 3_600_000),
  };
}

function integer(field: string, v: unknown, min: number, max: number, extra = ''): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw new InvalidMappingOptionError(field, `must be a whole number from ${min} to ${max}${extra}, not ${JSON.stringify(v)}`);
  }
  return v;
}

function seconds(field: string, v: unknown, min: number, max: number, extra = ''): number {
  const ms = typeof v === 'number' ? (Number.isInteger(v) ? v * 1000 : undefined) : parseDuration(v);
  if (ms === undefined || ms < min * 1000 || ms > max * 1000) {
    throw new InvalidMappingOptionError(field, `must be ${min} to ${max} seconds (a whole number, or text like '30s')${extra}, not ${JSON.stringify(v)}`);
  }
  return ms;
}

function boolean(field: string, v: unknown): boolean {
  if (typeof v !== 'boolean') throw new InvalidMappingOptionError(field, `must be true or false, not ${JSON.stringify(v)}`);
  return v;
}

function startingTimestamp(position: StartingPosition, v: unknown): number | undefined {
  const field = 'startingPositionTimestamp';
  if (position !== 'AT_TIMESTAMP') {
    if (v !== undefined) throw new InvalidMappingOptionError(field, `is only for startingPosition AT_TIMESTAMP (it is ${position})`);
    return undefined;
  }
  const ms = typeof v === 'number' ? v * 1000 : v instanceof Date ? v.getTime() : typeof v === 'string' ? Date.parse(v) : NaN;
  if (!Number.isFinite(ms)) throw new InvalidMappingOptionError(field, `AT_TIMESTAMP needs a time: epoch seconds, ISO 8601 text or a Date, not ${JSON.stringify(v)}`);
  return Math.round(ms);
}

function responseTypes(v: unknown): boolean {
  const field = 'functionResponseTypes';
  if (!Array.isArray(v) || v.some((t) => t !== 'ReportBatchItemFailures')) {
    throw new InvalidMappingOptionError(field, `must be [] or ['ReportBatchItemFailures'], not ${JSON.stringify(v)}`);
  }
  return v.length > 0;
}

function destination(v: unknown): string | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || v === '') throw new InvalidMappingOptionError('onFailure', `must be a stream name or a Kinesis stream ARN, not ${JSON.stringify(v)}`);
  if (!v.startsWith('arn:')) return v;
  const m = /^arn:aws[a-zA-Z-]*:kinesis:[^:]*:\d{12}:stream\/(\S+)$/.exec(v);
  if (!m) throw new InvalidMappingOptionError('onFailure', `${v} is not a Kinesis stream ARN (arn:aws:kinesis:<region>:<account>:stream/<name>)`);
  return m[1]!;
}

function format(v: unknown): 'kinesis' | 'records' {
  if (v !== 'kinesis' && v !== 'records') throw new InvalidMappingOptionError('format', `must be 'kinesis' or 'records', not ${JSON.stringify(v)}`);
  return v;
}

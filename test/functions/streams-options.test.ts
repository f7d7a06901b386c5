// Stream mapping options: Lambda's defaults, and each of Lambda's limits refused with an error that
// names the field; the streams are checked when the mapping starts.
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { StreamNotFoundError } from '../../src/engine/errors.js';
import {
  createStreamMapping,
  DestinationNotFoundError,
  InvalidFilterPatternError,
  InvalidMappingOptionError,
  resolveMappingOptions,
  type StreamMappingOptions,
} from '../../src/functions/streams/index.js';
import { sqliteFactory } from '../support/gateway.js';
import { FUNCTION_ARN, ok } from './streams-harness.js';

describe('defaults', () => {
  it("are Lambda's, with LATEST as the starting position", () => {
    expect(resolveMappingOptions()).toEqual({
      batchSize: 100,
      windowMs: 0,
      startingPosition: 'LATEST',
      startingTimestampMs: undefined,
      parallelizationFactor: 1,
      bisect: false,
      maxRetries: -1,
      maxRecordAgeMs: undefined,
      reportBatchItemFailures: false,
      filter: undefined,
      onFailure: undefined,
      enabled: true,
      format: 'kinesis',
      retryBaseDelayMs: 1000,
      retryMaxDelayMs: 30_000,
    });
  });

  it('take durations as seconds or text, ARNs as destinations, and the limits themselves', () => {
    const o = resolveMappingOptions({
      batchSize: 10_000,
      maximumBatchingWindow: '5m',
      maximumRecordAge: 604_800,
      maximumRetryAttempts: 10_000,
      parallelizationFactor: 10,
      onFailure: 'arn:aws:kinesis:us-east-1:000000000000:stream/dead-letters',
      startingPosition: 'AT_TIMESTAMP',
      startingPositionTimestamp: '2024-01-01T00:00:00Z',
    });
    expect(o).toMatchObject({ batchSize: 10_000, windowMs: 300_000, maxRecordAgeMs: 604_800_000, maxRetries: 10_000, onFailure: 'dead-letters', startingTimestampMs: Date.UTC(2024, 0, 1) });
  });
});

describe('refused', () => {
  it.each<[StreamMappingOptions | Record<string, unknown>, RegExp]>([
    [{ batchSize: 0 }, /^batchSize: must be a whole number from 1 to 10000, not 0/],
    [{ batchSize: 10_001 }, /^batchSize: .* not 10001/],
    [{ batchSize: 1.5 }, /^batchSize:/],
    [{ maximumBatchingWindow: 301 }, /^maximumBatchingWindow: must be 0 to 300 seconds/],
    [{ maximumBatchingWindow: 'soon' }, /^maximumBatchingWindow:/],
    [{ startingPosition: 'EARLIEST' }, /^startingPosition: must be one of TRIM_HORIZON, LATEST, AT_TIMESTAMP, not "EARLIEST"/],
    [{ startingPosition: 'AT_TIMESTAMP' }, /^startingPositionTimestamp: AT_TIMESTAMP needs a time/],
    [{ startingPosition: 'LATEST', startingPositionTimestamp: 1 }, /^startingPositionTimestamp: is only for startingPosition AT_TIMESTAMP/],
    [{ parallelizationFactor: 11 }, /^parallelizationFactor: must be a whole number from 1 to 10/],
    [{ bisectBatchOnFunctionError: 'yes' }, /^bisectBatchOnFunctionError: must be true or false/],
    [{ maximumRetryAttempts: -2 }, /^maximumRetryAttempts: must be a whole number from 0 to 10000 \(or −1: until the record expires\)/],
    [{ maximumRetryAttempts: 10_001 }, /^maximumRetryAttempts:/],
    [{ maximumRecordAge: 59 }, /^maximumRecordAge: must be 60 to 604800 seconds .*\(or −1: no limit\), not 59/],
    [{ maximumRecordAge: 604_801 }, /^maximumRecordAge:/],
    [{ functionResponseTypes: ['ReportItemFailures'] }, /^functionResponseTypes: must be \[\] or \['ReportBatchItemFailures'\]/],
    [{ filterCriteria: { Filters: [{ Pattern: '{"data":"x"}' }] } }, /^filterCriteria\.Filters\[0\]\.Pattern at data:/],
    [{ onFailure: 'arn:aws:sqs:us-east-1:000000000000:queue' }, /^onFailure: .* is not a Kinesis stream ARN/],
    [{ onFailure: '' }, /^onFailure: must be a stream name/],
    [{ enabled: 1 }, /^enabled: must be true or false/],
    [{ format: 'json' }, /^format: must be 'kinesis' or 'records'/],
    [{ batchsize: 10 }, /^batchsize: is not a stream mapping option/],
  ])('%j', (options, message) => {
    const kind = 'filterCriteria' in options ? InvalidFilterPatternError : InvalidMappingOptionError;
    expect(() => resolveMappingOptions(options as StreamMappingOptions)).toThrow(kind);
    expect(() => resolveMappingOptions(options as StreamMappingOptions)).toThrow(message);
  });
});

describe('start', () => {
  const spec = async (options: StreamMappingOptions, stream = 'events') => {
    const clock = new ManualClock(0);
    const engine = await sqliteFactory(clock);
    await engine.createStream('events');
    return {
      engine,
      mapping: () =>
        createStreamMapping({ engine, clock, functionName: 'f', functionArn: FUNCTION_ARN, region: 'us-east-1', stream, options, invoke: async () => ok() }),
    };
  };

  it('refuses a missing source stream, a missing destination, and the source as its own destination', async () => {
    const a = await spec({}, 'nope');
    await expect(a.mapping().start()).rejects.toBeInstanceOf(StreamNotFoundError);
    const b = await spec({ onFailure: 'dead' });
    await expect(b.mapping().start()).rejects.toThrow(DestinationNotFoundError);
    await expect(b.mapping().start()).rejects.toThrow("function 'f': onFailure destination stream 'dead' does not exist");
    const c = await spec({ onFailure: 'events' });
    expect(() => c.mapping()).toThrow(/^onFailure: is the source stream 'events'/);
    await Promise.all([a.engine.close(), b.engine.close(), c.engine.close()]);
  });

  it('a disabled mapping reads nothing and commits nothing', async () => {
    const s = await spec({ enabled: false, startingPosition: 'TRIM_HORIZON' });
    const m = s.mapping();
    await m.start();
    expect(await s.engine.getOffsets('fn:f:events', 'events')).toEqual(new Map());
    expect(await m.stats()).toMatchObject({ state: 'Disabled', partitions: [], lastProcessingResult: 'No records processed' });
    await m.stop();
    await s.engine.close();
  });
});

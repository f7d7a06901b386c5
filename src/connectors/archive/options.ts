// Options of one stream's archive: defaults in named constants (Kinesis Data Firehose's buffering
// hints, scaled to a local engine), merged once and validated with an error naming the field.
import { withDefaults } from '../../defaults.js';
import { InvalidArgumentError } from '../../engine/errors.js';
import { bucketNameProblem } from '../../objects/names.js';

/** An object is committed once its records' NDJSON (before compression) reaches this: 64 MiB. */
export const DEFAULT_ROLL_SIZE = 64 * 1024 * 1024;
/** …or once it has been open this long, whatever its size: 60 s. */
export const DEFAULT_ROLL_INTERVAL_MS = 60 * 1000;
/** Largest rollSize: 1 GiB of NDJSON (an object stays well under S3's 5 GiB). */
export const MAX_ROLL_SIZE = 1024 ** 3;
/** Longest rollInterval: 15 minutes (Firehose's; an open object is staged, and staging expires after an hour). */
export const MAX_ROLL_INTERVAL_MS = 15 * 60 * 1000;
export const DEFAULT_COMPRESSION = 'gzip';

export type Compression = 'gzip' | 'none';

export interface ArchiveOptions {
  /** The bucket the objects go to (created at start when missing). Required. */
  bucket: string;
  /** Keys start with `<prefix>/` (no leading or trailing slash needed). Default '' (the bucket's root). */
  prefix?: string;
  /** Bytes of NDJSON (uncompressed) past which an object is committed. Default DEFAULT_ROLL_SIZE (64 MiB). */
  rollSize?: number;
  /** ms an object stays open before it is committed, however small. Default DEFAULT_ROLL_INTERVAL_MS (60 s). */
  rollInterval?: number;
  /** 'gzip' (`.ndjson.gz`) or 'none' (`.ndjson`). Default 'gzip'. */
  compression?: Compression;
  /**
   * A top-level field holding the record's event time (ms since the epoch, or an ISO 8601 text): the
   * date in an object's key is its first record's. Default: none, the arrival time (an object then
   * never spans two UTC days).
   */
  timeField?: string;
}

export type ResolvedArchiveOptions = Required<Omit<ArchiveOptions, 'timeField'>> & Pick<ArchiveOptions, 'timeField'>;

/** The options with their defaults, the prefix without slashes at its ends; InvalidArgumentError names a bad field. */
export function resolveArchiveOptions(stream: string, options: ArchiveOptions): ResolvedArchiveOptions {
  const o = withDefaults({ prefix: '', rollSize: DEFAULT_ROLL_SIZE, rollInterval: DEFAULT_ROLL_INTERVAL_MS, compression: DEFAULT_COMPRESSION as Compression }, options);
  const field = (name: string) => `archives.${stream}.${name}`;
  const problem = typeof o.bucket === 'string' ? bucketNameProblem(o.bucket) : 'expected a bucket name';
  if (problem) throw new InvalidArgumentError(`${field('bucket')}: ${problem}`, 'bucket');
  if (!Number.isSafeInteger(o.rollSize) || o.rollSize < 1 || o.rollSize > MAX_ROLL_SIZE) throw new InvalidArgumentError(`${field('rollSize')} must be an integer from 1 to ${MAX_ROLL_SIZE}, got ${o.rollSize}`, 'rollSize');
  if (!Number.isFinite(o.rollInterval) || o.rollInterval < 0 || o.rollInterval > MAX_ROLL_INTERVAL_MS) throw new InvalidArgumentError(`${field('rollInterval')} must be from 0 to ${MAX_ROLL_INTERVAL_MS} ms, got ${o.rollInterval}`, 'rollInterval');
  if (o.compression !== 'gzip' && o.compression !== 'none') throw new InvalidArgumentError(`${field('compression')} must be 'gzip' or 'none', got ${String(o.compression)}`, 'compression');
  return { ...o, prefix: o.prefix.replace(/^\/+|\/+$/g, '') };
}

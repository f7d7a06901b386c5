// Where an archive puts things: object keys `<prefix>/<yyyy>/<mm>/<dd>/<stream>-<partition>-<first
// offset>.ndjson[.gz]` (the date in UTC), its engine state keys, and its errors stream.
import type { Compression } from './options.js';

/** The key of the object whose first record is `first`, dated `time` (ms since the epoch, UTC). */
export function archiveKey(prefix: string, time: number, stream: string, partition: number, first: number, compression: Compression): string {
  const d = new Date(time);
  const two = (n: number) => String(n).padStart(2, '0');
  const date = `${String(d.getUTCFullYear()).padStart(4, '0')}/${two(d.getUTCMonth() + 1)}/${two(d.getUTCDate())}`;
  const file = `${stream}-${partition}-${first}.ndjson${compression === 'gzip' ? '.gz' : ''}`;
  return prefix ? `${prefix}/${date}/${file}` : `${date}/${file}`;
}

/** The UTC day of a time (days since the epoch): an object with arrival times never spans two. */
export const utcDay = (time: number): number => Math.floor(time / 86_400_000);

export const archivePrefix = (stream: string) => `_sluice/archives/${stream}/`;
/** The run that archives `stream` holds this key's version: its commits are fenced on it. */
export const archiveLeaseKey = (stream: string) => `${archivePrefix(stream)}lease`;
/** A partition's resume offset: the end of its last committed object. */
export const archiveStateKey = (stream: string, partition: number) => `${archivePrefix(stream)}partitions/${partition}`;
/** Records that are not JSON (they cannot be an NDJSON line) go here, with their bytes. */
export const archiveErrorsStream = (stream: string) => `${stream}-archive-errors`;

/** Object metadata an archive writes (x-amz-meta-* through the S3 API): which offsets an object holds. */
export const META = {
  stream: 'x-amz-meta-sluice-stream',
  partition: 'x-amz-meta-sluice-partition',
  first: 'x-amz-meta-sluice-first-offset',
  next: 'x-amz-meta-sluice-next-offset',
  records: 'x-amz-meta-sluice-records',
} as const;

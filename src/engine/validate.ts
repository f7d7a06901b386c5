// Checks shared by every engine, so each rejects bad names and options with the same message.
import { withDefaults } from '../defaults.js';
import { wellFramed } from './batch-codec.js';
import { InvalidArgumentError } from './errors.js';
import {
  DEFAULT_DEDUP_WINDOW_MS,
  DEFAULT_PARTITIONS,
  DEFAULT_RETENTION_MS,
  MAX_DURATION_MS,
  MAX_PARTITIONS,
  type EncodedBatch,
  type StreamOptions,
} from './engine.js';

const STREAM_NAME = /^[A-Za-z0-9_.-]{1,128}$/;

export function checkStreamName(name: string): void {
  // '.' and '..' are path segments to URL parsers: a stream of that name could not be reached by URL.
  if (!STREAM_NAME.test(name) || name === '.' || name === '..') {
    throw new InvalidArgumentError(
      `invalid stream name '${String(name).slice(0, 140)}': use 1-128 characters of A-Z a-z 0-9 _ . - (not '.' or '..')`,
      'name',
    );
  }
}

/** Merges defaults into stream options and validates each field. */
export function checkRetention(retentionMs: unknown): number {
  if (!Number.isInteger(retentionMs) || (retentionMs as number) < 1000 || (retentionMs as number) > MAX_DURATION_MS) {
    throw new InvalidArgumentError(`retentionMs must be an integer from 1000 to ${MAX_DURATION_MS} (100 years), got ${retentionMs}`, 'retentionMs');
  }
  return retentionMs as number;
}

/** Smallest per-stream segment size: a segment holds at least a few batches. */
export const MIN_SEGMENT_BYTES = 64 * 1024;

export function resolveStreamOptions(options: StreamOptions = {}): Required<Omit<StreamOptions, 'partitionKeyField' | 'segmentBytes'>> &
  Pick<StreamOptions, 'partitionKeyField' | 'segmentBytes'> {
  const o = withDefaults({ partitions: DEFAULT_PARTITIONS, retentionMs: DEFAULT_RETENTION_MS, dedupWindowMs: DEFAULT_DEDUP_WINDOW_MS }, options);
  if (!Number.isInteger(o.partitions) || o.partitions < 1 || o.partitions > MAX_PARTITIONS) {
    throw new InvalidArgumentError(`partitions must be an integer from 1 to ${MAX_PARTITIONS}, got ${o.partitions}`, 'partitions');
  }
  checkRetention(o.retentionMs);
  if (!Number.isInteger(o.dedupWindowMs) || o.dedupWindowMs < 0 || o.dedupWindowMs > MAX_DURATION_MS) {
    throw new InvalidArgumentError(`dedupWindowMs must be an integer from 0 to ${MAX_DURATION_MS} (100 years), got ${o.dedupWindowMs}`, 'dedupWindowMs');
  }
  if (o.segmentBytes !== undefined && (!Number.isInteger(o.segmentBytes) || o.segmentBytes < MIN_SEGMENT_BYTES)) {
    throw new InvalidArgumentError(`segmentBytes must be an integer of at least ${MIN_SEGMENT_BYTES}, got ${o.segmentBytes}`, 'segmentBytes');
  }
  if (o.partitionKeyField !== undefined && (typeof o.partitionKeyField !== 'string' || o.partitionKeyField.length === 0)) {
    throw new InvalidArgumentError('partitionKeyField must be a non-empty string', 'partitionKeyField');
  }
  return o;
}


const BLOB_SEGMENT = /^[A-Za-z0-9_=+,@-][A-Za-z0-9._=+,@-]{0,254}$/;

/** Blob names are '/'-separated segments; no empty, '.' or '..' segment, nothing hidden. */
export function checkBlobName(name: string): void {
  const ok = typeof name === 'string' && name.length <= 1024 && name.split('/').every((s) => BLOB_SEGMENT.test(s) && s !== '..');
  if (!ok) throw new InvalidArgumentError(`invalid blob name '${String(name).slice(0, 200)}'`, 'name');
}

/** The partition number, or InvalidArgumentError when the stream has no such partition. */
export function checkPartition(stream: { name: string; partitions: number }, partition: number): number {
  if (!Number.isInteger(partition) || partition < 0 || partition >= stream.partitions) {
    throw new InvalidArgumentError(`stream '${stream.name}' has no partition ${partition}`, 'partition');
  }
  return partition;
}

/** Refuses an encoded batch whose partition the stream lacks, whose count its payload contradicts, or whose payload is not a batch (a record running past its end, bytes after the last): stored, it would break every read of the partition. */
export function checkEncodedBatch(stream: string, partitions: number, b: EncodedBatch): void {
  if (!(Number.isInteger(b.partition) && b.partition >= 0 && b.partition < partitions)) {
    throw new InvalidArgumentError(`partition ${b.partition} of an encoded batch is not one of stream '${stream}' (0-${partitions - 1})`, 'partition');
  }
  const held = b.payload.length < 4 ? 0 : b.payload.readUInt32BE(0);
  if (!(Number.isInteger(b.count) && b.count > 0) || held !== b.count) {
    throw new InvalidArgumentError(`an encoded batch for stream '${stream}' says ${b.count} records; its payload holds ${held}`, 'batches');
  }
  if (!wellFramed(b.payload)) throw new InvalidArgumentError(`an encoded batch for stream '${stream}' is not well framed: a record runs past its end or bytes follow the last`, 'batches');
}

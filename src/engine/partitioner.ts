// Kinesis' key → partition mapping: MD5 of the partition key read as a 128-bit number, and the
// 2^128 hash space cut into equal ranges, one per partition.
import { createHash } from 'node:crypto';

const HASH_SPACE = 1n << 128n;
const MAX_HASH = HASH_SPACE - 1n;

/**
 * The partition owning a 128-bit hash key. Partition i starts at floor(i * 2^128 / n), as Kinesis'
 * shards do, so it is the largest i with i * 2^128 <= (hash + 1) * n - 1.
 */
export function partitionOfHash(hash: bigint, partitions: number): number {
  return Number(((hash + 1n) * BigInt(partitions) - 1n) / HASH_SPACE);
}

/** The partition of a partition key. Fast path on the top 32 bits; exact BigInt near a boundary. */
export function partitionOfKey(key: string, partitions: number): number {
  const digest = createHash('md5').update(key).digest();
  const scaled = digest.readUInt32BE(0) * partitions;
  const low = scaled % 0x1_0000_0000;
  if (low <= 0x1_0000_0000 - partitions) return Math.floor(scaled / 0x1_0000_0000);
  return partitionOfHash(BigInt('0x' + digest.toString('hex')), partitions);
}

/** Parses an explicit hash key (decimal, 0 … 2^128-1) or returns undefined when it is invalid. */
export function parseHashKey(text: string): bigint | undefined {
  if (!/^\d{1,39}$/.test(text)) return undefined;
  const n = BigInt(text);
  return n <= MAX_HASH ? n : undefined;
}

/** The [start, end] hash range of a partition, as decimal strings (Kinesis' HashKeyRange). */
export function hashRangeOf(partition: number, partitions: number): { start: string; end: string } {
  const n = BigInt(partitions);
  const startOf = (i: bigint) => (i * HASH_SPACE) / n;
  const start = startOf(BigInt(partition));
  const end = partition === partitions - 1 ? MAX_HASH : startOf(BigInt(partition + 1)) - 1n;
  return { start: start.toString(), end: end.toString() };
}

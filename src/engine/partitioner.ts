// Kinesis' key → partition mapping: MD5 of the partition key read as a 128-bit number, and the
// 2^128 hash space cut into equal ranges, one per partition.
import crypto from 'node:crypto';

const HASH_SPACE = 1n << 128n;
const MAX_HASH = HASH_SPACE - 1n;

/**
 * The partition owning a 128-bit hash key. Partition i starts at floor(i * 2^128 / n), as Kinesis'
 * shards do, so it is the largest i with i * 2^128 <= (hash + 1) * n - 1.
 */
export function partitionOfHash(hash: bigint, partitions: number): number {
  return Number(((hash + 1n) * BigInt(partitions) - 1n) / HASH_SPACE);
}

// MD5 costs about 1.5 µs a key here while a Map lookup costs about 0.05 µs, and real keys repeat
// (sessions, ads, devices): remember recent keys, forgetting all at once when the cache is full.
export const KEY_CACHE_SIZE = 65_536;
const cacheByPartitions = new Map<number, Map<string, number>>();

const md5 = (key: string): Buffer =>
  typeof crypto.hash === 'function' ? (crypto.hash('md5', key, 'buffer') as unknown as Buffer) : crypto.createHash('md5').update(key).digest();

/** The partition of a partition key (MD5, Kinesis' mapping), cached for recently seen keys. */
export function partitionOfKey(key: string, partitions: number): number {
  let cache = cacheByPartitions.get(partitions);
  if (!cache) cacheByPartitions.set(partitions, (cache = new Map()));
  let p = cache.get(key);
  if (p === undefined) {
    if (cache.size >= KEY_CACHE_SIZE) cache.clear();
    p = hashPartitionOfKey(key, partitions);
    cache.set(key, p);
  }
  return p;
}

/** The partition of a key without the cache. Fast path on the top 32 bits; exact BigInt near a boundary. */
export function hashPartitionOfKey(key: string, partitions: number): number {
  const digest = md5(key);
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

// Picks a record's partition: explicit partition, else explicit hash key, else MD5 of the key,
// else the append's shared keyless partition. Every engine routes the same way.
import type { AppendRecord, AppendResult } from './engine.js';
import { parseHashKey, partitionOfHash, partitionOfKey } from './partitioner.js';

/** The batch format stores a key's length in 16 bits (decision 002). */
export const MAX_KEY_BYTES = 65_534;

export function routeRecord(r: AppendRecord, partitions: number, keyless: number): number | AppendResult {
  if (r.key !== undefined && r.key.length * 3 > MAX_KEY_BYTES && Buffer.byteLength(r.key) > MAX_KEY_BYTES) {
    return { error: { code: 'InvalidArgument', message: `partition key is longer than ${MAX_KEY_BYTES} bytes` } };
  }
  if (r.partition !== undefined) {
    if (Number.isInteger(r.partition) && r.partition >= 0 && r.partition < partitions) return r.partition;
    return { error: { code: 'InvalidArgument', message: `partition ${r.partition} does not exist (0-${partitions - 1})` } };
  }
  if (r.explicitHashKey !== undefined) {
    const hash = parseHashKey(r.explicitHashKey);
    if (hash === undefined) return { error: { code: 'InvalidArgument', message: 'explicit hash key must be a decimal from 0 to 2^128-1' } };
    return partitionOfHash(hash, partitions);
  }
  if (r.key !== undefined) return partitionOfKey(r.key, partitions);
  return keyless;
}

/**
 * The partition all keyless records of an append share. Round-robin across appends, except when
 * the append carries record ids: then it is fixed by the first id, so a producer's retry of the
 * same request lands on the same partition, where its de-duplication can see the first attempt.
 */
export function keylessPartition(records: readonly AppendRecord[], partitions: number, sticky: { next: number }): number {
  const id = records.find((r) => r.id !== undefined)?.id;
  return id !== undefined ? partitionOfKey(id, partitions) : sticky.next++ % partitions;
}

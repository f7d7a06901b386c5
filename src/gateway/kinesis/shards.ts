// Shards are Sluice partitions, with Kinesis' equal hash-key ranges. A sequence number is one
// number, in decimal: a version, the stream's creation time, the partition and the offset. So it
// orders the records of a shard, and names the shard and the stream it came from.
import type { PartitionInfo, StreamInfo } from '../../engine/engine.js';
import { hashRangeOf } from '../../engine/partitioner.js';

export const MAX_SHARD_INDEX = 2 ** 31 - 1; // AWS reads a shard id's number as a Java int

const SEQUENCE_VERSION = 1n;
const VERSION_SHIFT = 160n;
const CREATED_SHIFT = 96n;
const PARTITION_SHIFT = 64n;
const MASK_32 = (1n << 32n) - 1n;
const MASK_64 = (1n << 64n) - 1n;

/** Where a sequence number points: which stream (by creation time), partition and offset. */
export interface SequencePosition {
  createdAt: number;
  partition: number;
  offset: number;
}

/** The canonical id of a partition's shard, `shardId-` and twelve digits. */
export const shardIdOf = (partition: number): string => `shardId-${String(partition).padStart(12, '0')}`;

/**
 * The index a shard id names, in any form AWS accepts: a number, optionally after a prefix and a
 * hyphen (`shardId-000000000003`, `shard-3`, `random-3`, `3`); undefined when it names none.
 */
export function shardIndexOf(id: string): number | undefined {
  const m = /^(?:[^-]*-)?(\d+)$/.exec(id);
  const n = m ? Number(m[1]) : NaN;
  return n <= MAX_SHARD_INDEX ? n : undefined;
}

/** The first partition listed after `id` (an ExclusiveStartShardId): after its index, else by name order. */
export function firstShardAfter(id: string | undefined, partitions: number): number {
  if (id === undefined) return 0;
  const index = shardIndexOf(id);
  if (index !== undefined) return Math.min(index + 1, partitions);
  let p = 0;
  while (p < partitions && shardIdOf(p) <= id) p++;
  return p;
}

/** A stream's creation time as sequence numbers carry it (whole, non-negative milliseconds). */
export const streamStamp = (createdAt: number): number => Math.max(0, Math.trunc(createdAt));

/** A sequence number in the decimal form Kinesis clients store and compare as big integers. */
export function encodeSequence(at: SequencePosition): string {
  const n =
    (SEQUENCE_VERSION << VERSION_SHIFT) |
    (BigInt(streamStamp(at.createdAt)) << CREATED_SHIFT) |
    (BigInt(at.partition) << PARTITION_SHIFT) |
    BigInt(at.offset);
  return n.toString();
}

/** The position a sequence number names, or undefined when it is not one Sluice made. */
export function decodeSequence(text: string): SequencePosition | undefined {
  if (!/^(0|[1-9]\d{0,128})$/.test(text)) return undefined;
  const n = BigInt(text);
  if (n >> VERSION_SHIFT !== SEQUENCE_VERSION) return undefined;
  const offset = n & MASK_64;
  if (offset > BigInt(Number.MAX_SAFE_INTEGER)) return undefined;
  return {
    createdAt: Number((n >> CREATED_SHIFT) & MASK_64),
    partition: Number((n >> PARTITION_SHIFT) & MASK_32),
    offset: Number(offset),
  };
}

/** The Shard objects of DescribeStream and ListShards, for partitions [from, to). */
export function shardsOf(info: StreamInfo & { partitionInfo: PartitionInfo[] }, from = 0, to = info.partitions) {
  return info.partitionInfo.slice(from, to).map((p) => {
    const range = hashRangeOf(p.partition, info.partitions);
    return {
      ShardId: shardIdOf(p.partition),
      HashKeyRange: { StartingHashKey: range.start, EndingHashKey: range.end },
      SequenceNumberRange: { StartingSequenceNumber: encodeSequence({ createdAt: info.createdAt, partition: p.partition, offset: p.earliest }) },
    };
  });
}

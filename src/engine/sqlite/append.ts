// One append inside the commit transaction: route each record to its partition, drop retried
// duplicates, and store each partition's slice as a single batch (segment bytes + index row).
import { encodeBatch, type BatchEntry } from '../batch-codec.js';
import type { AppendRecord, AppendResult, EncodedBatch } from '../engine.js';
import { checkEncodedBatch } from '../validate.js';
import { keylessPartition, routeRecord } from '../route.js';
import type { StreamRow } from './schema.js';
import type { Segments } from './segments.js';
import type { Statements } from './statements.js';

export interface AppendContext {
  q: Statements;
  segments: Segments;
  segmentBytes: number;
  sticky: { next: number };
}

interface Slice {
  entries: BatchEntry[];
  indexes: number[];
  ids: (string | undefined)[];
}

export function appendInTransaction(ctx: AppendContext, stream: StreamRow, records: AppendRecord[], now: number): AppendResult[] {
  const { q, sticky } = ctx;
  if (records.length === 0) return []; // (no empty batch: it would take the next batch's offset)
  const keyless = keylessPartition(records, stream.partitions, sticky);
  const one = onePartition(records, stream.partitions, keyless);
  if (one !== undefined) {
    const base = storeSlice(ctx, stream, one, records, now);
    return records.map((_, i) => ({ partition: one, offset: base + i }));
  }
  const results: AppendResult[] = new Array(records.length);
  const slices = new Map<number, Slice>();
  const seen = new Map<string, number>(); // id → index of its first record in this append
  const copies: [copy: number, first: number][] = [];
  for (let i = 0; i < records.length; i++) {
    const r = records[i]!;
    if (r.id !== undefined) {
      const dup = q.dedupGet.get(stream.id, r.id) as { partition: number; offset: number; ts: number } | undefined;
      if (dup && dup.ts >= now - stream.dedup_window_ms) {
        results[i] = { partition: dup.partition, offset: dup.offset, duplicate: true };
        continue;
      }
      const first = seen.get(r.id);
      if (first !== undefined) {
        copies.push([i, first]); // resolved once the first copy has its offset
        continue;
      }
      seen.set(r.id, i);
    }
    const partition = routeRecord(r, stream.partitions, keyless);
    if (typeof partition !== 'number') {
      results[i] = partition;
      continue;
    }
    let slice = slices.get(partition);
    if (!slice) slices.set(partition, (slice = { entries: [], indexes: [], ids: [] }));
    slice.entries.push(r.key === undefined ? { value: r.value } : { key: r.key, value: r.value });
    slice.indexes.push(i);
    slice.ids.push(r.id);
  }
  for (const [partition, slice] of slices) {
    const base = storeSlice(ctx, stream, partition, slice.entries, now);
    for (let j = 0; j < slice.indexes.length; j++) {
      results[slice.indexes[j]!] = { partition, offset: base + j };
      const id = slice.ids[j];
      if (id !== undefined) q.dedupInsert.run(stream.id, id, partition, base + j, now);
    }
  }
  for (const [copy, index] of copies) {
    const first = results[index]!;
    results[copy] = 'offset' in first ? { partition: first.partition, offset: first.offset, duplicate: true } : first;
  }
  return results;
}

/**
 * The partition of an append that is one batch without routing each record: no ids, keys or hash
 * keys, and every record keyless or all in one valid explicit partition. Otherwise undefined.
 */
function onePartition(records: readonly AppendRecord[], partitions: number, keyless: number): number | undefined {
  const p = records[0]?.partition;
  if (p !== undefined && !(Number.isInteger(p) && p >= 0 && p < partitions)) return undefined;
  for (const r of records) if (r.id !== undefined || r.key !== undefined || r.explicitHashKey !== undefined || r.partition !== p) return undefined;
  return p ?? keyless;
}

interface Head {
  next_offset: number;
  last_ts: number;
  seg_base: number;
  seg_end: number;
}

/** Stores entries as one batch at the partition's head; returns the base offset. */
function storeSlice(ctx: AppendContext, stream: StreamRow, partition: number, entries: readonly BatchEntry[], now: number): number {
  return storePayload(ctx, stream, partition, encodeBatch(entries), entries.length, now);
}

/** Stores encoded batches as they are (EncodedBatch); one result per batch: its first record's place. */
export function appendBatches(ctx: AppendContext, stream: StreamRow, batches: readonly EncodedBatch[], now: number): AppendResult[] {
  return batches.map((b) => {
    checkEncodedBatch(stream.name, stream.partitions, b);
    return { partition: b.partition, offset: storePayload(ctx, stream, b.partition, b.payload, b.count, now) };
  });
}

/** Stores a batch payload of `count` records at the partition's head; returns the base offset. */
function storePayload({ q, segments, segmentBytes: engineSegmentBytes }: AppendContext, stream: StreamRow, partition: number, payload: Buffer, count: number, now: number): number {
  const segmentBytes = stream.segment_bytes ?? engineSegmentBytes;
  const head = q.headGet.get(stream.id, partition) as Head | undefined;
  const base = head?.next_offset ?? 0;
  const ts = Math.max(now, head?.last_ts ?? 0); // arrival time never goes back within a partition
  let segBase = head?.seg_base ?? 0;
  let pos = head?.seg_end ?? 0;
  if (pos > 0 && pos + payload.length > segmentBytes) {
    segBase = base; // roll over: a new segment named by its first offset
    pos = 0;
  }
  segments.write(stream.id, partition, segBase, pos, payload);
  q.insertBatch.run(stream.id, partition, base, count, ts, segBase, pos, payload.length);
  q.headUpsert.run(stream.id, partition, base + count, ts, segBase, pos + payload.length, payload.length);
  return base;
}

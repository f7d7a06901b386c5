// How an append becomes JetStream messages: every record routed to its partition, each partition's
// slice cut into chunks under max_payload, each chunk one message with a message id. The plan is a
// function of the request alone — never of what de-duplication found stored — so a retried
// request rebuilds the very messages of its first attempt, under the same ids, and JetStream drops
// the repeats even when the first attempt's ids were never recorded (decision 014).
import { createHash, randomBytes } from 'node:crypto';
import type { BatchEntry } from '../batch-codec.js';
import type { AppendRecord, AppendResult } from '../engine.js';
import { routeRecord } from '../route.js';
import { MAX_BATCH_RECORDS } from './partitions.js';

/** One message to publish: records (by index in the append) of one partition. */
export interface Chunk {
  partition: number;
  indexes: number[];
  msgID: string;
}

export interface AppendPlan {
  chunks: Chunk[];
  /** [copy, first]: a record whose id appeared earlier in the same append (answered as its first's duplicate). */
  copies: [number, number][];
}

/** Room for a message's headers and framing under max_payload. */
const HEADROOM = 1024;

/** Bytes a record takes in a batch at most (a key's UTF-8 is at most 3 bytes a character). */
const sizeOf = (r: AppendRecord) => 6 + (r.key?.length ?? 0) * 3 + r.value.length;

/**
 * Plans an append. Records that cannot be stored get their error in `results` (not routable, over
 * max_payload). `base` names the chunks of records without ids: the commit unit's id when it has
 * one (a redone epoch repeats its ids), else a fresh nonce (for retries within this call only).
 */
export function planAppend(records: AppendRecord[], partitions: number, keyless: number, maxPayload: number, base: string | undefined, results: AppendResult[]): AppendPlan {
  const copies: [number, number][] = [];
  const first = new Map<string, number>();
  const slices = new Map<number, number[]>();
  for (let i = 0; i < records.length; i++) {
    const r = records[i]!;
    if (r.id !== undefined) {
      const f = first.get(r.id);
      if (f !== undefined) {
        copies.push([i, f]);
        continue;
      }
      first.set(r.id, i);
    }
    const partition = routeRecord(r, partitions, keyless);
    if (typeof partition !== 'number') {
      results[i] = partition;
      continue;
    }
    if (sizeOf(r) > maxPayload - HEADROOM) {
      results[i] = { error: { code: 'RecordTooLarge', message: `record is larger than the NATS max_payload of ${maxPayload} bytes` } };
      continue;
    }
    let slice = slices.get(partition);
    if (!slice) slices.set(partition, (slice = []));
    slice.push(i);
  }
  const nonce = base ?? randomBytes(9).toString('base64url');
  const chunks: Chunk[] = [];
  for (const [partition, indexes] of slices) chunks.push(...cut(records, partition, indexes, maxPayload, `${nonce}/${partition}`));
  return { chunks, copies };
}

/** Cuts a partition's records into chunks that fit max_payload and MAX_BATCH_RECORDS. */
export function cut(records: AppendRecord[], partition: number, indexes: number[], maxPayload: number, base: string): Chunk[] {
  const out: Chunk[] = [];
  let start = 0;
  let bytes = 4;
  const close = (end: number) => {
    const part = indexes.slice(start, end);
    out.push({ partition, indexes: part, msgID: msgIdOf(records, part, `${base}/${start}`) });
  };
  for (let k = 0; k < indexes.length; k++) {
    const size = sizeOf(records[indexes[k]!]!);
    if (k > start && (bytes + size > maxPayload - HEADROOM || k - start >= MAX_BATCH_RECORDS)) {
      close(k);
      start = k;
      bytes = 4;
    }
    bytes += size;
  }
  if (start < indexes.length) close(indexes.length);
  return out;
}

/**
 * A chunk's message id: from its records' ids when any has one (the same records give the same id,
 * whichever request carries them), else `fallback`. A record without an id counts by its bytes.
 */
function msgIdOf(records: AppendRecord[], indexes: number[], fallback: string): string {
  if (!indexes.some((i) => records[i]!.id !== undefined)) return fallback;
  const h = createHash('sha256');
  for (const i of indexes) {
    const r = records[i]!;
    if (r.id !== undefined) h.update(`i${r.id.length}:${r.id}`);
    else h.update(`v${r.value.length}:`).update(r.value);
  }
  return `h:${h.digest('base64url')}`;
}

/** The chunk's entries for the batch codec. */
export function entriesOf(records: AppendRecord[], chunk: Chunk): BatchEntry[] {
  return chunk.indexes.map((i) => {
    const r = records[i]!;
    return r.key === undefined ? { value: r.value } : { key: r.key, value: r.value };
  });
}

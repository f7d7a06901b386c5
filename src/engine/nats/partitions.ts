// One Sluice partition = one JetStream stream. A message holds one record batch (decision 002);
// a record's offset is the message's sequence × 2^16 + its index in the batch, so offsets are
// monotonic but not contiguous, and an offset maps to its message without any lookup.
import { headers, nanos } from '@nats-io/nats-core';
import { DiscardPolicy, StorageType, type JetStreamClient, type JetStreamManager, type StoredMsg } from '@nats-io/jetstream';
import { decodeRecords, encodeBatch, type BatchEntry } from '../batch-codec.js';
import type { StoredRecord } from '../engine.js';

export const OFFSET_SHIFT = 65_536; // records per batch message must stay below this
export const MAX_BATCH_RECORDS = OFFSET_SHIFT - 1;
const TS_HEADER = 'Sluice-Ts';
const COUNT_HEADER = 'Sluice-Count';

export interface PartitionRef {
  /** JetStream stream name. */
  name: string;
  subject: string;
}

export const partitionRef = (prefix: string, streamId: string, p: number): PartitionRef => ({
  name: `${prefix.toUpperCase()}_${streamId}_${p}`,
  subject: `${prefix}.${streamId}.${p}`,
});

export const seqOf = (offset: number) => Math.floor(offset / OFFSET_SHIFT);
export const offsetOf = (seq: number, index = 0) => seq * OFFSET_SHIFT + index;

/** JetStream's duplicate window of a partition: the stream's de-duplication window, within its retention, at least 1 s. */
export const duplicateWindowOf = (o: { retentionMs: number; dedupWindowMs: number }) => Math.max(1000, Math.min(o.dedupWindowMs || 1000, o.retentionMs));

export async function createPartition(jsm: JetStreamManager, ref: PartitionRef, o: { retentionMs: number; dedupWindowMs: number; replicas: number }) {
  await jsm.streams.add({
    name: ref.name,
    subjects: [ref.subject],
    max_age: nanos(o.retentionMs),
    duplicate_window: nanos(duplicateWindowOf(o)),
    num_replicas: o.replicas,
    storage: StorageType.File,
    discard: DiscardPolicy.Old,
    allow_direct: true,
  });
}

/** Publishes one batch; returns its sequence and whether JetStream had it already (same msgID). */
export async function publishBatch(
  js: JetStreamClient,
  ref: PartitionRef,
  entries: readonly BatchEntry[],
  ts: number,
  msgID: string | undefined,
): Promise<{ seq: number; duplicate: boolean }> {
  const h = headers();
  h.set(TS_HEADER, String(ts));
  h.set(COUNT_HEADER, String(entries.length));
  const ack = await js.publish(ref.subject, encodeBatch(entries), msgID ? { headers: h, msgID } : { headers: h });
  return { seq: ack.seq, duplicate: ack.duplicate };
}

/** Arrival time of a stored batch message. */
export const tsOf = (m: StoredMsg) => Number(m.header.get(TS_HEADER));

/** The first batch message at or after `seq`, or null past the end. */
export function nextMessage(jsm: JetStreamManager, ref: PartitionRef, seq: number): Promise<StoredMsg | null> {
  return jsm.direct.getMessage(ref.name, { seq: Math.max(1, seq), next_by_subj: ref.subject });
}

export function lastMessage(jsm: JetStreamManager, ref: PartitionRef): Promise<StoredMsg | null> {
  return jsm.direct.getMessage(ref.name, { last_by_subj: ref.subject });
}

/** Reads up to `max` records from `offset`, message by message. */
export async function readRecords(jsm: JetStreamManager, ref: PartitionRef, partition: number, offset: number, max: number) {
  const records: StoredRecord[] = [];
  let seq = seqOf(offset);
  let skip = offset - offsetOf(seq);
  let next = offset;
  while (records.length < max) {
    const m = await nextMessage(jsm, ref, seq);
    if (!m) break;
    if (m.seq !== seq) skip = 0; // the batch we pointed into is gone (retention): start at the next one
    const ts = tsOf(m);
    const taken = decodeRecords(Buffer.from(m.data.buffer, m.data.byteOffset, m.data.byteLength), skip, max - records.length, partition, offsetOf(m.seq), ts, records);
    const count = Number(m.header.get(COUNT_HEADER));
    next = skip + taken < count ? offsetOf(m.seq, skip + taken) : offsetOf(m.seq + 1);
    seq = m.seq + 1;
    skip = 0;
  }
  return { records, next };
}

/** The sequence of the first batch with arrival time >= t in [first, last], or last + 1. */
export async function seqAtTime(jsm: JetStreamManager, ref: PartitionRef, first: number, last: number, t: number): Promise<number> {
  let lo = first;
  let hi = last + 1;
  while (lo < hi) {
    const mid = Math.floor((lo + hi) / 2);
    const m = await nextMessage(jsm, ref, mid);
    if (!m) {
      hi = mid;
      continue;
    }
    if (tsOf(m) >= t) hi = mid;
    else lo = m.seq + 1;
  }
  const at = lo <= last ? await nextMessage(jsm, ref, lo) : null; // lo may fall in a gap
  return at ? at.seq : last + 1;
}

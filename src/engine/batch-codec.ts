// The stored form of a record batch: every record of one append that landed in one partition,
// encoded together so storage costs one row (sqlite) or one message (nats) per batch.
// Layout: u32 count, then per record: u16 keyLength+1 (0 = no key), key UTF-8, u32 valueLength, value.
import type { EncodedBatch, StoredRecord } from './engine.js';

export interface BatchEntry {
  key?: string;
  value: Uint8Array;
}

/** Encodes entries into one buffer. */
export function encodeBatch(entries: readonly BatchEntry[]): Buffer {
  const keys: (Buffer | undefined)[] = new Array(entries.length);
  let size = 4;
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i]!;
    const k = e.key === undefined ? undefined : Buffer.from(e.key, 'utf8');
    keys[i] = k;
    size += 2 + (k?.length ?? 0) + 4 + e.value.length;
  }
  const out = Buffer.allocUnsafe(size);
  out.writeUInt32BE(entries.length, 0);
  let pos = 4;
  for (let i = 0; i < entries.length; i++) {
    const k = keys[i];
    const v = entries[i]!.value;
    out.writeUInt16BE(k === undefined ? 0 : k.length + 1, pos);
    pos += 2;
    if (k !== undefined) pos += k.copy(out, pos);
    out.writeUInt32BE(v.length, pos);
    pos += 4;
    out.set(v, pos);
    pos += v.length;
  }
  return out;
}

/**
 * Decodes a batch into stored records, appended to `out`: record i of the batch gets offset
 * `firstOffset + i`. Values are views into `data`. `skip` leading records are passed over; at most
 * `max` are decoded. Returns how many were.
 */
export function decodeRecords(data: Buffer, skip: number, max: number, partition: number, firstOffset: number, timestamp: number, out: StoredRecord[]): number {
  const count = data.readUInt32BE(0);
  let pos = 4;
  let n = 0;
  for (let i = 0; i < count && n < max; i++) {
    const keyField = data.readUInt16BE(pos);
    pos += 2;
    const key = keyField === 0 ? undefined : data.toString('utf8', pos, pos + keyField - 1);
    pos += keyField === 0 ? 0 : keyField - 1;
    const len = data.readUInt32BE(pos);
    pos += 4;
    if (i >= skip) {
      out.push({ partition, offset: firstOffset + i, batch: firstOffset, timestamp, key, value: data.subarray(pos, pos + len) });
      n++;
    }
    pos += len;
  }
  return n;
}

/** Whether a payload is a batch exactly: its count's records, each key and value inside it, nothing after the last. */
export function wellFramed(data: Buffer): boolean {
  if (data.length < 4) return false;
  const count = data.readUInt32BE(0);
  let pos = 4;
  for (let i = 0; i < count; i++) {
    if (pos + 2 > data.length) return false;
    const keyField = data.readUInt16BE(pos);
    pos += 2 + (keyField === 0 ? 0 : keyField - 1);
    if (pos + 4 > data.length) return false;
    pos += 4 + data.readUInt32BE(pos);
  }
  return pos === data.length;
}

/**
 * Encodes keyless values given as texts into batches for `partition` of at most `maxBytes` each
 * (a value larger than that is a batch alone): one UTF-8 encoding for all the texts, then copies.
 */
export function encodeTexts(texts: readonly string[], partition: number, maxBytes: number): EncodedBatch[] {
  const joined = texts.join('');
  const all = Buffer.from(joined);
  const ascii = all.length === joined.length; // then each text's bytes are its characters
  const lengths = texts.map((t) => (ascii ? t.length : Buffer.byteLength(t)));
  const out: EncodedBatch[] = [];
  let from = 0; // first text of the batch being cut, and its first byte in `all`
  let fromByte = 0;
  while (from < texts.length) {
    let to = from;
    let bytes = 4;
    while (to < texts.length && (to === from || bytes + 6 + lengths[to]! <= maxBytes)) bytes += 6 + lengths[to++]!;
    const payload = Buffer.allocUnsafe(bytes);
    payload.writeUInt32BE(to - from, 0);
    let pos = 4;
    let src = fromByte;
    for (let i = from; i < to; i++) {
      const len = lengths[i]!;
      payload[pos] = 0; // u16 0: no key
      payload[pos + 1] = 0;
      payload.writeUInt32BE(len, pos + 2);
      pos += 6 + all.copy(payload, pos + 6, src, src + len);
      src += len;
    }
    out.push({ partition, count: to - from, payload });
    from = to;
    fromByte = src;
  }
  return out;
}

// Records on a pipeline's internal streams. A shuffle stream's partition is a key group; each of its
// stream records is a *message*: a JSON array of shuffle records, in order (decision 008):
//   [0, port, key, t, stream, value]      a record
//   [1, key, start, end, acc]              a window's partial accumulator (pre-aggregated upstream)
//   [2, producer, watermark, idle]         a producer's watermark (null: none yet); idle: 1
// A table stream's messages are JSON arrays of rows [key columns, row]. Messages written before
// decision 008 held one shuffle record or one row each; they are still read.
import type { Key } from '../dsl.js';

export type ShuffleRecord =
  | [0, number, Key, number, string | null, unknown]
  | [1, Key, number, number, unknown]
  | [2, string, number | null, 0 | 1];

/** A table sink's row: its key columns' values and the row. */
export type Row = [key: unknown[], row: Record<string, unknown>];

/** Most bytes of one message: a key group's records of an epoch are cut into messages this big (under NATS' 1 MB max_payload). */
export const MESSAGE_BYTES = 256 * 1024;

const asBuffer = (b: Uint8Array): Buffer => (Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength));

// Buffer.from and Buffer#toString cost a third of TextEncoder / TextDecoder per small record here.
export const encode = (v: unknown): Buffer => Buffer.from(JSON.stringify(v));
export const decode = (b: Uint8Array): unknown => JSON.parse(asBuffer(b).toString('utf8'));

/** Encodes many values: one buffer, each value a view into it (one allocation instead of one per value). */
export function encodeEach(values: readonly unknown[]): Buffer[] {
  const texts = values.map((v) => JSON.stringify(v));
  let total = 0;
  for (const t of texts) total += Buffer.byteLength(t);
  const all = Buffer.allocUnsafe(total);
  const out: Buffer[] = new Array(texts.length);
  let pos = 0;
  for (let i = 0; i < texts.length; i++) {
    const n = all.write(texts[i]!, pos);
    out[i] = all.subarray(pos, pos + n);
    pos += n;
  }
  return out;
}

/** Packs items into messages of at most MESSAGE_BYTES each (an item bigger than that travels alone). */
export function pack(items: readonly unknown[], maxBytes = MESSAGE_BYTES): Buffer[] {
  const whole = encode(items);
  if (whole.length <= maxBytes || items.length === 1) return [whole];
  const parts = Math.ceil(whole.length / maxBytes) + 1;
  const size = Math.ceil(items.length / parts);
  const out: Buffer[] = [];
  for (let i = 0; i < items.length; i += size) out.push(...pack(items.slice(i, i + size), maxBytes));
  return out;
}

/** The shuffle records of one message (a pre-008 message is one record). */
export function unpackShuffle(b: Uint8Array): ShuffleRecord[] {
  const m = decode(b) as ShuffleRecord | ShuffleRecord[];
  return typeof m[0] === 'number' ? [m as ShuffleRecord] : (m as ShuffleRecord[]);
}

/** The rows of one table message (a pre-008 message is one row: [key columns, row object]). */
export function unpackRows(b: Uint8Array): Row[] {
  const m = decode(b) as Row | Row[];
  return m.length === 2 && !Array.isArray(m[1]) ? [m as Row] : (m as Row[]);
}

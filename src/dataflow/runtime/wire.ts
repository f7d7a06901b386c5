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

/** Items stringified together: an array's text per run costs less than one per item. */
const RUN = 256;

/**
 * Packs items into messages: JSON arrays of at most maxBytes each (an item bigger than that travels
 * alone). Runs of items are stringified once and joined, never stringified twice.
 */
export function pack(items: readonly unknown[], maxBytes = MESSAGE_BYTES): Buffer[] {
  if (items.length <= RUN) {
    const whole = encode(items);
    if (whole.length <= maxBytes || items.length === 1) return [whole];
  }
  // The inner texts of runs ('a,b,c' of '[a,b,c]'), with their sizes in bytes.
  const runs: { text: string; bytes: number }[] = [];
  for (let i = 0; i < items.length; i += RUN) {
    const slice = items.slice(i, i + RUN);
    const text = JSON.stringify(slice);
    const bytes = Buffer.byteLength(text);
    if (bytes > maxBytes && slice.length > 1) {
      // A run too big for one message: each item on its own, then grouped.
      for (const item of slice) {
        const t = JSON.stringify([item]);
        runs.push({ text: t.slice(1, -1), bytes: Buffer.byteLength(t) - 2 });
      }
    } else runs.push({ text: text.slice(1, -1), bytes: bytes - 2 });
  }
  const out: Buffer[] = [];
  let group: string[] = [];
  let size = 2;
  for (const r of runs) {
    if (group.length > 0 && size + 1 + r.bytes > maxBytes) {
      out.push(Buffer.from(`[${group.join(',')}]`));
      group = [];
      size = 2;
    }
    group.push(r.text);
    size += r.bytes + (group.length > 1 ? 1 : 0);
  }
  if (group.length > 0) out.push(Buffer.from(`[${group.join(',')}]`));
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

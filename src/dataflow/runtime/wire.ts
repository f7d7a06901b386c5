// Records on a keyed node's shuffle stream (partition = key group), as JSON arrays:
//   [0, port, key, t, stream, value]      a record
//   [1, key, start, end, acc]              a window's partial accumulator (pre-aggregated upstream)
//   [2, producer, watermark, idle]         a producer's watermark (null: none yet); idle: 1
import type { Key } from '../dsl.js';

export type ShuffleRecord =
  | [0, number, Key, number, string | null, unknown]
  | [1, Key, number, number, unknown]
  | [2, string, number | null, 0 | 1];

const enc = new TextEncoder();
const dec = new TextDecoder();

export const encode = (v: unknown): Uint8Array => enc.encode(JSON.stringify(v));
export const decode = (b: Uint8Array): unknown => JSON.parse(dec.decode(b));

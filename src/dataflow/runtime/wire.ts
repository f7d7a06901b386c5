// Records on a pipeline's internal streams. A shuffle stream's partition is a key group; each of its
// stream records is a *message*: a JSON array of shuffle records, in order (decision 008):
//   [0, port, key, t, stream, value]      a record (stream: its source stream's index in the layout, null if derived)
//   [1, key, start, end, acc]              a window's partial accumulator (pre-aggregated upstream)
//   [2, producer, watermark, idle]         a producer's watermark (null: none yet); idle: 1
// A table stream's messages are JSON arrays of rows [key columns, row], or [key columns, row, 1]
// for a row to delete (a result that no longer holds). Messages written before decision 008 held
// one shuffle record or one row each; they are still read.
import { SluiceError } from '../../errors.js';
import { asBuffer } from '../../bytes.js';
import type { Key } from '../dsl.js';

export type ShuffleRecord =
  | [0, number, Key, number, number | string | null, unknown]
  | [1, Key, number, number, unknown]
  | [2, string, number | null, 0 | 1];

/** A table sink's row: its key columns' values and the row; with a 1 after them, a row to delete. */
export type Row = [key: unknown[], row: Record<string, unknown>] | [key: unknown[], row: Record<string, unknown>, deleted: 1];

/** Most bytes of one message: a key group's records of an epoch are cut into messages this big (under NATS' 1 MB max_payload). */
export const MESSAGE_BYTES = 256 * 1024;


// Buffer.from and Buffer#toString cost a third of TextEncoder / TextDecoder per small record here;
// toString() without arguments (UTF-8) skips the encoding lookup: ~40 ns less per source record.
export const encode = (v: unknown): Buffer => Buffer.from(JSON.stringify(v));
export const decode = (b: Uint8Array): unknown => JSON.parse(asBuffer(b).toString());

/** Items stringified together: an array's text per run costs less than one per item. */
const RUN = 256;
const OPEN = 0x5b; // [
const COMMA = 0x2c;
const CLOSE = 0x5d; // ]

/** Whether a number is written digit by digit (a whole number from 0 to 2^53 − 1: JSON writes it so). */
const plain = (n: number | string | null): n is number => typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;

/** Digits of a plain number. */
function digits(n: number): number {
  let d = 1;
  for (let p = 10; n >= p && d < 16; p *= 10) d++;
  return d;
}

/** Writes a plain number's digits at `pos`; returns the position after them. */
function writeDigits(b: Buffer, pos: number, n: number): number {
  const end = pos + digits(n);
  for (let i = end - 1; i >= pos; i--) {
    const q = Math.floor(n / 10);
    b[i] = 0x30 + (n - q * 10);
    n = q;
  }
  return end;
}

/**
 * A shuffle record whose value is still the JSON text it was read as (a source record no step
 * changed): its message carries that text as it is, without a parse-and-stringify round (decision 011).
 * Its head — `[0,port,key,t,stream,` — is written straight into the message: digit by digit when
 * port, time and stream are whole numbers (building it as a string cost ~250 ns a record).
 */
export class RawRecord {
  /** The head as text, when a number in it is not plain (negative, fractional, null stream). */
  private readonly text: string | undefined;
  /** The key's JSON text, when it is not a plain number. */
  private readonly keyText: string | undefined;
  /** Bytes of the head. */
  readonly headBytes: number;

  constructor(readonly port: number, readonly key: Key, readonly t: number, readonly stream: number | null, readonly value: Uint8Array) {
    const keyText = plain(key) ? undefined : JSON.stringify(key);
    if (plain(port) && plain(t) && plain(stream)) {
      this.keyText = keyText;
      const keyBytes = keyText === undefined ? digits(key as number) : Buffer.byteLength(keyText);
      this.headBytes = 7 + digits(port) + keyBytes + digits(t) + digits(stream); // '[0,' and four commas
    } else {
      this.text = `[0,${port},${keyText ?? key},${JSON.stringify(t)},${stream},`;
      this.headBytes = Buffer.byteLength(this.text);
    }
  }

  /** Writes the head at `pos` (headBytes of room); returns the position after it. */
  writeHead(b: Buffer, pos: number): number {
    if (this.text !== undefined) return pos + b.write(this.text, pos, 'utf8');
    b[pos++] = OPEN;
    b[pos++] = 0x30; // 0
    b[pos++] = COMMA;
    pos = writeDigits(b, pos, this.port);
    b[pos++] = COMMA;
    pos = this.keyText === undefined ? writeDigits(b, pos, this.key as number) : pos + b.write(this.keyText, pos, 'utf8');
    b[pos++] = COMMA;
    pos = writeDigits(b, pos, this.t);
    b[pos++] = COMMA;
    pos = writeDigits(b, pos, this.stream as number);
    b[pos++] = COMMA;
    return pos;
  }
}

/** A record of a shuffle record's value: its text already JSON. */
export function rawRecord(port: number, key: Key, t: number, stream: number | null, value: Uint8Array): RawRecord {
  return new RawRecord(port, key, t, stream, value);
}

/** A part of a message: a run of items stringified as an array (its inner bytes are copied), or one raw record. */
type Part = Buffer | RawRecord;

/**
 * Packs items into messages: JSON arrays of at most maxBytes each (an item bigger than that travels
 * alone). Runs of items are stringified once as arrays and their inner bytes copied together; a
 * RawRecord's value bytes are copied as they are.
 */
export function pack(items: readonly unknown[], maxBytes = MESSAGE_BYTES): Buffer[] {
  const out: Buffer[] = [];
  let parts: Part[] = [];
  let size = 1; // '[' and the parts' inner bytes with their separators; ']' is added at the end
  const flush = () => {
    const b = Buffer.allocUnsafe(size + 1);
    let pos = 0;
    for (const part of parts) {
      b[pos] = pos === 0 ? OPEN : COMMA;
      pos += 1;
      if (part instanceof RawRecord) {
        pos = part.writeHead(b, pos);
        b.set(part.value, pos);
        pos += part.value.length;
        b[pos++] = CLOSE;
      } else pos += part.copy(b, pos, 1, part.length - 1);
    }
    b[pos++] = CLOSE;
    out.push(b.subarray(0, pos));
    parts = [];
    size = 1;
  };
  /** Adds a part whose inner bytes and one separator take `bytes`. */
  const add = (part: Part, bytes: number) => {
    if (parts.length > 0 && size + bytes > maxBytes) flush();
    parts.push(part);
    size += bytes;
  };
  const addRun = (slice: readonly unknown[]) => {
    const run = encode(slice);
    if (run.length > maxBytes && slice.length > 1) for (const item of slice) addRun([item]);
    else add(run, run.length - 1); // its inner bytes and one separator
  };
  let from = 0; // start of the pending run of items that are not raw
  for (let i = 0; i < items.length; i++) {
    const item = items[i];
    if (item instanceof RawRecord) {
      if (from < i) addRun(items.slice(from, i));
      from = i + 1;
      add(item, item.headBytes + item.value.length + 2); // head, value, ']' and a separator
    } else if (i + 1 - from === RUN) {
      addRun(items.slice(from, i + 1));
      from = i + 1;
    }
  }
  if (from < items.length) addRun(items.slice(from));
  if (parts.length > 0) flush();
  return out;
}

const isKey = (k: unknown): k is Key => typeof k === 'string' || (typeof k === 'number' && Number.isFinite(k));
const isTime = (t: unknown): t is number => typeof t === 'number' && Number.isFinite(t);
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Whether a value has the shape of a shuffle record (internal streams can be appended to by anyone allowed to write). */
function isShuffleRecord(x: unknown): x is ShuffleRecord {
  if (!Array.isArray(x)) return false;
  switch (x[0]) {
    case 0:
      return x.length === 6 && Number.isInteger(x[1]) && isKey(x[2]) && isTime(x[3]) && (x[4] === null || typeof x[4] === 'number' || typeof x[4] === 'string');
    case 1:
      return x.length === 5 && isKey(x[1]) && isTime(x[2]) && isTime(x[3]);
    case 2:
      return x.length === 4 && typeof x[1] === 'string' && (x[2] === null || isTime(x[2])) && (x[3] === 0 || x[3] === 1);
    default:
      return false;
  }
}

const isRow = (x: unknown): x is Row => Array.isArray(x) && (x.length === 2 || (x.length === 3 && x[2] === 1)) && Array.isArray(x[0]) && isObject(x[1]);

/** A message that is not what Sluice writes to an internal stream (not JSON, or not of its shape). */
/** A message in an internal stream that Sluice did not write (not JSON, or not of its shape). */
export class BadMessageError extends SluiceError {
  readonly code = 'BadMessage';
}

function parse(b: Uint8Array): unknown {
  try {
    return decode(b);
  } catch {
    throw new BadMessageError('not JSON');
  }
}

/** The shuffle records of one message (a pre-008 message is one record); BadMessageError when it is not one. */
export function unpackShuffle(b: Uint8Array): ShuffleRecord[] {
  const m = parse(b);
  if (!Array.isArray(m)) throw new BadMessageError('not an array of shuffle records');
  if (typeof m[0] === 'number') {
    if (!isShuffleRecord(m)) throw new BadMessageError('not a shuffle record');
    return [m];
  }
  for (let i = 0; i < m.length; i++) if (!isShuffleRecord(m[i])) throw new BadMessageError(`item ${i} is not a shuffle record`);
  return m as ShuffleRecord[];
}

/** The rows of one table message (a pre-008 message is one row: [key columns, row object]); BadMessageError when it is not one. */
export function unpackRows(b: Uint8Array): Row[] {
  const m = parse(b);
  if (isRow(m)) return [m];
  if (!Array.isArray(m)) throw new BadMessageError('not an array of table rows');
  for (let i = 0; i < m.length; i++) if (!isRow(m[i])) throw new BadMessageError(`item ${i} is not a table row [key columns, row object] or a deletion [key columns, row object, 1]`);
  return m as Row[];
}

// How deep JSON may nest. V8 parses any depth, but JSON.stringify, structuredClone and every
// recursive reader overflow the stack at a few thousand levels (main thread: stringify ~4,100,
// structuredClone ~3,200): a record nested that deep would be stored and then break every read.
// Sluice refuses JSON nested deeper than MAX_JSON_DEPTH, checked on the text without recursion.

/** Most levels of arrays and objects a JSON record may nest (MongoDB allows 100, Jackson 1,000). */
export const MAX_JSON_DEPTH = 512;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;

/**
 * Whether the JSON text in `bytes[start, end)` nests deeper than `limit` levels. Texts shorter than
 * 2 × limit + 2 bytes cannot (each level takes an opening and a closing byte) and are not scanned.
 */
export function tooDeep(bytes: Uint8Array, start = 0, end = bytes.length, limit = MAX_JSON_DEPTH): boolean {
  if (end - start < 2 * limit + 2) return false;
  let depth = 0;
  for (let i = start; i < end; i++) {
    const b = bytes[i]!;
    if (b === QUOTE) i = stringEnd(bytes, i, end);
    else if (b === OPEN_ARRAY || b === OPEN_OBJECT) {
      if (++depth > limit) return true;
    } else if (b === CLOSE_ARRAY || b === CLOSE_OBJECT) depth--;
  }
  return false;
}

/** The index of the quote closing the string opened at `open` (or `end`): found by indexOf, which skips long strings at memchr speed. */
function stringEnd(bytes: Uint8Array, open: number, end: number): number {
  let q = open;
  for (;;) {
    q = bytes.indexOf(QUOTE, q + 1);
    if (q < 0 || q >= end) return end;
    let slashes = 0;
    while (bytes[q - 1 - slashes] === BACKSLASH) slashes++;
    if (slashes % 2 === 0) return q;
  }
}

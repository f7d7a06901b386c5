// Object names, byte ranges and listing pages, shared by every engine so they agree to the byte.
// Names compare as UTF-8 bytes (S3's order); a page walks a sorted scan and skips whole common
// prefixes by seeking past them, so a page costs its own entries, not the bucket's.
import { DEFAULT_LIST_LIMIT, MAX_LIST_LIMIT, MAX_OBJECT_NAME_BYTES, type ListObjectsOptions, type ObjectRange } from '../engine.js';
import { InvalidArgumentError, InvalidRangeError } from '../errors.js';

const LONE_SURROGATE = /\p{Cs}/u;

/** Any well-formed string of 1 to 1,088 UTF-8 bytes (S3 keys: '..', '%', spaces, unicode, leading '/'). */
export function checkObjectName(name: string, field = 'name'): Buffer {
  if (typeof name !== 'string' || name.length === 0 || LONE_SURROGATE.test(name)) {
    throw new InvalidArgumentError(`invalid object name '${String(name).slice(0, 200)}': use 1-${MAX_OBJECT_NAME_BYTES} bytes of well-formed UTF-8`, field);
  }
  const bytes = Buffer.from(name, 'utf8');
  if (bytes.length > MAX_OBJECT_NAME_BYTES) {
    throw new InvalidArgumentError(`object name '${name.slice(0, 100)}…' is ${bytes.length} bytes of UTF-8; at most ${MAX_OBJECT_NAME_BYTES}`, field);
  }
  return bytes;
}

/** The first and last byte (inclusive) a range covers; end = start - 1 for an empty object read whole. */
export function resolveRange(name: string, size: number, range: ObjectRange | undefined): { start: number; end: number } {
  if (range === undefined) return { start: 0, end: size - 1 };
  if ('suffix' in range) {
    if (!Number.isSafeInteger(range.suffix) || range.suffix < 0) throw new InvalidArgumentError(`a suffix range needs a length of 0 or more, got ${range.suffix}`, 'range');
    // The last 0 bytes, or any of none, are no byte at all: unsatisfiable (HTTP's 416), as S3 answers `bytes=-0`.
    if (size === 0 || range.suffix === 0) throw new InvalidRangeError(name, size, 0);
    return { start: Math.max(0, size - range.suffix), end: size - 1 };
  }
  const { start, end } = range;
  if (!Number.isSafeInteger(start) || start < 0 || (end !== undefined && (!Number.isSafeInteger(end) || end < start))) {
    throw new InvalidArgumentError(`invalid range ${start}-${end ?? ''}`, 'range');
  }
  if (start >= size) throw new InvalidRangeError(name, size, start);
  return { start, end: Math.min(end ?? size - 1, size - 1) };
}

/** The smallest byte string greater than every string starting with `prefix` (undefined: none is). */
export function upperBound(prefix: Buffer): Buffer | undefined {
  let n = prefix.length;
  while (n > 0 && prefix[n - 1] === 0xff) n--;
  if (n === 0) return undefined;
  const out = Buffer.from(prefix.subarray(0, n));
  out[n - 1]!++;
  return out;
}

/** Where a scan starts: at `key`, or just after it. */
export interface ScanFrom {
  key: Buffer;
  inclusive: boolean;
}

/** Scans entries in byte order of their names from `from` while below `below` (no bound: undefined). */
export type Scan<T> = (from: ScanFrom, below: Buffer | undefined) => Iterable<[name: Buffer, entry: T]>;

export interface ListPage<T> {
  objects: T[];
  prefixes: string[];
  next?: string;
}

const cursorOf = (kind: 'n' | 'p', key: Buffer) => kind + key.toString('base64url');

/** The listing options checked: prefix and delimiter as bytes, where to start, the limit. */
export function listPlan(o: ListObjectsOptions): { prefix: Buffer; delimiter?: Buffer; from: ScanFrom; limit: number } {
  const prefix = Buffer.from(o.prefix ?? '', 'utf8');
  const limit = o.limit ?? DEFAULT_LIST_LIMIT;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIST_LIMIT) throw new InvalidArgumentError(`limit must be an integer from 1 to ${MAX_LIST_LIMIT}, got ${limit}`, 'limit');
  if (o.delimiter === '') throw new InvalidArgumentError('delimiter must not be empty', 'delimiter');
  let from: ScanFrom = { key: prefix, inclusive: true };
  if (o.cursor !== undefined) {
    const kind = o.cursor[0];
    const key = Buffer.from(o.cursor.slice(1), 'base64url');
    if ((kind !== 'n' && kind !== 'p') || key.length === 0) throw new InvalidArgumentError('invalid listing cursor', 'cursor');
    const past = kind === 'p' ? upperBound(key) : undefined;
    from = kind === 'n' ? { key, inclusive: false } : past ? { key: past, inclusive: true } : { key: Buffer.alloc(MAX_OBJECT_NAME_BYTES + 1, 0xff), inclusive: true };
  } else if (o.after !== undefined) {
    from = { key: Buffer.from(o.after, 'utf8'), inclusive: false };
  }
  if (Buffer.compare(from.key, prefix) < 0) from = { key: prefix, inclusive: true };
  return { prefix, ...(o.delimiter !== undefined ? { delimiter: Buffer.from(o.delimiter, 'utf8') } : {}), from, limit };
}

/**
 * One page over a sorted scan: names under the prefix, those with the delimiter after the prefix
 * rolled up into common prefixes (each skipped past with one new scan), at most `limit` entries.
 */
export function listPage<T>(o: ListObjectsOptions, scan: Scan<T>): ListPage<T> {
  const { prefix, delimiter, limit, from: first } = listPlan(o);
  let from: ScanFrom | undefined = first;
  const below = upperBound(prefix);
  const page: ListPage<T> = { objects: [], prefixes: [] };
  let last: string | undefined;
  while (from) {
    const start: ScanFrom = from;
    from = undefined;
    for (const [name, entry] of scan(start, below)) {
      if (page.objects.length + page.prefixes.length === limit) {
        page.next = last;
        return page;
      }
      const at = delimiter ? name.indexOf(delimiter, prefix.length) : -1;
      if (at < 0) {
        page.objects.push(entry);
        last = cursorOf('n', name);
        continue;
      }
      const common = name.subarray(0, at + delimiter!.length);
      page.prefixes.push(common.toString('utf8'));
      last = cursorOf('p', common);
      const past = upperBound(common);
      if (past && (!below || Buffer.compare(past, below) < 0)) from = { key: Buffer.from(past), inclusive: true };
      break; // the scan stops here (its iterator is closed); the next one starts past the common prefix
    }
  }
  return page;
}

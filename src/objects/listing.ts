// Listing a bucket's keys (ListObjectsV2 and V1) over the engine's listing of names under
// `<bucket>/`: prefix, delimiter (common prefixes), start-after / marker, continuation tokens
// (the engine's cursor, bound to the bucket), at most 1,000 entries a page.
import type { Engine } from '../engine/engine.js';
import { InvalidArgumentError } from '../engine/errors.js';
import { objectName } from './buckets.js';
import { MAX_LIST_KEYS } from './options.js';
import { entryOf, type ObjectEntry } from './entry.js';

export interface ListOptions {
  prefix?: string;
  delimiter?: string;
  /** Keys after this one (StartAfter, V1's Marker). */
  startAfter?: string;
  /** A page's `nextToken` (ContinuationToken): takes precedence over startAfter. */
  token?: string;
  /** Entries (keys + common prefixes) of the page: 0-1,000, default 1,000 (more is 1,000, as S3). */
  maxKeys?: number;
}

export interface ObjectPage {
  objects: ObjectEntry[];
  /** Common prefixes (with a delimiter), without the bucket. */
  prefixes: string[];
  truncated: boolean;
  /** When truncated: the token of the next page. */
  nextToken?: string;
}

/** The largest code point: a start-after past every key that starts with a common prefix. */
const PAST = '\u{10FFFF}';

const encodeToken = (bucket: string, cursor: string) => Buffer.from(JSON.stringify([bucket, cursor])).toString('base64url');

function decodeToken(bucket: string, token: string): string {
  try {
    const [b, cursor] = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as [unknown, unknown];
    if (b === bucket && typeof cursor === 'string') return cursor;
  } catch {
    // not one of ours
  }
  throw new InvalidArgumentError('The continuation token provided is incorrect', 'continuation-token');
}

/**
 * Where a start-after lands: past a whole common prefix when it falls inside one (the prefix sorts
 * at its own place, before every key it rolls up, so all of them are before the start too).
 */
export function startAfterOf(prefix: string, delimiter: string | undefined, after: string): string {
  if (!delimiter || !after.startsWith(prefix)) return after;
  const at = after.indexOf(delimiter, prefix.length);
  return at < 0 ? after : after.slice(0, at + delimiter.length) + PAST;
}

export async function listObjects(engine: Engine, bucket: string, o: ListOptions & { signal?: AbortSignal }): Promise<ObjectPage> {
  const maxKeys = Math.min(o.maxKeys ?? MAX_LIST_KEYS, MAX_LIST_KEYS);
  if (!Number.isInteger(maxKeys) || maxKeys < 0) throw new InvalidArgumentError('max-keys must be a non-negative integer', 'max-keys');
  if (maxKeys === 0) return { objects: [], prefixes: [], truncated: false };
  const base = objectName(bucket, '');
  const prefix = o.prefix ?? '';
  const delimiter = o.delimiter === '' ? undefined : o.delimiter;
  const page = await engine.listObjects({
    prefix: base + prefix,
    ...(delimiter !== undefined ? { delimiter } : {}),
    ...(o.token !== undefined ? { cursor: decodeToken(bucket, o.token) } : {}),
    ...(o.startAfter ? { after: base + startAfterOf(prefix, delimiter, o.startAfter) } : {}),
    limit: maxKeys,
    ...(o.signal ? { signal: o.signal } : {}),
  });
  return {
    objects: page.objects.map((info) => entryOf(info, info.name.slice(base.length))),
    prefixes: page.prefixes.map((p) => p.slice(base.length)),
    truncated: page.next !== undefined,
    ...(page.next !== undefined ? { nextToken: encodeToken(bucket, page.next) } : {}),
  };
}

// How the native API writes records and reads read positions.
import { isUtf8 } from 'node:buffer';
import type { ReadFrom, StoredRecord } from '../../engine/engine.js';
import { tooDeep } from '../../json-depth.js';
import { HttpError } from '../http-error.js';

/** The `from` / `since` query: an offset, 'earliest', 'latest', or a time (ms or ISO 8601). */
export function parseFrom(query: URLSearchParams): ReadFrom {
  const since = query.get('since');
  if (since !== null) {
    const t = /^\d+$/.test(since) ? Number(since) : Date.parse(since);
    if (!Number.isFinite(t)) throw new HttpError(400, 'InvalidArgument', "'since' must be epoch milliseconds or an ISO 8601 time", { field: 'since' });
    return { timestamp: t };
  }
  const from = query.get('from') ?? 'earliest';
  if (from === 'earliest' || from === 'latest') return from;
  if (/^\d{1,15}$/.test(from)) return Number(from);
  throw new HttpError(400, 'InvalidArgument', "'from' must be an offset, 'earliest' or 'latest'", { field: 'from' });
}

/**
 * A stored record as JSON: `value` when its bytes are UTF-8 JSON nested at most MAX_JSON_DEPTH
 * deep, else `data` in base64 (raw Kinesis data, or what an older gateway stored): a reader never
 * fails on what was stored.
 */
export function recordJson(r: StoredRecord): Record<string, unknown> {
  const out: Record<string, unknown> = { partition: r.partition, offset: r.offset, timestamp: r.timestamp };
  if (r.key !== undefined) out.key = r.key;
  const bytes = Buffer.from(r.value.buffer, r.value.byteOffset, r.value.byteLength);
  if (isUtf8(bytes) && !tooDeep(bytes)) {
    try {
      out.value = JSON.parse(bytes.toString('utf8'));
      return out;
    } catch {
      // not JSON: base64 below
    }
  }
  out.data = bytes.toString('base64');
  return out;
}


// Turns a native append request body (one JSON value, a JSON array, or NDJSON) into engine
// records. Malformed syntax rejects the whole request (nothing is stored, the error says where);
// a record-level problem (too large, bad key) fails only that record, reported by index.
import { isUtf8 } from 'node:buffer';
import type { AppendRecord } from '../../engine/engine.js';
import { parseHashKey } from '../../engine/partitioner.js';
import { MAX_JSON_DEPTH, tooDeep } from '../../json-depth.js';
import { HttpError } from '../http-error.js';
import { locateJsonError } from '../json-error.js';

export const MAX_KEY_LENGTH = 256;
const ENVELOPE_FIELDS = new Set(['value', 'key', 'id', 'hashKey']);

export interface ParseOptions {
  contentType: string;
  /** Partition key for every record of the request (?key=). */
  key?: string;
  /** Records are envelopes { value, key?, id?, hashKey? } (?format=envelope). */
  envelope: boolean;
  /** The stream's partitionKeyField. */
  keyField?: string;
  /** The request's Idempotency-Key: record i gets id `${key}:${i}` unless it has its own. */
  idempotencyKey?: string;
  maxRecordBytes: number;
  maxRecords: number;
}

export interface RecordError {
  code: string;
  message: string;
}

export interface ParsedRequest {
  total: number;
  /** Records to append, with their index in the request. */
  records: AppendRecord[];
  indexes: number[];
  failed: Map<number, RecordError>;
}

/** Parses the body into per-record values (bytes) and the parsed values for key extraction. */
export function parseRecords(body: Buffer, o: ParseOptions): ParsedRequest {
  const type = o.contentType.split(';')[0]!.trim().toLowerCase();
  if (isJsonType(type)) checkUtf8(body, type !== 'application/json');
  let items: { value: unknown; raw?: Buffer }[];
  if (type === 'application/json') items = parseJson(body);
  else if (NDJSON_TYPES.has(type)) {
    items = parseNdjson(body, o.envelope || o.keyField !== undefined);
  }
  else {
    throw new HttpError(415, 'UnsupportedMediaType', `content-type '${type || '(none)'}' is not supported; use application/json or application/x-ndjson`);
  }
  if (items.length === 0) throw new HttpError(400, 'EmptyBatch', 'the request holds no records');
  if (items.length > o.maxRecords) {
    throw new HttpError(413, 'TooManyRecords', `the request holds ${items.length} records; at most ${o.maxRecords} are allowed`, { limit: o.maxRecords });
  }
  const out: ParsedRequest = { total: items.length, records: [], indexes: [], failed: new Map() };
  for (let i = 0; i < items.length; i++) {
    const item = items[i]!;
    const env = o.envelope ? fromEnvelope(item.value, i) : undefined;
    const value = env ? env.value : item.value;
    const bytes = !env && item.raw ? item.raw : textOf(value);
    if (bytes === undefined || tooDeep(bytes)) {
      out.failed.set(i, { code: 'NestingTooDeep', message: `record nests arrays and objects deeper than ${MAX_JSON_DEPTH} levels` });
      continue;
    }
    if (bytes.length > o.maxRecordBytes) {
      out.failed.set(i, { code: 'RecordTooLarge', message: `record is ${bytes.length} bytes; the limit is ${o.maxRecordBytes}` });
      continue;
    }
    const key = env?.key ?? o.key ?? keyFromField(value, o.keyField);
    if (key !== undefined && (key.length < 1 || key.length > MAX_KEY_LENGTH)) {
      out.failed.set(i, { code: 'InvalidPartitionKey', message: `partition key must be 1-${MAX_KEY_LENGTH} characters, got ${key.length}` });
      continue;
    }
    const id = env?.id ?? (o.idempotencyKey === undefined ? undefined : `${o.idempotencyKey}:${i}`);
    const record: AppendRecord = { value: bytes };
    if (key !== undefined) record.key = key;
    if (env?.hashKey !== undefined) record.explicitHashKey = env.hashKey;
    if (id !== undefined) record.id = id;
    out.records.push(record);
    out.indexes.push(i);
  }
  return out;
}

const NDJSON_TYPES = new Set(['application/x-ndjson', 'application/jsonl', 'application/x-jsonlines']);
const isJsonType = (type: string) => type === 'application/json' || NDJSON_TYPES.has(type);

/** JSON is UTF-8 (RFC 8259): a body that is not is refused whole, naming the line for NDJSON. */
function checkUtf8(body: Buffer, lines: boolean): void {
  if (isUtf8(body)) return;
  let line = 1;
  let start = 0;
  while (lines && start < body.length) {
    let end = body.indexOf(10, start);
    if (end < 0) end = body.length;
    if (!isUtf8(body.subarray(start, end))) break;
    line++;
    start = end + 1;
  }
  throw new HttpError(400, 'InvalidUtf8', lines ? `line ${line} is not valid UTF-8 (JSON text must be UTF-8)` : 'the body is not valid UTF-8 (JSON text must be UTF-8)', lines ? { line } : {});
}

/** A parsed value's JSON bytes; undefined when it nests too deep for JSON.stringify's stack. */
function textOf(value: unknown): Buffer | undefined {
  try {
    return Buffer.from(JSON.stringify(value));
  } catch (e) {
    if (e instanceof RangeError) return undefined;
    throw e;
  }
}

function parseJson(body: Buffer): { value: unknown }[] {
  const text = body.toString('utf8');
  if (text.trim() === '') return [];
  const value = parseJsonText(text);
  return Array.isArray(value) ? value.map((v) => ({ value: v })) : [{ value }];
}

/** JSON.parse that fails with a 400 saying where the text is malformed. */
export function parseJsonText(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    const at = locateJsonError(text, e as Error);
    throw new HttpError(400, 'MalformedJson', `malformed JSON at line ${at.line}, column ${at.column}: ${at.reason}`, { line: at.line, column: at.column });
  }
}

/** Parses each line; keeps the parsed value only when it is needed (envelopes, key fields). */
function parseNdjson(body: Buffer, keepValues: boolean): { value: unknown; raw: Buffer }[] {
  const out: { value: unknown; raw: Buffer }[] = [];
  let start = 0;
  for (let line = 1; start < body.length; line++) {
    let end = body.indexOf(10, start);
    if (end < 0) end = body.length;
    let stop = end;
    if (stop > start && body[stop - 1] === 13) stop--; // CRLF
    const text = body.toString('utf8', start, stop);
    if (!isBlank(text)) {
      try {
        const value: unknown = JSON.parse(text);
        out.push({ value: keepValues ? value : undefined, raw: body.subarray(start, stop) });
      } catch (e) {
        const at = locateJsonError(text, e as Error);
        throw new HttpError(400, 'MalformedJson', `malformed JSON on line ${line}, column ${at.column}: ${at.reason}`, { line, column: at.column });
      }
    }
    start = end + 1;
  }
  return out;
}

const isBlank = (text: string) => text.length === 0 || (text.charCodeAt(0) <= 32 && text.trim() === '');

function fromEnvelope(v: unknown, i: number): { value: unknown; key?: string; id?: string; hashKey?: string } {
  const bad = (why: string) => new HttpError(400, 'InvalidEnvelope', `record ${i}: ${why}`, { index: i });
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw bad('an envelope must be an object { value, key?, id?, hashKey? }');
  const e = v as Record<string, unknown>;
  for (const f of Object.keys(e)) if (!ENVELOPE_FIELDS.has(f)) throw bad(`unknown envelope field '${f}'`);
  if (!('value' in e)) throw bad("the envelope has no 'value'");
  for (const f of ['key', 'id', 'hashKey'] as const) {
    if (e[f] !== undefined && typeof e[f] !== 'string') throw bad(`'${f}' must be a string`);
  }
  if (typeof e.id === 'string' && (e.id.length < 1 || e.id.length > 256)) throw bad("'id' must be 1-256 characters");
  if (typeof e.hashKey === 'string' && parseHashKey(e.hashKey) === undefined) throw bad("'hashKey' must be a decimal integer from 0 to 2^128-1");
  return e as { value: unknown; key?: string; id?: string; hashKey?: string };
}

function keyFromField(value: unknown, field: string | undefined): string | undefined {
  if (field === undefined || typeof value !== 'object' || value === null) return undefined;
  const k = (value as Record<string, unknown>)[field];
  return typeof k === 'string' ? k : typeof k === 'number' && Number.isFinite(k) ? String(k) : undefined;
}

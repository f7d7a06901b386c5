// The native HTTP API: streams admin, append (JSON, JSON array, NDJSON; gzip), read and tail.
import type { HTTPMethod } from 'find-my-way';
import { parseDuration } from '../../config/duration.js';
import type { AppendResult, StreamOptions } from '../../engine/engine.js';
import { canSee } from '../auth/scopes.js';
import { readBody } from '../body.js';
import type { Gateway, RequestContext, RouteHandler } from '../gateway.js';
import { HttpError } from '../http-error.js';
import { countAppend } from '../metrics.js';
import { consumersOf } from '../../observe/pipelines.js';
import { sendJson } from '../request.js';
import { parseJsonText, parseRecords, type RecordError } from './records.js';
import { tail } from './tail.js';
import { parseFrom, recordJson } from './wire.js';

export const DEFAULT_READ_LIMIT = 100;
export const MAX_READ_LIMIT = 10_000;
const MAX_ADMIN_BODY_BYTES = 64 * 1024;

const STATUS_OF_RECORD_ERROR = new Map([['RecordTooLarge', 413], ['Unavailable', 503]]);

export function nativeRoutes(gw: Gateway): [HTTPMethod, string, RouteHandler][] {
  return [
    ['GET', '/v1/streams', (ctx) => listStreams(gw, ctx)],
    ['POST', '/v1/streams', (ctx) => createStream(gw, ctx)],
    ['GET', '/v1/streams/:name', (ctx) => describeStream(gw, ctx)],
    ['DELETE', '/v1/streams/:name', (ctx) => deleteStream(gw, ctx)],
    ['POST', '/v1/streams/:name/records', (ctx) => append(gw, ctx)],
    ['GET', '/v1/streams/:name/records', (ctx) => read(gw, ctx)],
    ['GET', '/v1/streams/:name/tail', (ctx) => tail(gw, ctx)],
  ];
}

async function listStreams(gw: Gateway, { req, res }: RequestContext) {
  const principal = gw.authorize(req, undefined, 'read');
  const streams = (await gw.engine.listStreams()).filter((s) => canSee(principal, s.name));
  sendJson(res, 200, { streams });
}

async function createStream(gw: Gateway, { req, res }: RequestContext) {
  const body = await readJsonBody(gw, req);
  const name = body.name;
  if (typeof name !== 'string') throw new HttpError(400, 'InvalidArgument', "'name' must be a string", { field: 'name' });
  gw.authorize(req, name, 'admin');
  const options: StreamOptions = {};
  for (const field of Object.keys(body)) {
    if (!['name', 'partitions', 'retention', 'partitionKeyField', 'dedupWindow'].includes(field)) {
      throw new HttpError(400, 'InvalidArgument', `unknown field '${field}'`, { field });
    }
  }
  if (body.partitions !== undefined) options.partitions = body.partitions as number;
  if (body.partitionKeyField !== undefined) options.partitionKeyField = body.partitionKeyField as string;
  for (const [field, target] of [['retention', 'retentionMs'], ['dedupWindow', 'dedupWindowMs']] as const) {
    if (body[field] === undefined) continue;
    const ms = parseDuration(body[field]);
    if (ms === undefined) throw new HttpError(400, 'InvalidArgument', `'${field}' must be milliseconds or a duration like '7d'`, { field });
    options[target] = ms;
  }
  const info = await gw.engine.createStream(name, options);
  gw.forgetStream(name);
  sendJson(res, 201, info);
}

async function describeStream(gw: Gateway, { req, res, params }: RequestContext) {
  gw.authorize(req, params.name!, 'read');
  const info = await gw.engine.describeStream(params.name!);
  sendJson(res, 200, { ...info, consumers: await consumersOf(gw.observer.runs, gw.engine, params.name!) });
}

async function deleteStream(gw: Gateway, { req, res, params }: RequestContext) {
  gw.authorize(req, params.name!, 'admin');
  await gw.engine.deleteStream(params.name!);
  gw.forgetStream(params.name!);
  res.writeHead(204).end();
}

async function append(gw: Gateway, { req, res, params, query, clientGone }: RequestContext) {
  const stream = params.name!;
  const principal = gw.authorize(req, stream, 'write');
  const info = await gw.streamInfo(stream);
  const client = gw.clientOf(req, principal);
  const o = gw.options;
  const body = await readBody(req, { maxBytes: o.maxBodyBytes, timeoutMs: o.bodyTimeoutMs }, gw.admission, client);
  try {
    const idem = req.headers['idempotency-key'];
    if (idem !== undefined && (typeof idem !== 'string' || idem.length < 1 || idem.length > 200)) {
      throw new HttpError(400, 'InvalidArgument', 'Idempotency-Key must be 1-200 characters', { field: 'Idempotency-Key' });
    }
    const key = query.get('key') ?? undefined;
    const format = query.get('format') ?? 'raw';
    if (format !== 'raw' && format !== 'envelope') throw new HttpError(400, 'InvalidArgument', "format must be 'raw' or 'envelope'", { field: 'format' });
    const parsed = parseRecords(body.data, {
      contentType: String(req.headers['content-type'] ?? ''),
      key,
      envelope: format === 'envelope',
      keyField: info.partitionKeyField,
      idempotencyKey: idem,
      maxRecordBytes: o.maxRecordBytes,
      maxRecords: o.maxRecordsPerRequest,
    });
    gw.rateLimiter?.take(client, parsed.records.length);
    const leave = gw.admission.enterAppend();
    let stored: AppendResult[];
    try {
      stored = parsed.records.length === 0 ? [] : await gw.append(stream, parsed.records, { signal: clientGone });
    } finally {
      leave();
    }
    const results = respondAppend(res, parsed.total, parsed.indexes, stored, parsed.failed);
    countAppend(gw.metrics, gw.requestInfo(req), stream, 'native', results, body.data.length);
  } finally {
    gw.admission.release(client, body.reserved);
  }
}

/** Answers an append: one result per record of the request, in order. Returns them. */
function respondAppend(res: RequestContext['res'], total: number, indexes: number[], stored: AppendResult[], failed: Map<number, RecordError>): AppendResult[] {
  const results: AppendResult[] = new Array(total);
  for (const [i, error] of failed) results[i] = { error };
  stored.forEach((r, j) => (results[indexes[j]!] = r));
  let nFailed = 0;
  let duplicates = 0;
  for (const r of results) {
    if ('error' in r) nFailed++;
    else if (r.duplicate) duplicates++;
  }
  const firstError = results.find((r): r is { error: RecordError } => 'error' in r);
  const status = nFailed === total ? (STATUS_OF_RECORD_ERROR.get(firstError!.error.code) ?? 400) : 200;
  // Records the engine could not take now may be sent again (with the same Idempotency-Key).
  const retry = results.some((r) => 'error' in r && r.error.code === 'Unavailable') ? { 'retry-after': '1' } : undefined;
  sendJson(res, status, { stored: total - nFailed - duplicates, duplicates, failed: nFailed, results }, retry);
  return results;
}

async function read(gw: Gateway, { req, res, params, query }: RequestContext) {
  const stream = params.name!;
  gw.authorize(req, stream, 'read');
  const info = await gw.streamInfo(stream);
  const partition = intParam(query, 'partition', info.partitions === 1 ? 0 : undefined);
  const limit = intParam(query, 'limit', DEFAULT_READ_LIMIT)!;
  if (limit < 1 || limit > MAX_READ_LIMIT) throw new HttpError(400, 'InvalidArgument', `limit must be 1-${MAX_READ_LIMIT}`, { field: 'limit' });
  if (partition === undefined) throw new HttpError(400, 'InvalidArgument', `'partition' is required: stream '${stream}' has ${info.partitions} partitions`, { field: 'partition' });
  const offset = await gw.engine.resolve(stream, partition, parseFrom(query));
  const { records, next } = await gw.engine.read(stream, partition, offset, limit);
  sendJson(res, 200, { records: records.map(recordJson), next });
}

function intParam(query: URLSearchParams, name: string, fallback: number | undefined): number | undefined {
  const v = query.get(name);
  if (v === null) return fallback;
  if (!/^\d{1,9}$/.test(v)) throw new HttpError(400, 'InvalidArgument', `'${name}' must be a non-negative integer`, { field: name });
  return Number(v);
}

async function readJsonBody(gw: Gateway, req: RequestContext['req']): Promise<Record<string, unknown>> {
  const type = String(req.headers['content-type'] ?? '').split(';')[0]!.trim();
  if (type !== 'application/json') throw new HttpError(415, 'UnsupportedMediaType', 'use content-type application/json');
  const client = req.socket?.remoteAddress ?? 'admin';
  const body = await readBody(req, { maxBytes: MAX_ADMIN_BODY_BYTES, timeoutMs: gw.options.bodyTimeoutMs }, gw.admission, client);
  gw.admission.release(client, body.reserved);
  const value = parseJsonText(body.data.toString('utf8'));
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new HttpError(400, 'InvalidArgument', 'the body must be a JSON object');
  }
  return value as Record<string, unknown>;
}

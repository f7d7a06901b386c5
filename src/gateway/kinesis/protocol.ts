// The JSON 1.1 wire around the operations, as AWS answers: bodies (empty for operations without
// output), error shapes, request ids, CORS for browser SDK clients, and requests naming no operation.
import { randomUUID } from 'node:crypto';
import type { GatewayRequest, GatewayResponse } from '../request.js';
import { tooDeep } from '../../json-depth.js';
import { KinesisError, serialization } from './errors.js';

export const CONTENT_TYPE = 'application/x-amz-json-1.1';
export const CORS_MAX_AGE_S = 172_800; // 2 days, what AWS tells browsers to cache a preflight for
const EXPOSED_HEADERS = 'x-amzn-RequestId,x-amzn-ErrorType,x-amz-request-id,x-amz-id-2,x-amzn-ErrorMessage,Date';
const JSON_TYPES = ['application/x-amz-json-1.1', 'application/x-amz-json-1.0', 'application/json'];
const NO_OPERATION_XML =
  '<AccessDeniedException>\n  <Message>Unable to determine service/operation name to be authorized</Message>\n</AccessDeniedException>\n';

/** The headers of every Kinesis response: a request id, and CORS headers when a browser sent the request. */
export function responseHeaders(req: GatewayRequest): Record<string, string> {
  const headers: Record<string, string> = { 'x-amzn-requestid': randomUUID() };
  if (req.headers.origin !== undefined) {
    headers['access-control-allow-origin'] = '*';
    headers['access-control-expose-headers'] = EXPOSED_HEADERS;
  }
  return headers;
}

/** Sends a JSON 1.1 body, or HTTP 200's empty body (content-length 0) for an operation without output. */
export function send(res: GatewayResponse, status: number, body: object | undefined, headers: Record<string, string>): void {
  if (res.headersSent) return;
  const text = body === undefined ? '' : JSON.stringify(body);
  res.writeHead(status, { 'content-type': CONTENT_TYPE, 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

/** An error as Kinesis sends it: `__type`, and `message` (SerializationException says `Message`) when there is one. */
export function errorBody(err: KinesisError): object {
  if (!err.message) return { __type: err.code };
  return { __type: err.code, [err.code === 'SerializationException' ? 'Message' : 'message']: err.message };
}

/** Answers a CORS preflight as AWS does: any origin, the method and headers asked for, cached 2 days. */
export function preflight(req: GatewayRequest, res: GatewayResponse): void {
  const headers: Record<string, string> = {
    'x-amzn-requestid': randomUUID(),
    'access-control-allow-origin': '*',
    'access-control-max-age': String(CORS_MAX_AGE_S),
    'content-length': '0',
  };
  const method = req.headers['access-control-request-method'];
  const asked = req.headers['access-control-request-headers'];
  if (method) headers['access-control-allow-methods'] = String(method);
  if (asked) headers['access-control-allow-headers'] = String(asked);
  res.writeHead(200, headers);
  res.end();
}

/**
 * Answers a POST without X-Amz-Target as AWS does: a JSON body gets UnknownOperationException,
 * anything else the XML AccessDeniedException AWS's front door sends before it knows the service.
 */
export function noOperation(req: GatewayRequest, res: GatewayResponse, headers: Record<string, string>): void {
  const type = String(req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (JSON_TYPES.includes(type)) {
    return send(res, 400, { __type: 'UnknownOperationException' }, { ...headers, 'x-amzn-errortype': 'UnknownOperationException' });
  }
  res.writeHead(403, { ...headers, 'content-length': Buffer.byteLength(NO_OPERATION_XML), 'x-amzn-errortype': 'AccessDeniedException' });
  res.end(NO_OPERATION_XML);
}

export const MAX_KINESIS_DEPTH = 32;

/** The request body's JSON object; AWS answers an empty, non-JSON or non-object body with a bare SerializationException. */
export function parseBody(data: Buffer): Record<string, unknown> {
  // No Kinesis request nests more than a few levels; deeper JSON would only reach readers that recurse.
  if (tooDeep(data, 0, data.length, MAX_KINESIS_DEPTH)) throw serialization(`the request nests deeper than ${MAX_KINESIS_DEPTH} levels`);
  let v: unknown;
  try {
    v = JSON.parse(data.toString('utf8'));
  } catch {
    throw serialization('');
  }
  if (Array.isArray(v)) throw serialization('Start of list found where not expected');
  if (typeof v !== 'object' || v === null) throw serialization('');
  return v as Record<string, unknown>;
}

/** The bare UnknownOperationException AWS answers to a target it does not know. */
export const unknownOperation = (): KinesisError => new KinesisError('UnknownOperationException', '');

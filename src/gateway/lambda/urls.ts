// Function URLs: any method on /fn/<name>/… delivers an API Gateway HTTP API (payload 2.0) event,
// as Lambda's function URLs do; the result `{statusCode, headers, body, isBase64Encoded, cookies}`
// is the answer, other JSON is 200 application/json, a failed or malformed invocation is 502.
// Auth: the function's `url.auth` — 'key' (default: an API key or SigV4 with invoke permission),
// 'none' (public).
import { randomUUID } from 'node:crypto';
import { validateHeaderName, validateHeaderValue } from 'node:http';
import { canFunction } from '../auth/scopes.js';
import { readBody } from '../body.js';
import { ClientAbortedError, ForbiddenError } from '../errors.js';
import type { Gateway } from '../gateway.js';
import { HttpError } from '../http-error.js';
import { discardUnreadBody, sendJson, type GatewayRequest, type GatewayResponse } from '../request.js';
import { FunctionThrottledError, RequestTooLargeError, SYNC_PAYLOAD_LIMIT } from '../../functions/errors.js';
import type { Functions } from '../../functions/functions.js';

export const URL_PREFIX = '/fn/';

/** Where a caller presents a Sluice key (auth/api-keys.ts presentedKey). */
const CREDENTIAL_HEADERS = ['authorization', 'x-api-key'];

/** Invokes the function a function URL names with the request as its event, and answers with its result. */
export async function functionUrl(gw: Gateway, fns: Functions | undefined, req: GatewayRequest, res: GatewayResponse, url: URL): Promise<void> {
  const rest = url.pathname.slice(URL_PREFIX.length);
  const slash = rest.indexOf('/');
  const name = decoded(slash < 0 ? rest : rest.slice(0, slash));
  const entry = fns?.names().includes(name) ? fns.get(name) : undefined;
  if (!entry) throw new HttpError(404, 'FunctionNotFound', `no function '${name}' has a URL here`, { function: name });
  const keyed = (entry.config.url?.auth ?? 'key') === 'key';
  if (keyed) {
    const principal = gw.principalOf(req);
    if (!canFunction(principal, name, 'invoke')) throw new ForbiddenError(`key '${principal.id}' may not invoke function '${name}'`, `function:${name}`, 'invoke');
  }
  const address = req.socket?.remoteAddress ?? 'unknown';
  const body = await readBody(req, { maxBytes: SYNC_PAYLOAD_LIMIT, timeoutMs: gw.options.bodyTimeoutMs }, gw.admission, address);
  try {
    const info = gw.requestInfo(req);
    if (info) info.route = `fn:${name}`;
    const event = httpEvent(req, url, slash < 0 ? '/' : rest.slice(slash), body.data, address, gw.clock.now(), keyed);
    const invocation = await fns!.invoke(name, JSON.stringify(event));
    const outcome = invocation!.outcome;
    if (!outcome.ok) return sendJson(res, 502, { message: 'Internal Server Error' });
    answer(res, outcome.result);
  } catch (e) {
    if (e instanceof ClientAbortedError) throw e;
    discardUnreadBody(req);
    if (e instanceof FunctionThrottledError) throw new HttpError(429, 'TooManyRequests', e.message, { function: name }, { 'retry-after': '1' });
    // (The event carries a binary body as base64: a body under the limit can make an event over it.)
    if (e instanceof RequestTooLargeError) throw new HttpError(413, 'PayloadTooLarge', e.message, { limit: e.limit });
    throw e;
  } finally {
    gw.admission.release(address, body.reserved);
  }
}

/** The API Gateway HTTP API payload 2.0 event of a request. */
function httpEvent(req: GatewayRequest, url: URL, rawPath: string, body: Buffer, sourceIp: string, now: number, keyed: boolean) {
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers)) if (!k.startsWith(':') && v !== undefined) headers[k] = Array.isArray(v) ? v.join(',') : v;
  // The key a keyed URL took is Sluice's credential, long-lived and good beyond this function: it is
  // not handed to the handler (whose logs a reader of the function sees). A public URL's headers are
  // the caller's own business and go as sent.
  if (keyed) for (const name of CREDENTIAL_HEADERS) delete headers[name];
  // Built from entries: a parameter named __proto__ or constructor is a field like any other, and no
  // inherited property is taken for a value given before.
  const params = new Map<string, string>();
  for (const [k, v] of url.searchParams) params.set(k, params.has(k) ? `${params.get(k)},${v}` : v);
  const query: Record<string, string> = Object.fromEntries(params);
  const cookies = headers.cookie?.split(/;\s*/).filter(Boolean);
  delete headers.cookie;
  const text = body.toString('utf8');
  const textual = Buffer.from(text, 'utf8').equals(body) && !/^(image|audio|video)\/|octet-stream/.test(headers['content-type'] ?? '');
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath,
    rawQueryString: url.search.slice(1),
    ...(cookies?.length ? { cookies } : {}),
    headers,
    ...(url.search ? { queryStringParameters: query } : {}),
    requestContext: {
      accountId: 'anonymous',
      apiId: 'sluice',
      domainName: headers.host ?? 'localhost',
      domainPrefix: (headers.host ?? 'localhost').split('.')[0],
      http: { method: req.method ?? 'GET', path: rawPath, protocol: `HTTP/${req.httpVersion}`, sourceIp, userAgent: headers['user-agent'] ?? '' },
      requestId: randomUUID(),
      routeKey: '$default',
      stage: '$default',
      time: clfTime(now),
      timeEpoch: now,
    },
    ...(body.length ? { body: textual ? text : body.toString('base64') } : {}),
    isBase64Encoded: body.length > 0 && !textual,
  };
}

/** Headers that frame the message: Sluice sets them (a handler's Transfer-Encoding beside Content-Length would corrupt the response). */
const FRAMING = new Set(['content-length', 'transfer-encoding', 'connection', 'keep-alive', 'upgrade', 'trailer', 'te', 'proxy-connection']);

/** The response a result stands for (Lambda's rules for function URLs); a malformed one is 502. */
function answer(res: GatewayResponse, resultText: string): void {
  let result: unknown;
  try {
    result = JSON.parse(resultText);
  } catch {
    return sendJson(res, 502, { message: 'Internal Server Error' });
  }
  const r = result as { statusCode?: unknown; headers?: unknown; body?: unknown; isBase64Encoded?: unknown; cookies?: unknown } | null;
  if (typeof r !== 'object' || r === null || Array.isArray(r) || r.statusCode === undefined) {
    const text = resultText;
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
    return void res.end(text);
  }
  const head = responseHead(r);
  if (!head || (r.body !== undefined && typeof r.body !== 'string')) return sendJson(res, 502, { message: 'Internal Server Error' });
  const body = r.body === undefined ? Buffer.alloc(0) : r.isBase64Encoded === true ? Buffer.from(r.body as string, 'base64') : Buffer.from(r.body as string);
  // 204 and 304 have no body, nor a Content-Length saying otherwise.
  if (head.status === 204 || head.status === 304) return void res.writeHead(head.status, head.headers).end();
  head.headers['content-length'] = String(body.length);
  res.writeHead(head.status, head.headers);
  res.end(body);
}

/** The status and headers of a result, or undefined when they cannot be sent: a status that is not a final one (200-599), a header or cookie HTTP refuses (CR/LF in it, a bad name). */
function responseHead(r: { statusCode?: unknown; headers?: unknown; cookies?: unknown }): { status: number; headers: Record<string, string | string[]> } | undefined {
  const status = Number(r.statusCode);
  if (!Number.isInteger(status) || status < 200 || status > 599) return undefined;
  if (r.headers !== undefined && (typeof r.headers !== 'object' || r.headers === null || Array.isArray(r.headers))) return undefined;
  if (r.cookies !== undefined && (!Array.isArray(r.cookies) || !r.cookies.every((c) => typeof c === 'string'))) return undefined;
  const headers: Record<string, string | string[]> = {};
  try {
    for (const [k, v] of Object.entries((r.headers ?? {}) as Record<string, unknown>)) {
      if (!['string', 'number', 'boolean'].includes(typeof v)) return undefined;
      const name = k.toLowerCase();
      validateHeaderName(name);
      validateHeaderValue(name, String(v));
      if (!FRAMING.has(name)) headers[name] = String(v);
    }
    const cookies = (r.cookies ?? []) as string[];
    for (const c of cookies) validateHeaderValue('set-cookie', c);
    if (cookies.length) headers['set-cookie'] = cookies;
  } catch {
    return undefined;
  }
  return { status, headers };
}

/** A path segment decoded; as it came when it is not valid percent-encoding. */
function decoded(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

/** Time as API Gateway writes it: 12/Mar/2020:19:03:58 +0000. */
function clfTime(ms: number): string {
  const d = new Date(ms);
  const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  const p = (n: number) => String(n).padStart(2, '0');
  return `${p(d.getUTCDate())}/${months[d.getUTCMonth()]}/${d.getUTCFullYear()}:${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} +0000`;
}

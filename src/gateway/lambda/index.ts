// The AWS Lambda API on the gateway's port (REST-JSON, as `@aws-sdk/client-lambda` and
// `aws lambda invoke` speak it): Invoke (RequestResponse, Event, DryRun; X-Amz-Log-Type: Tail),
// ListFunctions and GetFunction. SigV4 as for Kinesis, or an API key; the caller needs `invoke` on
// `function:<name>` to invoke and `read` to list or get it (admin on `*` will do; decision 023).
// Errors are Lambda's: x-amzn-ErrorType and {Type, message}.
import { isUtf8 } from 'node:buffer';
import { ClientAbortedError, ShuttingDownError } from '../errors.js';
import { canFunction, type Principal } from '../auth/scopes.js';
import { presentedKey } from '../auth/api-keys.js';
import { verifyRequest } from '../auth/sigv4.js';
import { readBody } from '../body.js';
import type { Gateway } from '../gateway.js';
import { discardUnreadBody, type GatewayRequest, type GatewayResponse } from '../request.js';
import { type Functions } from '../../functions/functions.js';
import { InvalidPayloadError, SYNC_PAYLOAD_LIMIT } from '../../functions/errors.js';
import { logTail } from '../../functions/logs.js';
import { LambdaError, toLambdaError } from './errors.js';
import { functionConfiguration, nameOf } from './describe.js';

export const LAMBDA_PREFIX = '/2015-03-31/functions';
const INVOCATION_TYPES = new Set(['RequestResponse', 'Event', 'DryRun']);
const LOG_TYPES = new Set(['None', 'Tail']);
/** Lambda's limit on X-Amz-Client-Context: base64 characters. */
const CLIENT_CONTEXT_LIMIT = 3583;

/** Whether a request is for the Lambda API. */
export const lambdaRequest = (path: string): boolean => path === LAMBDA_PREFIX || path.startsWith(`${LAMBDA_PREFIX}/`);

export class LambdaApi {
  constructor(private readonly gw: Gateway, private readonly functions: () => Functions | undefined) {}

  async handle(req: GatewayRequest, res: GatewayResponse, path: string): Promise<void> {
    let reserved = 0;
    const address = req.socket?.remoteAddress ?? 'unknown';
    try {
      if (this.gw.closing) throw new ShuttingDownError();
      const fns = this.functions();
      if (!fns) throw new LambdaError('ResourceNotFoundException', 'no functions are configured (sluice.config.ts: functions)', 404);
      const rest = path.slice(LAMBDA_PREFIX.length).replace(/^\/+/, '');
      const [rawName, action, extra] = rest.split('/');
      const body = await readBody(req, { maxBytes: SYNC_PAYLOAD_LIMIT, timeoutMs: this.gw.options.bodyTimeoutMs }, this.gw.admission, address);
      reserved = body.reserved;
      const principal = this.authenticate(req, body.raw);
      const info = this.gw.requestInfo(req);
      if (!rawName) {
        if (req.method !== 'GET') throw new LambdaError('InvalidRequestContentException', `${req.method} is not an operation on ${LAMBDA_PREFIX}/`);
        if (info) info.route = 'lambda:ListFunctions';
        return send(res, 200, { Functions: fns.names().filter((n) => canFunction(principal, n, 'read')).map((n) => functionConfiguration(fns.get(n))) });
      }
      const given = nameOf(decoded(rawName));
      const { name } = given;
      // GetFunction (the configuration, environment included) wants `read`; Invoke `invoke`.
      const reading = req.method === 'GET';
      if (!canFunction(principal, name, reading ? 'read' : 'invoke')) {
        throw new LambdaError('AccessDeniedException', `User: ${principal.id} is not authorized to perform: lambda:${reading ? 'GetFunction' : 'InvokeFunction'} on resource: function:${name}`, 403);
      }
      // Functions have $LATEST only: a version or alias (in the name, or ?Qualifier=) names nothing.
      const asked = new URL(req.url ?? '/', 'http://gateway').searchParams.get('Qualifier') ?? undefined;
      if (given.qualifier !== undefined && asked !== undefined && given.qualifier !== asked) throw new LambdaError('InvalidParameterValueException', 'The derived qualifier from the function name does not match the specified qualifier.');
      const qualifier = given.qualifier ?? asked ?? '$LATEST';
      if (qualifier !== '$LATEST') throw new LambdaError('ResourceNotFoundException', `Function not found: arn:aws:lambda:${this.gw.options.region}:000000000000:function:${name}:${qualifier}`, 404);
      if (action === undefined && req.method === 'GET') {
        if (info) info.route = 'lambda:GetFunction';
        const entry = fns.get(name);
        return send(res, 200, { Configuration: functionConfiguration(entry), Code: { RepositoryType: 'Sluice', Location: entry.spec.file } });
      }
      if (action !== 'invocations' || extra !== undefined || req.method !== 'POST') throw new LambdaError('UnknownOperationException', `no Lambda operation ${req.method} ${path}`);
      if (info) info.route = 'lambda:Invoke';
      await this.invoke(req, res, fns, name, body.data);
    } catch (e) {
      if (e instanceof ClientAbortedError) return void res.destroy();
      const err = toLambdaError(e, this.gw);
      const info = this.gw.requestInfo(req);
      if (info) info.code = err.code;
      send(res, err.status, { Type: err.status >= 500 ? 'Service' : 'User', message: err.message }, { 'x-amzn-errortype': err.code, ...err.headers });
      discardUnreadBody(req);
    } finally {
      if (reserved) this.gw.admission.release(address, reserved);
    }
  }

  private async invoke(req: GatewayRequest, res: GatewayResponse, fns: Functions, name: string, body: Buffer): Promise<void> {
    const type = String(req.headers['x-amz-invocation-type'] ?? 'RequestResponse');
    if (!INVOCATION_TYPES.has(type)) throw new LambdaError('InvalidParameterValueException', `1 validation error detected: Value '${type}' at 'invocationType' failed to satisfy constraint: Member must satisfy enum value set: [RequestResponse, Event, DryRun]`);
    const logType = String(req.headers['x-amz-log-type'] ?? 'None');
    if (!LOG_TYPES.has(logType)) throw new LambdaError('InvalidParameterValueException', `1 validation error detected: Value '${logType}' at 'logType' failed to satisfy constraint: Member must satisfy enum value set: [Tail, None]`);
    const clientContext = clientContextOf(req.headers['x-amz-client-context']);
    if (!isUtf8(body)) throw new InvalidPayloadError('Could not parse payload into json: Invalid UTF-8');
    // Lambda passes the client context for synchronous invocations only.
    const result = await fns.invoke(name, body.toString('utf8'), type as 'RequestResponse', undefined, type === 'RequestResponse' ? { clientContext } : {});
    if (type === 'DryRun') return send(res, 204, undefined);
    if (type === 'Event') return send(res, 202, undefined);
    const { outcome, lines } = result!;
    const headers: Record<string, string> = { 'x-amz-executed-version': '$LATEST' };
    if (logType === 'Tail') headers['x-amz-log-result'] = logTail(lines);
    if (outcome.ok) return sendRaw(res, 200, outcome.result, headers);
    headers['x-amz-function-error'] = 'Unhandled';
    sendRaw(res, 200, JSON.stringify(outcome.error), headers);
  }

  /** SigV4 (service lambda) or, for Sluice's own clients, an API key. */
  private authenticate(req: GatewayRequest, body: Buffer): Principal {
    if (presentedKey(req.headers) !== undefined && !String(req.headers['authorization'] ?? '').startsWith('AWS4-')) return this.gw.principalOf(req);
    const result = verifyRequest(this.gw, req, body, 'lambda');
    if ('code' in result) {
      throw new LambdaError(result.code, result.message, 403);
    }
    return result;
  }
}

/** A path segment decoded; as it came when it is not valid percent-encoding (the name check then refuses it). */
function decoded(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

/** X-Amz-Client-Context: base64 of a JSON object, decoded (undefined when absent). */
function clientContextOf(header: string | string[] | undefined): unknown {
  if (header === undefined) return undefined;
  const text = Array.isArray(header) ? header.join(',') : header;
  if (text.length > CLIENT_CONTEXT_LIMIT) throw new LambdaError('ValidationException', `1 validation error detected: Value at 'clientContext' failed to satisfy constraint: Member must have length less than or equal to ${CLIENT_CONTEXT_LIMIT}`);
  const invalid = new LambdaError('InvalidRequestContentException', 'Client context must be a valid Base64-encoded JSON object.');
  if (text.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(text)) throw invalid;
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(text, 'base64').toString('utf8'));
  } catch {
    throw invalid;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw invalid;
  return value;
}

function send(res: GatewayResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  sendRaw(res, status, body === undefined ? '' : JSON.stringify(body), headers);
}

function sendRaw(res: GatewayResponse, status: number, text: string, headers: Record<string, string>): void {
  if (res.headersSent) return;
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

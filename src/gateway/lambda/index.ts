// The AWS Lambda API on the gateway's port (REST-JSON, as `@aws-sdk/client-lambda` and
// `aws lambda invoke` speak it): Invoke (RequestResponse, Event, DryRun; X-Amz-Log-Type: Tail),
// ListFunctions and GetFunction. SigV4 as for Kinesis, or an API key; the caller needs `invoke` on
// `function:<name>` (admin on `*` will do). Errors are Lambda's: x-amzn-ErrorType and {Type, message}.
import { ClientAbortedError } from '../errors.js';
import { can, type Principal } from '../auth/scopes.js';
import { presentedKey } from '../auth/api-keys.js';
import { verifyRequest } from '../auth/sigv4.js';
import { readBody } from '../body.js';
import type { Gateway } from '../gateway.js';
import { discardUnreadBody, type GatewayRequest, type GatewayResponse } from '../request.js';
import { type Functions } from '../../functions/functions.js';
import { SYNC_PAYLOAD_LIMIT } from '../../functions/errors.js';
import { logTail } from '../../functions/logs.js';
import { LambdaError, toLambdaError } from './errors.js';
import { functionConfiguration, nameOf } from './describe.js';

export const LAMBDA_PREFIX = '/2015-03-31/functions';
const INVOCATION_TYPES = new Set(['RequestResponse', 'Event', 'DryRun']);

/** Whether a request is for the Lambda API. */
export const lambdaRequest = (path: string): boolean => path === LAMBDA_PREFIX || path.startsWith(`${LAMBDA_PREFIX}/`);

export class LambdaApi {
  constructor(private readonly gw: Gateway, private readonly functions: () => Functions | undefined) {}

  async handle(req: GatewayRequest, res: GatewayResponse, path: string): Promise<void> {
    let reserved = 0;
    const address = req.socket?.remoteAddress ?? 'unknown';
    try {
      const fns = this.functions();
      if (!fns) throw new LambdaError('ResourceNotFoundException', 'no functions are configured (sluice.config.ts: functions)', 404);
      const rest = path.slice(LAMBDA_PREFIX.length).replace(/^\/+/, '');
      const [rawName, action, extra] = rest.split('/');
      const body = await readBody(req, { maxBytes: SYNC_PAYLOAD_LIMIT, timeoutMs: this.gw.options.bodyTimeoutMs }, this.gw.admission, address);
      reserved = body.reserved;
      const principal = this.authenticate(req, body.data);
      const info = this.gw.requestInfo(req);
      if (!rawName) {
        if (req.method !== 'GET') throw new LambdaError('InvalidRequestContentException', `${req.method} is not an operation on ${LAMBDA_PREFIX}/`);
        if (info) info.route = 'lambda:ListFunctions';
        return send(res, 200, { Functions: fns.names().filter((n) => can(principal, `function:${n}`, 'invoke')).map((n) => functionConfiguration(fns.get(n))) });
      }
      const name = nameOf(decodeURIComponent(rawName));
      if (!can(principal, `function:${name}`, 'invoke')) throw new LambdaError('AccessDeniedException', `User: ${principal.id} is not authorized to perform: lambda:InvokeFunction on resource: function:${name}`, 403);
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
    const logType = req.headers['x-amz-log-type'];
    const result = await fns.invoke(name, body.toString('utf8'), type as 'RequestResponse');
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
    const result = verifyRequest(this.gw, req, body);
    if ('code' in result) {
      throw new LambdaError(result.code, result.message, 403);
    }
    return result;
  }
}

function send(res: GatewayResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  sendRaw(res, status, body === undefined ? '' : JSON.stringify(body), headers);
}

function sendRaw(res: GatewayResponse, status: number, text: string, headers: Record<string, string>): void {
  if (res.headersSent) return;
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

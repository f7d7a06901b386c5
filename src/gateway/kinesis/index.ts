// The Kinesis Data Streams API (JSON 1.1 protocol, `X-Amz-Target: Kinesis_20131202.<Op>`) on the
// gateway's port, so AWS SDK clients work unchanged. Requests are SigV4-verified against the
// configured key pairs; errors have Kinesis' shapes (`__type`, `message`, x-amzn-ErrorType).
import { EngineUnavailableError, InvalidArgumentError, StreamExistsError, StreamNotFoundError } from '../../engine/errors.js';
import { OPEN_PRINCIPAL, can, internalRefusal, type Action, type Principal } from '../auth/scopes.js';
import { verifySigV4 } from '../auth/sigv4.js';
import { ClientAbortedError, readBody } from '../body.js';
import type { Gateway } from '../gateway.js';
import { HttpError } from '../http-error.js';
import { sendJson, type GatewayRequest, type GatewayResponse } from '../request.js';
import { KinesisError } from './errors.js';
import { getRecords, getShardIterator, putRecord, putRecords } from './records.js';
import { createStream, deleteStream, describeStream, describeStreamSummary, listShards, listStreams } from './streams.js';

export const TARGET_PREFIX = 'Kinesis_20131202.';
export const MAX_KINESIS_BODY_BYTES = 8 * 1024 * 1024; // 5 MiB of records as base64, plus keys
const CONTENT_TYPE = 'application/x-amz-json-1.1';

export type Params = Record<string, unknown>;

export interface KinesisCall {
  gw: Gateway;
  params: Params;
  principal: Principal;
  client: string;
  /** Throws AccessDeniedException unless the caller may `action` the stream. */
  authorize(stream: string, action: Action): void;
}

type Operation = (call: KinesisCall) => Promise<unknown>;

const OPERATIONS: Record<string, Operation> = {
  CreateStream: createStream,
  DeleteStream: deleteStream,
  DescribeStream: describeStream,
  DescribeStreamSummary: describeStreamSummary,
  ListStreams: listStreams,
  ListShards: listShards,
  PutRecord: putRecord,
  PutRecords: putRecords,
  GetShardIterator: getShardIterator,
  GetRecords: getRecords,
};

export class KinesisApi {
  private readonly byAccessKey: Map<string, Principal>;

  constructor(private readonly gw: Gateway) {
    this.byAccessKey = new Map(gw.options.principals.filter((p) => p.accessKeyId).map((p) => [p.accessKeyId!, p]));
  }

  async handle(req: GatewayRequest, res: GatewayResponse): Promise<void> {
    let reserved = 0;
    const address = req.socket?.remoteAddress ?? 'unknown'; // body bytes are counted before we know who signed
    try {
      const target = String(req.headers['x-amz-target']);
      const op = target.startsWith(TARGET_PREFIX) ? OPERATIONS[target.slice(TARGET_PREFIX.length)] : undefined;
      if (!op) throw new KinesisError('UnknownOperationException', `unknown operation '${target}'`);
      const body = await readBody(req, { maxBytes: MAX_KINESIS_BODY_BYTES, timeoutMs: this.gw.options.bodyTimeoutMs }, this.gw.admission, address);
      reserved = body.reserved;
      const principal = this.authenticate(req, body.data);
      const params = parseParams(body.data);
      const call: KinesisCall = {
        gw: this.gw,
        params,
        principal,
        client: principal === OPEN_PRINCIPAL ? address : principal.id,
        authorize: (stream, action) => {
          const internal = internalRefusal(stream, action);
          if (internal) throw new KinesisError('AccessDeniedException', internal);
          if (!can(principal, stream, action)) {
            throw new KinesisError('AccessDeniedException', `User '${principal.id}' is not authorized to ${action} stream '${stream}'`);
          }
        },
      };
      sendJson(res, 200, (await op(call)) ?? {}, {}, CONTENT_TYPE);
    } catch (e) {
      if (e instanceof ClientAbortedError) return void res.destroy();
      const err = toKinesisError(e);
      const headers: Record<string, string> = { 'x-amzn-errortype': err.code, ...err.headers };
      if (!req.complete && req.httpVersionMajor === 1) headers.connection = 'close';
      sendJson(res, err.status, { __type: err.code, message: err.message }, headers, CONTENT_TYPE);
    } finally {
      if (reserved) this.gw.admission.release(address, reserved);
    }
  }

  private authenticate(req: GatewayRequest, body: Buffer): Principal {
    if (this.gw.open) return OPEN_PRINCIPAL;
    const result = verifySigV4({ method: req.method ?? 'POST', url: req.url ?? '/', headers: req.headers, body }, this.byAccessKey, this.gw.clock.now());
    if ('code' in result) {
      throw new KinesisError(result.code, result.message, result.code === 'MissingAuthenticationTokenException' ? 403 : 400);
    }
    return result;
  }
}

function parseParams(body: Buffer): Params {
  let v: unknown;
  try {
    v = body.length === 0 ? {} : JSON.parse(body.toString('utf8'));
  } catch (e) {
    throw new KinesisError('SerializationException', `the request body is not valid JSON: ${(e as Error).message}`);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new KinesisError('SerializationException', 'the request body must be a JSON object');
  return v as Params;
}

function toKinesisError(e: unknown): KinesisError {
  if (e instanceof KinesisError) return e;
  if (e instanceof StreamNotFoundError) return new KinesisError('ResourceNotFoundException', `Stream ${e.stream} under account 000000000000 not found.`);
  if (e instanceof StreamExistsError) return new KinesisError('ResourceInUseException', `Stream ${e.stream} under account 000000000000 already exists.`);
  if (e instanceof InvalidArgumentError) return new KinesisError('InvalidArgumentException', e.message);
  if (e instanceof EngineUnavailableError) return new KinesisError('ServiceUnavailable', e.message, 503, { 'retry-after': '1' });
  if (e instanceof HttpError) {
    if (e.status === 429) return new KinesisError('ProvisionedThroughputExceededException', e.message, 400, e.headers);
    if (e.status === 503) return new KinesisError('ServiceUnavailable', e.message, 503, e.headers);
    if (e.status === 413) return new KinesisError('ValidationException', e.message);
    if (e.status === 408) return new KinesisError('RequestTimeout', e.message, 408);
    return new KinesisError('InvalidArgumentException', e.message, e.status >= 500 ? 500 : 400, e.headers);
  }
  process.emitWarning(`sluice kinesis: ${(e as Error)?.stack ?? e}`);
  return new KinesisError('InternalFailure', 'internal error', 500);
}

// The Kinesis Data Streams API (JSON 1.1 protocol, `X-Amz-Target: Kinesis_20131202.<Op>`) on the
// gateway's port, so AWS SDK clients work unchanged. Requests are SigV4-verified against the
// configured key pairs and checked against the operation's shape (validation.ts); errors have
// Kinesis' shapes (`__type`, `message`, x-amzn-ErrorType).
import { EngineUnavailableError, InvalidArgumentError, StreamExistsError, StreamNotFoundError } from '../../engine/errors.js';
import { OPEN_PRINCIPAL, can, internalRefusal, type Principal } from '../auth/scopes.js';
import { verifyRequest } from '../auth/sigv4.js';
import { readBody } from '../body.js';
import {
  BadEncodingError, ClientAbortedError, isBodyTimeout, isOverloaded, isOverShare, isPayloadTooLarge, isRateLimited, isTooManyRecords, ShuttingDownError, UnsupportedEncodingError,
} from '../errors.js';
import type { Gateway } from '../gateway.js';
import { discardUnreadBody, type GatewayRequest, type GatewayResponse } from '../request.js';
import { describeLimits, updateStreamMode } from './capacity.js';
import { describeStream, describeStreamSummary, listShards, listStreams } from './describe.js';
import { ACCOUNT, KinesisError } from './errors.js';
import { getShardIterator } from './iterators.js';
import { errorBody, noOperation, parseBody, preflight, responseHeaders, send, unknownOperation } from './protocol.js';
import { getRecords, putRecord, putRecords } from './records.js';
import { decreaseStreamRetentionPeriod, increaseStreamRetentionPeriod } from './retention.js';
import { INPUTS, type OperationName } from './schemas.js';
import { createStream, deleteStream } from './streams.js';
import { addTagsToStream, listTagsForStream, removeTagsFromStream } from './tags.js';
import type { KinesisCall, Operation } from './types.js';
import { checkInput } from './validation.js';

export type { KinesisCall, Params } from './types.js';

export const TARGET_PREFIX = 'Kinesis_20131202.';
export const MAX_KINESIS_BODY_BYTES = 8 * 1024 * 1024; // 5 MiB of records as base64, plus keys

const RUN: Record<OperationName, Operation['run']> = {
  AddTagsToStream: addTagsToStream,
  CreateStream: createStream,
  DecreaseStreamRetentionPeriod: decreaseStreamRetentionPeriod,
  DeleteStream: deleteStream,
  DescribeLimits: describeLimits,
  DescribeStream: describeStream,
  DescribeStreamSummary: describeStreamSummary,
  GetRecords: getRecords,
  GetShardIterator: getShardIterator,
  IncreaseStreamRetentionPeriod: increaseStreamRetentionPeriod,
  ListShards: listShards,
  ListStreams: listStreams,
  ListTagsForStream: listTagsForStream,
  PutRecord: putRecord,
  PutRecords: putRecords,
  RemoveTagsFromStream: removeTagsFromStream,
  UpdateStreamMode: updateStreamMode,
};

const OPERATIONS = new Map<string, Operation>(Object.entries(RUN).map(([name, run]) => [name, { input: INPUTS[name as OperationName], run }]));

/** True for the requests the Kinesis API answers: every POST to `/`, and CORS preflights of `/`. */
export function kinesisRequest(req: GatewayRequest): boolean {
  if (new URL(req.url ?? '/', 'http://gateway').pathname !== '/') return false;
  return req.method === 'POST' || (req.method === 'OPTIONS' && req.headers['access-control-request-method'] !== undefined);
}

function operationOf(target: string): Operation {
  const op = target.startsWith(TARGET_PREFIX) ? OPERATIONS.get(target.slice(TARGET_PREFIX.length)) : undefined;
  if (!op) throw unknownOperation();
  return op;
}

export class KinesisApi {
  constructor(private readonly gw: Gateway) {}

  async handle(req: GatewayRequest, res: GatewayResponse): Promise<void> {
    if (req.method === 'OPTIONS') return preflight(req, res);
    const headers = responseHeaders(req);
    let reserved = 0;
    const address = req.socket?.remoteAddress ?? 'unknown'; // body bytes are counted before we know who signed
    try {
      const target = req.headers['x-amz-target'];
      if (target === undefined) {
        noOperation(req, res, headers);
        return discardUnreadBody(req);
      }
      const op = operationOf(String(target));
      if (this.gw.closing) throw new ShuttingDownError();
      const info = this.gw.requestInfo(req);
      if (info) info.route = `kinesis:${String(target).slice(TARGET_PREFIX.length)}`;
      const body = await readBody(req, { maxBytes: MAX_KINESIS_BODY_BYTES, timeoutMs: this.gw.options.bodyTimeoutMs }, this.gw.admission, address);
      reserved = body.reserved;
      const json = parseBody(body.data);
      const principal = this.authenticate(req, body.raw);
      const call = { ...this.callOf(principal, checkInput(json, op.input), address), info: this.gw.requestInfo(req) };
      send(res, 200, await op.run(call), headers);
    } catch (e) {
      if (e instanceof ClientAbortedError) return void res.destroy();
      const err = toKinesisError(e);
      const info = this.gw.requestInfo(req);
      if (info) info.code = err.code;
      if (err.status >= 500 && err.code === 'InternalFailure') this.gw.observer.log.error({ reqId: info?.id, err: (e as Error)?.stack ?? String(e) }, 'internal error answering a Kinesis request');
      send(res, err.status, errorBody(err), { ...closing(req, headers, isBodyTimeout(e)), 'x-amzn-errortype': err.code, ...err.headers });
      if (!isBodyTimeout(e)) discardUnreadBody(req); // any other unread body is read and dropped (bounded), so the client reads the answer
    } finally {
      if (reserved) this.gw.admission.release(address, reserved);
    }
  }

  private callOf(principal: Principal, params: KinesisCall['params'], address: string): KinesisCall {
    return {
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
  }

  private authenticate(req: GatewayRequest, body: Buffer): Principal {
    const result = verifyRequest(this.gw, req, body, 'kinesis');
    if ('code' in result) {
      throw new KinesisError(result.code, result.message, result.code === 'MissingAuthenticationTokenException' ? 403 : 400);
    }
    return result;
  }
}

/** A body that did not arrive in time is not waited for again: the connection closes after the answer. */
function closing(req: GatewayRequest, headers: Record<string, string>, timedOut = false): Record<string, string> {
  return timedOut && !req.complete && req.httpVersionMajor === 1 ? { ...headers, connection: 'close' } : headers;
}

function toKinesisError(e: unknown): KinesisError {
  if (e instanceof KinesisError) return e;
  if (e instanceof StreamNotFoundError) return new KinesisError('ResourceNotFoundException', `Stream ${e.stream} under account ${ACCOUNT} not found.`);
  if (e instanceof StreamExistsError) return new KinesisError('ResourceInUseException', `Stream ${e.stream} under account ${ACCOUNT} already exists.`);
  if (e instanceof InvalidArgumentError) return new KinesisError('InvalidArgumentException', e.message);
  if (e instanceof EngineUnavailableError) return new KinesisError('ServiceUnavailable', e.message, 503, { 'retry-after': '1' });
  if (isOverShare(e) || isRateLimited(e)) return new KinesisError('ProvisionedThroughputExceededException', e.message, 400, { 'retry-after': String(e.retryAfterS) });
  if (isOverloaded(e)) return new KinesisError('ServiceUnavailable', e.message, 503, { 'retry-after': String(e.retryAfterS) });
  if (isPayloadTooLarge(e) || isTooManyRecords(e)) return new KinesisError('ValidationException', e.message);
  if (isBodyTimeout(e)) return new KinesisError('RequestTimeout', e.message, 408);
  if (e instanceof UnsupportedEncodingError || e instanceof BadEncodingError) return new KinesisError('InvalidArgumentException', e.message);
  if (e instanceof ShuttingDownError) return new KinesisError('ServiceUnavailable', e.message, 503, { 'retry-after': '1' }); // HTTP/1.1 answers say close while draining (gateway.ts)
  return new KinesisError('InternalFailure', 'internal error', 500);
}

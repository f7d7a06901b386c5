// The one error type of the native HTTP API's edge: a status, a stable code, a message, optional
// details. Errors from the layers below (engine, gateway parts) are mapped to statuses here and
// nowhere else; the Kinesis API maps the same errors to its own shapes (kinesis/index.ts).
import { EngineUnavailableError, InvalidArgumentError, StreamExistsError, StreamNotFoundError } from '../engine/errors.js';
import { SluiceError } from '../errors.js';
import { BucketNotFoundError, InvalidBucketNameError } from '../objects/errors.js';
import {
  BadEncodingError, BodyTimeoutError, ForbiddenError, OverloadedError, OverShareError, PayloadTooLargeError, RateLimitedError,
  ShuttingDownError, TooManyRecordsError, UnauthenticatedError, UnsupportedEncodingError,
} from './errors.js';

export class HttpError extends SluiceError {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: Record<string, unknown> = {},
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

const retryAfter = (s: number) => ({ 'retry-after': String(s) });

/** Maps any thrown value to an HttpError (500 InternalError for what no layer raised on purpose). */
export function toHttpError(e: unknown): HttpError {
  if (e instanceof HttpError) return e;
  if (e instanceof StreamNotFoundError) return new HttpError(404, e.code, e.message, { stream: e.stream });
  if (e instanceof BucketNotFoundError) return new HttpError(404, 'NoSuchBucket', `bucket '${e.bucket}' does not exist`, { bucket: e.bucket });
  if (e instanceof InvalidBucketNameError) return new HttpError(400, e.code, e.message, { bucket: e.bucket });
  if (e instanceof StreamExistsError) return new HttpError(409, e.code, e.message, { stream: e.stream });
  if (e instanceof InvalidArgumentError) return new HttpError(400, e.code, e.message, e.field ? { field: e.field } : {});
  if (e instanceof EngineUnavailableError) return new HttpError(503, 'Unavailable', e.message, {}, retryAfter(1));
  if (e instanceof OverloadedError) return new HttpError(503, e.code, e.message, {}, retryAfter(e.retryAfterS));
  if (e instanceof OverShareError) return new HttpError(429, e.code, e.message, {}, retryAfter(e.retryAfterS));
  if (e instanceof RateLimitedError) return new HttpError(429, e.code, e.message, { limit: e.limit }, retryAfter(e.retryAfterS));
  if (e instanceof TooManyRecordsError) return new HttpError(413, e.code, e.message, { limit: e.limit });
  if (e instanceof PayloadTooLargeError) return new HttpError(413, e.code, e.message, { limit: e.limit });
  if (e instanceof BodyTimeoutError) return new HttpError(408, e.code, e.message);
  if (e instanceof UnsupportedEncodingError) return new HttpError(415, e.code, e.message);
  if (e instanceof BadEncodingError) return new HttpError(400, e.code, e.message);
  if (e instanceof UnauthenticatedError) return new HttpError(401, e.code, e.message, {}, { 'www-authenticate': 'Bearer' });
  if (e instanceof ForbiddenError) return new HttpError(403, e.code, e.message, { stream: e.stream, action: e.action });
  if (e instanceof ShuttingDownError) return new HttpError(503, e.code, e.message, {}, { ...retryAfter(1), connection: 'close' });
  return new HttpError(500, 'InternalError', 'internal error');
}

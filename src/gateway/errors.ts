// Errors of the gateway's shared parts (body reading, admission, rate limits, API keys, scopes),
// which both APIs use: each says what happened, never which status. The native API maps them in
// http-error.ts, the Kinesis API in kinesis/index.ts.
import { SluiceError } from '../errors.js';

/** The gateway holds as many request bytes, or waiting appends, as it may: try again shortly. */
export class OverloadedError extends SluiceError {
  readonly code = 'Overloaded';
  override readonly retriable = true;
  constructor(message: string, readonly retryAfterS: number) {
    super(message);
  }
}

/** One client holds more than its share of the gateway's in-flight bytes while it is full. */
export class OverShareError extends SluiceError {
  readonly code = 'TooManyRequests';
  override readonly retriable = true;
  constructor(readonly client: string, readonly retryAfterS: number) {
    super(`client '${client}' holds more than its share of in-flight bytes`);
  }
}

/** A client is over its records-per-second limit. */
export class RateLimitedError extends SluiceError {
  readonly code = 'RateLimited';
  override readonly retriable = true;
  constructor(readonly client: string, readonly limit: number, readonly retryAfterS: number) {
    super(`client '${client}' is over its limit of ${limit} records/s`);
  }
}

/** More records in one request than allowed (a request limit, or more than a rate limit's burst: waiting cannot help). */
export class TooManyRecordsError extends SluiceError {
  readonly code = 'TooManyRecords';
  constructor(message: string, readonly limit: number) {
    super(message);
  }
}

/** A body over the limit, by its declared length, its actual size, or once decompressed. */
export class PayloadTooLargeError extends SluiceError {
  readonly code = 'PayloadTooLarge';
  constructor(readonly limit: number, readonly decompressed = false) {
    super(`the ${decompressed ? 'decompressed ' : ''}request body is larger than ${limit} bytes`);
  }
}

/** A body that did not arrive within the body timeout. */
export class BodyTimeoutError extends SluiceError {
  readonly code = 'RequestTimeout';
  override readonly retriable = true;
  constructor(readonly timeoutMs: number) {
    super(`the request body did not arrive within ${timeoutMs} ms`);
  }
}

/** A Content-Encoding the gateway does not decode. */
export class UnsupportedEncodingError extends SluiceError {
  readonly code = 'UnsupportedEncoding';
  constructor(readonly encoding: string) {
    super(`content-encoding '${encoding}' is not supported; use gzip or none`);
  }
}

/** A gzip body that does not decode. */
export class BadEncodingError extends SluiceError {
  readonly code = 'BadEncoding';
  constructor(reason: string) {
    super(`the gzip body cannot be decoded: ${reason}`);
  }
}

/** The client went away mid-request: there is no one to answer. */
export class ClientAbortedError extends SluiceError {
  readonly code = 'ClientAborted';
  constructor() {
    super('client aborted the request');
  }
}

/** No credentials, or credentials that are not valid. */
export class UnauthenticatedError extends SluiceError {
  readonly code = 'Unauthenticated';
  constructor(message: string) {
    super(message);
  }
}

/** Valid credentials without the scope for the action (or an action no client may take). */
export class ForbiddenError extends SluiceError {
  readonly code = 'Forbidden';
  constructor(message: string, readonly stream: string, readonly action: string) {
    super(message);
  }
}

/** The gateway is draining for shutdown. */
export class ShuttingDownError extends SluiceError {
  readonly code = 'ShuttingDown';
  override readonly retriable = true;
  constructor() {
    super('the gateway is shutting down');
  }
}

export const isOverloaded = (e: unknown): e is OverloadedError => e instanceof OverloadedError;
export const isOverShare = (e: unknown): e is OverShareError => e instanceof OverShareError;
export const isRateLimited = (e: unknown): e is RateLimitedError => e instanceof RateLimitedError;
export const isTooManyRecords = (e: unknown): e is TooManyRecordsError => e instanceof TooManyRecordsError;
export const isPayloadTooLarge = (e: unknown): e is PayloadTooLargeError => e instanceof PayloadTooLargeError;
export const isBodyTimeout = (e: unknown): e is BodyTimeoutError => e instanceof BodyTimeoutError;
export const isClientAborted = (e: unknown): e is ClientAbortedError => e instanceof ClientAbortedError;
export const isUnauthenticated = (e: unknown): e is UnauthenticatedError => e instanceof UnauthenticatedError;
export const isForbidden = (e: unknown): e is ForbiddenError => e instanceof ForbiddenError;

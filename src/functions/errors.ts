// Errors of the function registry: each says what happened; the Lambda API edge maps them to AWS's
// exception names and statuses (gateway/lambda/), the native edge and the CLI to theirs.
import { SluiceError } from '../errors.js';

export class FunctionNotFoundError extends SluiceError {
  readonly code = 'FunctionNotFound';
  constructor(readonly fn: string) {
    super(`Function not found: ${fn}`);
  }
}

/** More invocations in flight than the function's concurrency: try again later. */
export class FunctionThrottledError extends SluiceError {
  readonly code = 'TooManyRequests';
  override readonly retriable = true;
  constructor(readonly fn: string, readonly concurrency: number) {
    super(`Rate Exceeded. Function '${fn}' is running ${concurrency} invocations, its concurrency`);
  }
}

/** A payload over Lambda's limits (6 MB synchronous, 256 KB asynchronous). */
export class RequestTooLargeError extends SluiceError {
  readonly code = 'RequestTooLarge';
  constructor(readonly size: number, readonly limit: number) {
    super(`Request must be smaller than ${limit} bytes for the ${limit === SYNC_PAYLOAD_LIMIT ? 'InvokeFunction' : 'InvokeAsync'} operation`);
  }
}

/** A payload that is not JSON. */
export class InvalidPayloadError extends SluiceError {
  readonly code = 'InvalidRequestContent';
  constructor(reason: string) {
    super(`Could not parse request body into json: ${reason}`);
  }
}

/** A handler module that does not load (missing, throws at import, no such export): the function cannot start. */
export class FunctionInitError extends SluiceError {
  readonly code = 'FunctionInitError';
  constructor(readonly fn: string, readonly file: string, message: string) {
    super(`function '${fn}': ${file}: ${message}`);
  }
}

export const SYNC_PAYLOAD_LIMIT = 6 * 1024 * 1024;
/** Lambda's limit on a synchronous invocation's response (6 MB and 100 bytes, as its error says). */
export const SYNC_RESPONSE_LIMIT = 6 * 1024 * 1024 + 100;
export const ASYNC_PAYLOAD_LIMIT = 256 * 1024;

export const isFunctionNotFound = (e: unknown): e is FunctionNotFoundError => e instanceof FunctionNotFoundError;
export const isFunctionThrottled = (e: unknown): e is FunctionThrottledError => e instanceof FunctionThrottledError;

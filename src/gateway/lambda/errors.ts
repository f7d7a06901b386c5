// Lambda API errors: AWS's exception names (x-amzn-ErrorType) and statuses, chosen here for the
// registry's and the gateway's domain errors.
import { SluiceError } from '../../errors.js';
import { FunctionInitError, FunctionNotFoundError, FunctionThrottledError, InvalidPayloadError, RequestTooLargeError } from '../../functions/errors.js';
import {
  BadEncodingError, BodyTimeoutError, OverloadedError, OverShareError, PayloadTooLargeError, RateLimitedError, ShuttingDownError, UnauthenticatedError, UnsupportedEncodingError,
} from '../errors.js';
import type { Gateway } from '../gateway.js';

export class LambdaError extends SluiceError {
  constructor(readonly code: string, message: string, readonly status = 400, readonly headers: Record<string, string> = {}) {
    super(message);
  }
}

/** The Lambda shape of any error (ServiceException 500 for what no layer raised on purpose, logged). */
export function toLambdaError(e: unknown, gw: Gateway): LambdaError {
  if (e instanceof LambdaError) return e;
  if (e instanceof FunctionNotFoundError) return new LambdaError('ResourceNotFoundException', `Function not found: arn:aws:lambda:${gw.options.region}:000000000000:function:${e.fn}`, 404);
  if (e instanceof FunctionThrottledError) return new LambdaError('TooManyRequestsException', 'Rate Exceeded.', 429, { 'retry-after': '1' });
  if (e instanceof RequestTooLargeError || e instanceof PayloadTooLargeError) return new LambdaError('RequestTooLargeException', e instanceof RequestTooLargeError ? e.message : `Request must be smaller than ${e.limit} bytes for the InvokeFunction operation`, 413);
  if (e instanceof InvalidPayloadError) return new LambdaError('InvalidRequestContentException', e.message, 400);
  if (e instanceof FunctionInitError) return new LambdaError('ServiceException', e.message, 500);
  if (e instanceof UnauthenticatedError) return new LambdaError('UnrecognizedClientException', e.message, 403);
  if (e instanceof OverloadedError) return new LambdaError('ServiceException', e.message, 503, { 'retry-after': String(e.retryAfterS) });
  if (e instanceof OverShareError || e instanceof RateLimitedError) return new LambdaError('TooManyRequestsException', e.message, 429, { 'retry-after': String(e.retryAfterS) });
  if (e instanceof BodyTimeoutError) return new LambdaError('RequestTimeout', e.message, 408);
  if (e instanceof UnsupportedEncodingError) return new LambdaError('UnsupportedMediaTypeException', e.message, 415);
  if (e instanceof BadEncodingError) return new LambdaError('InvalidRequestContentException', e.message, 400);
  if (e instanceof ShuttingDownError) return new LambdaError('ServiceException', e.message, 503, { 'retry-after': '1' }); // HTTP/1.1 answers say close while draining (gateway.ts)
  gw.observer.log.error({ err: (e as Error)?.stack ?? String(e) }, 'internal error answering a Lambda request');
  return new LambdaError('ServiceException', 'internal error', 500);
}

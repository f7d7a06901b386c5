// The one error type of the HTTP edge: a status, a stable code, a message, optional details.
// Errors from the layers below are mapped to statuses here and nowhere else.
import { EngineUnavailableError, InvalidArgumentError, StreamExistsError, StreamNotFoundError } from '../engine/errors.js';

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: Record<string, unknown> = {},
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

/** Maps any thrown value to an HttpError. */
export function toHttpError(e: unknown): HttpError {
  if (e instanceof HttpError) return e;
  if (e instanceof StreamNotFoundError) return new HttpError(404, 'StreamNotFound', e.message, { stream: e.stream });
  if (e instanceof StreamExistsError) return new HttpError(409, 'StreamExists', e.message, { stream: e.stream });
  if (e instanceof InvalidArgumentError) return new HttpError(400, 'InvalidArgument', e.message, e.field ? { field: e.field } : {});
  if (e instanceof EngineUnavailableError) return new HttpError(503, 'Unavailable', e.message, {}, { 'retry-after': '1' });
  return new HttpError(500, 'InternalError', 'internal error');
}

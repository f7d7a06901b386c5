// A call that did not finish within its timeout.
import { SluiceError } from '../../errors.js';

/** The call ran past its timeout; the caller was released at the deadline. Retriable. */
export class TimeoutError extends SluiceError {
  readonly code = 'Timeout';
  override readonly retriable = true;
  constructor(readonly timeoutMs: number) {
    super(`the call did not finish within ${timeoutMs} ms`);
  }
}

export const isTimeoutError = (e: unknown): e is TimeoutError => e instanceof TimeoutError;

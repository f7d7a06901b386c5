// The marker a function throws to say "do not try this again", whatever its cause looks like.
import { SluiceError } from '../../errors.js';

/**
 * Thrown (usually wrapping the original error as `cause`) to stop every retry: classify() calls it
 * fatal before looking at anything else. As bullmq's UnrecoverableError.
 */
export class NonRetriableError extends SluiceError {
  readonly code = 'NonRetriable';
  override readonly retriable = false;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

export const isNonRetriableError = (e: unknown): e is NonRetriableError => e instanceof NonRetriableError;

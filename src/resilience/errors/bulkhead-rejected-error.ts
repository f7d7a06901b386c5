// A call refused by a bulkhead whose slots and queue are full.
import { SluiceError } from '../../errors.js';

/** Every slot is taken and the queue is full: the call was not started. Retriable. */
export class BulkheadRejectedError extends SluiceError {
  readonly code = 'BulkheadRejected';
  override readonly retriable = true;
  constructor(readonly dependency: string, readonly maxConcurrent: number, readonly maxQueued: number) {
    super(`'${dependency}' has ${maxConcurrent} calls running and ${maxQueued} queued`);
  }
}

export const isBulkheadRejectedError = (e: unknown): e is BulkheadRejectedError => e instanceof BulkheadRejectedError;

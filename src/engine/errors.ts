// Errors raised by engines. Every engine raises the same classes so the layers above never
// depend on which engine runs.
import { SluiceError } from '../errors.js';

export class StreamNotFoundError extends SluiceError {
  readonly code = 'StreamNotFound';
  constructor(readonly stream: string) {
    super(`stream '${stream}' does not exist`);
  }
}

export class StreamExistsError extends SluiceError {
  readonly code = 'StreamExists';
  constructor(readonly stream: string) {
    super(`stream '${stream}' already exists`);
  }
}

export class InvalidArgumentError extends SluiceError {
  readonly code = 'InvalidArgument';
  constructor(message: string, readonly field?: string) {
    super(message);
  }
}

/** A compare-and-set precondition failed: someone else wrote first, or a fencing token is stale. */
export class ConflictError extends SluiceError {
  readonly code = 'Conflict';
  constructor(readonly key: string, readonly expected: number, readonly actual: number) {
    super(`state '${key}' is at version ${actual}, expected ${expected}`);
  }
}

export class EngineClosedError extends SluiceError {
  readonly code = 'EngineClosed';
  constructor() {
    super('the engine is closed');
  }
}

/** The engine cannot take the work now (busy, unreachable); the same call may succeed later. */
export class EngineUnavailableError extends SluiceError {
  readonly code = 'EngineUnavailable';
  override readonly retriable = true;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

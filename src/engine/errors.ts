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
  /** `of` says what `key` names: a state key (default) or an object name. */
  constructor(readonly key: string, readonly expected: number, readonly actual: number, readonly of: 'state' | 'object' = 'state') {
    super(`${of} '${key}' is at version ${actual}, expected ${expected}`);
  }
}

/**
 * The storage has no room left (sqlite: ENOSPC/EDQUOT or SQLITE_FULL; nats: JetStream's storage
 * limits). Nothing partial is visible. Not retriable: the same call fails until space is freed.
 */
export class StorageFullError extends SluiceError {
  readonly code = 'StorageFull';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** A staged body ran past its byte limit (S3's EntityTooLarge); nothing was kept. */
export class ObjectTooLargeError extends SluiceError {
  readonly code = 'ObjectTooLarge';
  constructor(readonly limit: number) {
    super(`the object is larger than ${limit} bytes`);
  }
}

/** A byte range that starts at or past the object's end (S3's InvalidRange, HTTP 416). */
export class InvalidRangeError extends SluiceError {
  readonly code = 'InvalidRange';
  constructor(readonly object: string, readonly size: number, readonly start: number) {
    super(`object '${object}' has ${size} bytes; a range cannot start at ${start}`);
  }
}

export const isStorageFullError = (e: unknown): e is StorageFullError => e instanceof StorageFullError;

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

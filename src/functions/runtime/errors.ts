// Errors of the function runtimes and of the Sluice client handlers get in their context. One class
// per failure mode, each with a guard; guards also match by name and code, because a handler may
// hold another copy of this module (the package's build) than the runtime that threw.
import { SluiceError } from '../../errors.js';
import type { FunctionError, LogLine } from './types.js';

const hasCode = (e: unknown, name: string, code: string): boolean =>
  !!e && typeof e === 'object' && (e as { name?: unknown }).name === name && (e as { code?: unknown }).code === code;

/** The function's module failed to load (missing, threw at import, no such export): warm() and reload() reject with it. */
export class FunctionInitError extends SluiceError {
  readonly code = 'FunctionInitError';
  /** `logs`: what the module wrote while it loaded, and Lambda's "Uncaught Exception" line. */
  constructor(readonly functionName: string, readonly file: string, readonly error: FunctionError, readonly logs: LogLine[] = []) {
    super(`function '${functionName}' could not load ${file}: ${error.errorType}: ${error.errorMessage}`);
  }
}
export const isFunctionInitError = (e: unknown): e is FunctionInitError => e instanceof FunctionInitError;

/** The runtime was closed: it takes no more invocations. */
export class RuntimeClosedError extends SluiceError {
  readonly code = 'RuntimeClosed';
  constructor(readonly functionName: string) {
    super(`function '${functionName}' is closed: it takes no more invocations`);
  }
}
export const isRuntimeClosedError = (e: unknown): e is RuntimeClosedError => e instanceof RuntimeClosedError;

/** A RuntimeSpec field is out of range (the registry validates config first; this guards the runtime itself). */
export class InvalidRuntimeSpecError extends SluiceError {
  readonly code = 'InvalidRuntimeSpec';
  constructor(readonly field: string, message: string) {
    super(`${field}: ${message}`);
  }
}

/**
 * The gateway refused the function's key (403): the message names the missing permission, as the
 * gateway words it ("key 'fn-x' may not write stream 'orders'").
 */
export class PermissionDeniedError extends SluiceError {
  readonly code = 'PermissionDenied';
  constructor(message: string, readonly stream: string | undefined, readonly action: string | undefined) {
    super(message);
  }
}
export const isPermissionDeniedError = (e: unknown): e is PermissionDeniedError =>
  e instanceof PermissionDeniedError || hasCode(e, 'PermissionDeniedError', 'PermissionDenied');

/** The gateway answered an append with another error (its status and error code). */
export class SluiceRequestError extends SluiceError {
  override readonly retriable: boolean;
  constructor(readonly status: number, readonly code: string, message: string) {
    super(message);
    this.retriable = status === 429 || status === 503;
  }
}
export const isSluiceRequestError = (e: unknown): e is SluiceRequestError =>
  e instanceof SluiceRequestError || (!!e && typeof e === 'object' && (e as { name?: unknown }).name === 'SluiceRequestError');

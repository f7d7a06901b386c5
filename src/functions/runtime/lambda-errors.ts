// Lambda's Node.js error shapes, as its runtime interface client reports them: what the Invoke API
// answers ({ errorType, errorMessage, trace }) and what the runtime logs ("Invoke Error \t{…}").
import { types } from 'node:util';
import type { FunctionError } from './types.js';

interface ErrorLike {
  name: string;
  message: string;
  stack: string;
}

const isErrorLike = (e: unknown): e is ErrorLike => {
  const o = e as Partial<ErrorLike> | null | undefined;
  return !!o && typeof o.name === 'string' && !!o.name && typeof o.message === 'string' && !!o.message && typeof o.stack === 'string' && !!o.stack;
};

/** An error as the Invoke API answers it: name, message and stack lines; `typeof` and text for a thrown non-error. */
export function toFunctionError(e: unknown): FunctionError {
  try {
    if (types.isNativeError(e) || isErrorLike(e)) {
      const err = e as ErrorLike;
      return { errorType: err.name, errorMessage: err.message, trace: err.stack.split('\n') };
    }
    return { errorType: typeof e, errorMessage: (e as { toString(): string }).toString(), trace: [] };
  } catch {
    // Lambda's own words when name, message or stack cannot be read (a getter that throws, no stack).
    return {
      errorType: 'handled',
      errorMessage: 'callback called with Error argument, but there was a problem while retrieving one or more of its message, name, and stack',
      trace: [],
    };
  }
}

/** A thrown non-error turned into an Error, for logging (Lambda's intoError). */
export const intoError = (e: unknown): Error => (e instanceof Error ? e : new Error(e as string));

/** The JSON Lambda logs after "Invoke Error": errorType, errorMessage, code, own fields, stack lines; tab first. */
export function formatErrorForLog(e: unknown): string {
  try {
    return '\t' + JSON.stringify(e, (_key, value: unknown) => (value instanceof Error ? withFields(value) : value));
  } catch {
    return '\t' + JSON.stringify(toFunctionError(e));
  }
}

function withFields(e: Error): Record<string, unknown> {
  const out: Record<string, unknown> = { errorType: e.name, errorMessage: e.message, code: (e as { code?: unknown }).code, ...e };
  if (typeof e.stack === 'string') out.stack = e.stack.split('\n');
  return out;
}

/** Lambda's runtime error classes: their names are `Runtime.<Class>`. */
class RuntimeError extends Error {
  constructor(kind: string, reason: unknown) {
    super(reason as string);
    this.name = `Runtime.${kind}`;
  }
}

/** A promise rejected with no handler during an invocation (errorMessage is the reason as text, e.g. "Error: boom"). */
export class UnhandledPromiseRejection extends RuntimeError {
  constructor(readonly reason: unknown) {
    super('UnhandledPromiseRejection', reason);
  }
}

/** The module could not be found (or one it imports). The message is the original error as text. */
export const importModuleError = (cause: unknown): Error => new RuntimeError('ImportModuleError', cause);
/** The module has a syntax error. */
export const userCodeSyntaxError = (cause: unknown): Error => new RuntimeError('UserCodeSyntaxError', cause);
/** The export is missing, or is not a function; `handler` is Lambda's handler string (`listener.handler`). */
export const handlerNotFound = (handler: string, missing: boolean): Error =>
  new RuntimeError('HandlerNotFound', missing ? `${handler} is undefined or not exported` : `${handler} is not a function`);

/** The result could not be serialised (a cycle, a BigInt): Lambda's error for it. */
export const unserialisableResult = (): Error => new Error('Unable to stringify response body');

/** Lambda's timeout: `Task timed out after 3.00 seconds`. */
export const timeoutError = (timeoutMs: number): FunctionError => ({
  errorType: 'Sandbox.Timedout',
  errorMessage: `Task timed out after ${(timeoutMs / 1000).toFixed(2)} seconds`,
  trace: [],
});

/** The module did not finish loading within the init phase's limit (Lambda's is 10 s). */
export const initTimeoutError = (initTimeoutMs: number): FunctionError => ({
  errorType: 'Sandbox.Timedout',
  errorMessage: `Init timed out after ${(initTimeoutMs / 1000).toFixed(2)} seconds`,
  trace: [],
});

/**
 * The worker passed its memory limit. Lambda says `Runtime exited with error: signal: killed` when its
 * cgroup kills the sandbox; here V8 stops the worker at its heap limit, so the text says that.
 */
export const outOfMemoryError = (): FunctionError => ({
  errorType: 'Runtime.OutOfMemory',
  errorMessage: 'Runtime exited with error: JavaScript heap out of memory',
  trace: [],
});

const SIGNAL_WORDS: Record<string, string> = { SIGKILL: 'killed', SIGABRT: 'aborted', SIGSEGV: 'segmentation fault', SIGTERM: 'terminated', SIGINT: 'interrupt', SIGBUS: 'bus error' };

/** The worker ended during an invocation (process.exit, a crash): Lambda's `Runtime.ExitError` texts. */
export function exitError(code: number | null, signal: string | null): FunctionError {
  const how = signal ? `signal: ${SIGNAL_WORDS[signal] ?? signal.toLowerCase()}` : code ? `exit status ${code}` : null;
  return {
    errorType: 'Runtime.ExitError',
    errorMessage: how ? `Runtime exited with error: ${how}` : 'Runtime exited without providing a reason',
    trace: [],
  };
}

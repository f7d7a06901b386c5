// One classification of errors for all of Sluice: may the same call succeed if tried again?
// Only errors known to be transient are retriable; anything unknown is fatal, so a bug is not
// retried into a storm. Why these lists: docs/decisions/016-resilience-policies.md.
import { SluiceError } from '../errors.js';
import { NonRetriableError } from './errors/non-retriable-error.js';

export type Classification = 'retriable' | 'fatal';

/** Node socket and DNS errors that say "not now" rather than "never". */
const NETWORK_RETRIABLE = new Set([
  'ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN',
  'ECONNABORTED', 'EHOSTUNREACH', 'ENETUNREACH', 'ENETDOWN', 'EHOSTDOWN',
]);

/** undici (and so fetch) errors that are the caller's mistake or final: every other UND_ERR_* is retriable. */
const UNDICI_FATAL = new Set([
  'UND_ERR_ABORTED', 'UND_ERR_INVALID_ARG', 'UND_ERR_INVALID_RETURN_VALUE', 'UND_ERR_NOT_SUPPORTED',
  'UND_ERR_REQ_CONTENT_LENGTH_MISMATCH', 'UND_ERR_RES_EXCEEDED_MAX_SIZE', 'UND_ERR_DESTROYED', 'UND_ERR_CLOSED',
]);

/** PostgreSQL SQLSTATE codes (and two-character classes) worth retrying. */
const SQLSTATE_RETRIABLE_CLASSES = new Set(['08', '53']); // connection exception, insufficient resources
const SQLSTATE_RETRIABLE = new Set([
  '40001', // serialization_failure
  '40P01', // deadlock_detected
  '55P03', // lock_not_available
  '57P01', '57P02', '57P03', // admin_shutdown, crash_shutdown, cannot_connect_now
]);
const SQLSTATE = /^[0-9A-Z]{5}$/;

const MAX_CAUSE_DEPTH = 8;

/** An abort (the caller's signal, or Node's / the DOM's AbortError): never worth retrying. */
export function isAbortError(e: unknown): boolean {
  if (typeof e !== 'object' || e === null) return false;
  const { name, code } = e as { name?: unknown; code?: unknown };
  return name === 'AbortError' || code === 'ABORT_ERR';
}

/** HTTP statuses worth retrying: 408, 425, 429 and 5xx. */
export function isRetriableStatus(status: number): boolean {
  return status === 408 || status === 425 || status === 429 || (status >= 500 && status <= 599);
}

/** A PostgreSQL SQLSTATE worth retrying (classes 08 and 53, 40001, 40P01, 55P03, 57P01-03). */
export function isRetriableSqlState(code: string): boolean {
  return SQLSTATE_RETRIABLE.has(code) || SQLSTATE_RETRIABLE_CLASSES.has(code.slice(0, 2));
}

/**
 * 'retriable' when trying the same call again may succeed, else 'fatal'. In order: the
 * NonRetriableError marker and aborts are fatal; a SluiceError says itself (`retriable`); a
 * TimeoutError (AbortSignal.timeout's) is retriable; an HTTP
 * status carried as `status` / `statusCode`; a Node network, undici or PostgreSQL `code`; an
 * explicit boolean `retriable`; an AggregateError by its errors (all retriable); else the `cause`.
 * Anything else is fatal.
 */
export function classify(e: unknown): Classification {
  return classifyAt(e, 0);
}

/** classify(e) === 'retriable'. */
export const isRetriableError = (e: unknown): boolean => classifyAt(e, 0) === 'retriable';

function classifyAt(e: unknown, depth: number): Classification {
  if (typeof e !== 'object' || e === null) return 'fatal';
  if (e instanceof NonRetriableError || isAbortError(e)) return 'fatal';
  if (e instanceof SluiceError) return e.retriable ? 'retriable' : 'fatal';
  if ((e as { name?: unknown }).name === 'TimeoutError') return 'retriable'; // AbortSignal.timeout()'s DOMException
  const o = e as { status?: unknown; statusCode?: unknown; code?: unknown; retriable?: unknown; errors?: unknown; cause?: unknown };
  const status = typeof o.status === 'number' ? o.status : o.statusCode;
  if (typeof status === 'number' && status >= 100 && status <= 599) return isRetriableStatus(status) ? 'retriable' : 'fatal';
  if (typeof o.code === 'string') {
    const byCode = classifyCode(o.code);
    if (byCode) return byCode;
  }
  if (typeof o.retriable === 'boolean') return o.retriable ? 'retriable' : 'fatal';
  if (e instanceof AggregateError && Array.isArray(o.errors) && o.errors.length > 0) {
    return o.errors.every((x) => classifyAt(x, depth + 1) === 'retriable') ? 'retriable' : 'fatal';
  }
  if (o.cause !== undefined && depth < MAX_CAUSE_DEPTH) return classifyAt(o.cause, depth + 1);
  return 'fatal';
}

/** A verdict from an error code, or undefined when the code is not one we know. */
function classifyCode(code: string): Classification | undefined {
  if (NETWORK_RETRIABLE.has(code)) return 'retriable';
  if (code.startsWith('UND_ERR_')) return UNDICI_FATAL.has(code) ? 'fatal' : 'retriable';
  if (SQLSTATE.test(code)) return isRetriableSqlState(code) ? 'retriable' : 'fatal';
  return undefined;
}

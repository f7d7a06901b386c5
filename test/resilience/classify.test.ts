// One classification for all of Sluice (src/resilience/classify.ts): which errors may succeed if tried again.
import { describe, expect, it } from 'vitest';
import { EngineUnavailableError, StreamNotFoundError } from '../../src/engine/errors.js';
import { PayloadTooLargeError, RateLimitedError } from '../../src/gateway/errors.js';
import { BrokenCircuitError } from '../../src/resilience/errors/broken-circuit-error.js';
import { BulkheadRejectedError } from '../../src/resilience/errors/bulkhead-rejected-error.js';
import { NonRetriableError } from '../../src/resilience/errors/non-retriable-error.js';
import { TimeoutError } from '../../src/resilience/errors/timeout-error.js';
import { classify, isRetriableError } from '../../src/resilience/classify.js';
import { parseRetryAfter, retryAfterMsOf } from '../../src/resilience/retry-after.js';
import { httpError, pgError } from './support.js';

describe('SluiceError', () => {
  it('is classified by its own retriable flag', () => {
    expect(classify(new EngineUnavailableError('busy'))).toBe('retriable');
    expect(classify(new RateLimitedError('k', 10, 1))).toBe('retriable');
    expect(classify(new StreamNotFoundError('s'))).toBe('fatal');
    expect(classify(new PayloadTooLargeError(10))).toBe('fatal');
  });

  it('the resilience errors: a timeout, an open circuit and a full bulkhead are retriable', () => {
    expect(classify(new TimeoutError(100))).toBe('retriable');
    expect(classify(new BrokenCircuitError('pg', 'open', 10, 10))).toBe('retriable');
    expect(classify(new BulkheadRejectedError('pg', 1, 0))).toBe('retriable');
  });
});

describe('HTTP status', () => {
  it.each([408, 425, 429, 500, 502, 503, 504, 599])('%i is retriable', (status) => {
    expect(classify(httpError(status))).toBe('retriable');
    expect(classify(httpError(status, 'statusCode'))).toBe('retriable');
  });

  it.each([400, 401, 403, 404, 409, 413, 422])('%i is fatal', (status) => {
    expect(classify(httpError(status))).toBe('fatal');
    expect(classify(httpError(status, 'statusCode'))).toBe('fatal');
  });
});

describe('Node network errors', () => {
  it.each(['ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH'])('%s is retriable', (code) => {
    expect(classify(Object.assign(new Error(code), { code, syscall: 'connect' }))).toBe('retriable');
  });

  it('ENOTFOUND (no such host) and other system errors are fatal', () => {
    expect(classify(Object.assign(new Error('x'), { code: 'ENOTFOUND' }))).toBe('fatal');
    expect(classify(Object.assign(new Error('x'), { code: 'EACCES' }))).toBe('fatal');
  });

  it.each(['UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT'])('undici %s is retriable', (code) => {
    expect(classify(Object.assign(new Error(code), { code }))).toBe('retriable');
  });

  it.each(['UND_ERR_INVALID_ARG', 'UND_ERR_ABORTED', 'UND_ERR_NOT_SUPPORTED', 'UND_ERR_REQ_CONTENT_LENGTH_MISMATCH'])('undici %s (a caller mistake or an abort) is fatal', (code) => {
    expect(classify(Object.assign(new Error(code), { code }))).toBe('fatal');
  });

  it("fetch's TypeError('fetch failed') is classified by its cause", () => {
    const socket = Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET' });
    expect(classify(new TypeError('fetch failed', { cause: socket }))).toBe('retriable');
    const refused = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    expect(classify(new TypeError('fetch failed', { cause: refused }))).toBe('retriable');
    expect(classify(new TypeError('fetch failed', { cause: new Error('invalid URL') }))).toBe('fatal');
  });

  it('an AggregateError (every address refused) is retriable when all its errors are', () => {
    const refused = () => Object.assign(new Error('refused'), { code: 'ECONNREFUSED' });
    expect(classify(new AggregateError([refused(), refused()]))).toBe('retriable');
    expect(classify(new AggregateError([refused(), new Error('bug')]))).toBe('fatal');
  });
});

describe('PostgreSQL SQLSTATE codes (pg errors carry them as code)', () => {
  it.each([
    ['08000', 'connection_exception'], ['08006', 'connection_failure'], ['08001', 'sqlclient_unable_to_establish_sqlconnection'],
    ['40001', 'serialization_failure'], ['40P01', 'deadlock_detected'],
    ['53000', 'insufficient_resources'], ['53300', 'too_many_connections'],
    ['57P01', 'admin_shutdown'], ['57P02', 'crash_shutdown'], ['57P03', 'cannot_connect_now'],
    ['55P03', 'lock_not_available'],
  ])('%s (%s) is retriable', (code) => {
    expect(classify(pgError(code))).toBe('retriable');
  });

  it.each([
    ['22001', 'string_data_right_truncation'], ['22P02', 'invalid_text_representation'],
    ['23505', 'unique_violation'], ['23503', 'foreign_key_violation'],
    ['42601', 'syntax_error'], ['42P01', 'undefined_table'], ['42703', 'undefined_column'],
    ['40002', 'transaction_integrity_constraint_violation'], ['57014', 'query_canceled'],
  ])('%s (%s) is fatal', (code) => {
    expect(classify(pgError(code))).toBe('fatal');
  });
});

describe('aborts and markers', () => {
  it('an AbortError is never retriable, whatever it wraps', () => {
    const controller = new AbortController();
    controller.abort();
    expect(classify(controller.signal.reason)).toBe('fatal'); // DOMException AbortError
    const nodeAbort = Object.assign(new Error('aborted'), { name: 'AbortError', code: 'ABORT_ERR' });
    expect(classify(nodeAbort)).toBe('fatal');
    expect(classify(Object.assign(new Error('aborted'), { name: 'AbortError', cause: httpError(503) }))).toBe('fatal');
  });

  it("AbortSignal.timeout()'s TimeoutError (a library's own deadline) is retriable, unlike an abort", () => {
    const timedOut = new DOMException('The operation was aborted due to timeout', 'TimeoutError');
    expect(classify(timedOut)).toBe('retriable');
  });

  it('NonRetriableError is fatal even around a retriable cause', () => {
    expect(classify(new NonRetriableError('give up', { cause: new EngineUnavailableError('busy') }))).toBe('fatal');
  });

  it('an explicit boolean retriable on any error is honoured', () => {
    expect(classify(Object.assign(new Error('x'), { retriable: true }))).toBe('retriable');
    expect(classify(Object.assign(new Error('x'), { retriable: false, cause: httpError(503) }))).toBe('fatal');
  });

  it('an unknown error, a bug or a thrown non-error is fatal', () => {
    expect(classify(new Error('something'))).toBe('fatal');
    expect(classify(new TypeError('x is not a function'))).toBe('fatal');
    expect(classify('a string')).toBe('fatal');
    expect(classify(undefined)).toBe('fatal');
    expect(isRetriableError(null)).toBe(false);
  });

  it('isRetriableError agrees with classify', () => {
    expect(isRetriableError(pgError('40001'))).toBe(true);
    expect(isRetriableError(pgError('23505'))).toBe(false);
  });
});

describe('retry-after hints', () => {
  it('reads retryAfterMs, or retryAfterS as the gateway errors carry it, on the error or its cause', () => {
    expect(retryAfterMsOf(new RateLimitedError('k', 10, 2))).toBe(2000);
    expect(retryAfterMsOf(Object.assign(new Error('x'), { retryAfterMs: 350 }))).toBe(350);
    expect(retryAfterMsOf(new Error('wrapped', { cause: new RateLimitedError('k', 10, 3) }))).toBe(3000);
    expect(retryAfterMsOf(new BrokenCircuitError('pg', 'open', 5000, 4000))).toBe(4000);
  });

  it('has none for errors without one, or with a value that is not a duration', () => {
    expect(retryAfterMsOf(new Error('x'))).toBeUndefined();
    expect(retryAfterMsOf(Object.assign(new Error('x'), { retryAfterS: -1 }))).toBeUndefined();
    expect(retryAfterMsOf(Object.assign(new Error('x'), { retryAfterMs: 'soon' }))).toBeUndefined();
    expect(retryAfterMsOf(new BrokenCircuitError('pg', 'half-open', undefined, undefined))).toBeUndefined();
  });
});

describe('the Retry-After header', () => {
  const now = Date.UTC(2026, 11, 2, 12, 0, 0);
  it('reads delay-seconds and HTTP dates (a date past is 0)', () => {
    expect(parseRetryAfter('120', now)).toBe(120_000);
    expect(parseRetryAfter(' 0 ', now)).toBe(0);
    expect(parseRetryAfter('Wed, 02 Dec 2026 12:00:30 GMT', now)).toBe(30_000);
    expect(parseRetryAfter('Wed, 02 Dec 2026 11:00:00 GMT', now)).toBe(0);
  });

  it('has none when absent, empty, negative, fractional or not a date', () => {
    for (const v of [null, undefined, '', '  ', '-1', '1.5', 'soon', '1e3']) expect(parseRetryAfter(v, now)).toBeUndefined();
  });
});

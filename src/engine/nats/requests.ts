// Every request the nats engine makes to nats-server goes through one resilience Dependency,
// 'nats': a timeout, retries with full-jitter backoff within the shared retry budgets, a circuit
// breaker. What may be repeated is decided per request here: an idempotent one (a read, a put, a
// publish under its message id while the duplicate window covers the retry) is retried on any
// retriable error; a compare-and-set is retried only when its error proves it never ran.
import type { Clock } from '../../clock.js';
import { SluiceError } from '../../errors.js';
import {
  BrokenCircuitError, classify, Dependencies, type Dependency, type DependencyOptions, defaultRetryOn, fullJitterBound, TimeoutError,
} from '../../resilience/index.js';
import { EngineUnavailableError, InvalidArgumentError } from '../errors.js';

/** The dependency's name in stats, metrics and `sluice dependencies`. */
export const NATS_DEPENDENCY = 'nats';

/** Attempts of one request in all: the first and three retries (the engine's publish made 4 before the policies). */
export const DEFAULT_NATS_MAX_ATTEMPTS = 4;
export const DEFAULT_NATS_BASE_DELAY_MS = 250;
export const DEFAULT_NATS_MAX_DELAY_MS = 2_000; // a retry waits at most this: appends wait on it
/** The policy's deadline is the client's request timeout plus this: the client answers first, naming the request. */
export const NATS_TIMEOUT_GRACE_MS = 1_000;

/** The 'nats' dependency's policies, when the engine makes it. */
export type NatsPolicyOptions = Omit<DependencyOptions, 'clock' | 'sharedBudgets'>;

export interface NatsRequestsOptions {
  /**
   * The process's dependencies: requests go through `dependencies.policyFor('nats')`, with its
   * server-wide budget (made with `policies` unless it exists already). Default: the engine's own.
   */
  dependencies?: Dependencies;
  /**
   * Policies of 'nats' when the engine makes it, each field given replacing its default, a part
   * `false` leaving it out. Default: timeout requestTimeoutMs + 1 s; 4 attempts, backoff 250 ms to
   * 2 s; the breaker and the budget with their defaults; no bulkhead (one multiplexed connection:
   * the gateway's admission bounds what is in flight).
   */
  policies?: NatsPolicyOptions;
}

/** Errors of requests that must not be sent again (a compare-and-set that may have run, a late publish). */
const unrepeatable = new WeakSet<object>();

/** Whether a request may be sent again after `error` (its attempt number: 1 for the first). */
type Repeatable = (error: unknown, attempt: number) => boolean;
const always: Repeatable = () => true;
/** A compare-and-set's repeat could fail on its own first write: only an error that proves it never ran is retried. */
export const neverRan: Repeatable = (e) => hasNoResponders(e) || statusOf(e) === 503;

export class NatsRequests {
  readonly dependency: Dependency;
  private readonly own?: Dependencies;
  private closing = false;

  constructor(private readonly clock: Clock, requestTimeoutMs: number, options: NatsRequestsOptions = {}) {
    if (!options.dependencies) this.own = new Dependencies({ clock });
    const deps = options.dependencies ?? this.own!;
    const given = options.policies ?? {};
    const policies: NatsPolicyOptions = {
      ...given,
      timeout: given.timeout === false ? false : { timeoutMs: requestTimeoutMs + NATS_TIMEOUT_GRACE_MS, ...given.timeout },
      retry: given.retry === false ? false : { maxAttempts: DEFAULT_NATS_MAX_ATTEMPTS, baseDelayMs: DEFAULT_NATS_BASE_DELAY_MS, maxDelayMs: DEFAULT_NATS_MAX_DELAY_MS, ...given.retry },
      bulkhead: given.bulkhead ?? false,
    };
    const retry = policies.retry === false ? false : { ...policies.retry, retryOn: (e: unknown) => isNatsRetriable(e) && defaultRetryOn(e) && !unrepeatable.has(e as object) };
    const breaker = policies.breaker === false ? false : { ...policies.breaker, isFailure: isNatsRetriable };
    this.dependency = dependencyOf(deps, { ...policies, retry, breaker });
  }

  /** An idempotent request (a read, a put, a stream info): retried on any retriable error. */
  run<T>(fn: () => Promise<T>): Promise<T> {
    return this.call(fn, always);
  }

  /** A compare-and-set (KV create, update, delete at a revision): retried only when it surely never ran. */
  once<T>(fn: () => Promise<T>): Promise<T> {
    return this.call(fn, neverRan);
  }

  /**
   * A publish under a message id: retried (JetStream drops a repeat of a stored one) only while the
   * retry, after its longest backoff, starts within `withinMs` of the first attempt. `onAttempt`
   * counts attempts, so that a duplicate answer to a retry is known as the call's own write.
   */
  publish<T>(fn: () => Promise<T>, withinMs: number, onAttempt?: () => void): Promise<T> {
    const started = this.clock.now();
    const bound = (attempt: number) => fullJitterBound(DEFAULT_NATS_BASE_DELAY_MS, DEFAULT_NATS_MAX_DELAY_MS, attempt - 1);
    return this.call(() => (onAttempt?.(), fn()), (_e, attempt) => this.clock.now() - started + bound(attempt) <= withinMs);
  }

  /** The engine is closing: no request is sent again (those in flight finish or fail). */
  close(): void {
    this.closing = true;
  }

  /** Stops the timers of the engine's own dependencies (a shared set is its owner's). */
  dispose(): void {
    this.own?.dispose();
  }

  private async call<T>(fn: () => Promise<T>, repeatable: Repeatable): Promise<T> {
    let attempt = 0;
    /** The last attempt's deadline signal, and whether the deadline released it with its request still in flight. */
    let last: { signal: AbortSignal; released: boolean } | undefined;
    try {
      return await this.dependency.execute(async (signal) => {
        attempt++;
        // The policy's deadline released the last attempt (its TimeoutError reached the retry, not
        // the request's own error): the request may still run, so it is judged as a timeout is.
        if (last?.released && repeatable !== always && (this.closing || !repeatable(last.signal.reason, attempt - 1))) throw notSentAgain(last.signal.reason);
        const mine = { signal, released: true }; // until it settles before its deadline
        last = mine;
        try {
          return await fn();
        } catch (e) {
          const failure = natsFailure(e);
          if (isNatsRetriable(failure) && (this.closing || !repeatable(e, attempt)) && typeof failure === 'object' && failure !== null) unrepeatable.add(failure);
          throw failure;
        } finally {
          mine.released = signal.aborted;
        }
      });
    } catch (e) {
      throw policyFailure(e);
    }
  }
}

/**
 * The retry of a request the policy's deadline released while it may still run, refused before it
 * is sent (a retriable failure for the breaker, not retried): the caller sees the timeout as cause.
 */
function notSentAgain(timeout: unknown): EngineUnavailableError {
  const e = new EngineUnavailableError(`NATS: ${(timeout as Error)?.message ?? 'the call timed out'}; it may still run, so it is not sent again`, { cause: timeout });
  unrepeatable.add(e);
  return e;
}

/** The dependency 'nats' of `deps`, made with `options` unless another engine of the process made it. */
function dependencyOf(deps: Dependencies, options: NatsPolicyOptions): Dependency {
  try {
    return deps.policyFor(NATS_DEPENDENCY, options);
  } catch (e) {
    if (e instanceof InvalidArgumentError && e.field === 'name') return deps.policyFor(NATS_DEPENDENCY);
    throw e;
  }
}

/**
 * A NATS client error as the policies should judge it: the transient ones (a timeout, no
 * responders, JetStream answering 503 or 408, a lost connection) become a retriable
 * EngineUnavailableError with the error as its cause; the rest (not found, wrong last sequence,
 * bad request, a closed connection, storage full) stay as they are, which classify() calls fatal.
 */
export function natsFailure(e: unknown): unknown {
  if (!isNatsTransient(e)) return e;
  return new EngineUnavailableError(`NATS: ${(e as Error).message}`, { cause: e });
}

function isNatsTransient(e: unknown): boolean {
  if (typeof e !== 'object' || e === null || e instanceof EngineUnavailableError) return false;
  const name = (e as Error).name;
  if (name === 'ClosedConnectionError' || name === 'DrainingConnectionError') return false; // the engine is closing
  if (isStorageFull(e)) return false; // retrying cannot make room
  if (name === 'TimeoutError' || name === 'ConnectionError' || hasNoResponders(e)) return true;
  const status = statusOf(e);
  if (status !== undefined) return status === 503 || status === 408;
  return classify(e) === 'retriable'; // a socket error, or a cause that is one
}

/**
 * The 'nats' dependency's judgment, for its retries and its breaker: only what natsFailure made
 * retriable (and the policies' own retriable refusals). A raw nats.js error is the server's
 * answer (a 503 "insufficient resources" included, which classify() alone would call retriable).
 */
export const isNatsRetriable = (e: unknown): boolean => e instanceof SluiceError && e.retriable;

/** JetStream's answers when its storage is full (server limits, account limits, stream max_bytes). */
export const isStorageFull = (e: unknown) => /insufficient resources|maximum bytes|storage resources|resource limits exceeded/i.test((e as Error)?.message ?? '');

/** No responders anywhere in the cause chain (a stream without a leader, JetStream restarting): nothing ran. */
function hasNoResponders(e: unknown): boolean {
  for (let c = e, depth = 0; typeof c === 'object' && c !== null && depth < 8; c = (c as { cause?: unknown }).cause, depth++) {
    if ((c as Error).name === 'NoResponders') return true;
  }
  return false;
}

/** A JetStream API error's status (JetStreamApiError.status), or a status message's code (JetStreamStatusError.code). */
function statusOf(e: unknown): number | undefined {
  const o = e as { name?: unknown; status?: unknown; code?: unknown };
  if (typeof o?.status === 'number') return o.status;
  if (o?.name === 'JetStreamStatusError' && typeof o.code === 'number') return o.code;
  return undefined;
}

/** The policies' own refusals (an open circuit, a deadline) as the engine's unavailability, with the refusal as the cause. */
function policyFailure(e: unknown): unknown {
  if (e instanceof BrokenCircuitError || e instanceof TimeoutError) return new EngineUnavailableError(`NATS: ${e.message}`, { cause: e });
  return e;
}

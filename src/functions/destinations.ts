// Function destinations (an asynchronous invocation's onSuccess / onFailure stream, a stream
// trigger's onFailure) as resilience dependencies: each delivery is one call through
// `destination:<function>:<kind>` — timeout, retries of retriable errors within the dependency's
// and the server-wide budgets, circuit breaker — so it shows in sluice_dependency_*. A delivery
// the policies gave up on is logged when the destination starts failing and when it delivers
// again, not per record; the caller keeps the record (README, Functions: destinations).
import type { Clock } from '../clock.js';
import type { AppendResult } from '../engine/engine.js';
import { SluiceError } from '../errors.js';
import { fullJitterBound } from '../resilience/backoff.js';
import { isAbortError, isRetriableError, type Dependencies, type Dependency, type DependencyOptions } from '../resilience/index.js';

/** Per-attempt deadline of one delivery (an engine append or commit). */
export const DEFAULT_DESTINATION_TIMEOUT_MS = 10_000;
/** Attempts of one delivery before it is given up for now (the caller pauses, or keeps the record). */
export const DEFAULT_DESTINATION_ATTEMPTS = 3;
/** The pause before a given-up delivery is called again: 500 ms doubling to 5 s, equal jitter. */
export const DESTINATION_PAUSE_MS = { base: 500, cap: 5_000 } as const;

/** Which destination of a function: the async queue's, or a stream trigger's (`stream.<source>.onFailure`). */
export type DestinationKind = 'onSuccess' | 'onFailure' | `stream.${string}.onFailure`;

/** The dependency's name: `destination:<function>:<kind>`. */
export const destinationName = (fn: string, kind: DestinationKind): string => `destination:${fn}:${kind}`;

/** The policies of a destination's dependency. */
export const DESTINATION_POLICY: Omit<DependencyOptions, 'clock' | 'sharedBudgets'> = {
  timeout: { timeoutMs: DEFAULT_DESTINATION_TIMEOUT_MS },
  retry: { maxAttempts: DEFAULT_DESTINATION_ATTEMPTS },
};

/** The engine refused a destination record (an append's per-record error): retriable when it said 'Unavailable'. */
export class DestinationAppendError extends SluiceError {
  readonly code = 'DestinationAppend';
  override readonly retriable: boolean;
  constructor(readonly stream: string, readonly reason: { code: string; message: string }) {
    super(`stream '${stream}' refused the record: ${reason.message} (${reason.code})`);
    this.retriable = reason.code === 'Unavailable';
  }
}

/** Throws the first per-record error of an append to `stream`. */
export function checkAppended(stream: string, results: readonly AppendResult[]): void {
  for (const r of results) if ('error' in r) throw new DestinationAppendError(stream, r.error);
}

export interface DestinationEnv {
  clock: Clock;
  /** One line when the destination starts failing, one when it delivers again, one per breaker transition. */
  log: (line: string, level: 'info' | 'warn' | 'error') => void;
  /** A delivery the policies gave up on (Lambda's DestinationDeliveryFailures). */
  onFailure?: (e: unknown) => void;
}

export interface DeliverOptions {
  /** Whether a delivery the policies gave up on is called again after a pause. Default: isRetriableError. */
  again?: (e: unknown) => boolean;
  /** What becomes of the record when it is not (for the log line). */
  kept: string;
  /** Each delivery the policies gave up on (a caller's own counters). */
  failed?: (e: unknown) => void;
}

export class Destination {
  private failing = false;
  private failedWhileFailing = 0;
  private readonly unsubscribe: () => void;

  constructor(readonly stream: string, readonly dependency: Dependency, private readonly env: DestinationEnv) {
    this.unsubscribe = dependency.breaker?.onStateChange((e) => {
      env.log(`dependency '${dependency.name}': circuit ${e.from} → ${e.to} (${e.reason})`, e.to === 'closed' ? 'info' : 'warn');
    }) ?? (() => {});
  }

  /** A destination of `fn` in `dependencies` (made once per name, with DESTINATION_POLICY). */
  static of(dependencies: Dependencies, fn: string, kind: DestinationKind, stream: string, env: DestinationEnv): Destination {
    return new Destination(stream, dependencies.policyFor(destinationName(fn, kind), DESTINATION_POLICY), env);
  }

  /**
   * Delivers through the policies; a call they gave up on is made again after a pause while
   * `o.again(error)` holds (default: the error is retriable — an open circuit and a spent budget
   * are). Throws the error that ends it, or the signal's reason; `o.kept` says (in the log) what
   * then becomes of the record.
   */
  async deliver(call: (signal: AbortSignal) => Promise<void>, signal: AbortSignal, o: DeliverOptions): Promise<void> {
    const again = o.again ?? isRetriableError;
    for (let failures = 1; ; failures++) {
      try {
        await this.dependency.execute(call, signal);
        this.recovered();
        return;
      } catch (e) {
        if (signal.aborted || isAbortError(e)) throw e;
        o.failed?.(e);
        const tryAgain = again(e);
        this.failed(e, tryAgain ? 'called again after a pause, the record kept meanwhile' : o.kept);
        if (!tryAgain) throw e;
      }
      const bound = fullJitterBound(DESTINATION_PAUSE_MS.base, DESTINATION_PAUSE_MS.cap, failures - 1);
      await this.env.clock.sleep(bound / 2 + Math.random() * (bound / 2), signal);
    }
  }

  dispose(): void {
    this.unsubscribe();
  }

  private failed(e: unknown, then: string): void {
    this.env.onFailure?.(e);
    if (this.failing) {
      this.failedWhileFailing++;
      return;
    }
    this.failing = true;
    this.failedWhileFailing = 0;
    this.env.log(`destination '${this.stream}' (${this.dependency.name}) is failing: ${(e as Error).message}; ${then}`, 'error');
  }

  private recovered(): void {
    if (!this.failing) return;
    this.failing = false;
    this.env.log(`destination '${this.stream}' (${this.dependency.name}) delivers again (${this.failedWhileFailing} more deliveries failed meanwhile)`, 'info');
  }
}

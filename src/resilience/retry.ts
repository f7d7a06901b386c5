// Retries with full-jitter exponential backoff on the injected clock, only for retriable errors,
// up to an attempt cap (the per-request budget) and only while every shared RetryBudget allows.
import { systemClock, type Clock } from '../clock.js';
import { withDefaults } from '../defaults.js';
import { fullJitter, type Backoff } from './backoff.js';
import type { RetryBudget } from './budget.js';
import { isRetriableError } from './classify.js';
import { markBudgetExhausted } from './errors/budget-exhausted.js';
import { isBrokenCircuitError } from './errors/broken-circuit-error.js';
import { AbortFan } from './abort-fan.js';
import { Emitter } from './events.js';
import { neverAborted, type Operation, type Policy } from './policy.js';
import { retryAfterMsOf } from './retry-after.js';
import { checkInteger, checkNumber } from './validate.js';

export const DEFAULT_RETRY_MAX_ATTEMPTS = 3; // the first try and two retries
export const DEFAULT_RETRY_BASE_DELAY_MS = 100;
export const DEFAULT_RETRY_MAX_DELAY_MS = 10_000; // the backoff's cap
export const DEFAULT_RETRY_MAX_RETRY_AFTER_MS = 30_000; // a longer retry-after hint ends the retries

/** Retriable and not a refusal by an open circuit (waiting for it would defeat failing fast). */
export const defaultRetryOn = (e: unknown): boolean => isRetriableError(e) && !isBrokenCircuitError(e);

export interface RetryOptions {
  /** Attempts in all, the first included: the per-request budget. Default 3. */
  maxAttempts?: number;
  /** The backoff's base: retry n waits random(0, min(maxDelayMs, baseDelayMs·2^n)). Default 100 ms. */
  baseDelayMs?: number;
  /** The backoff's cap. Default 10 s. */
  maxDelayMs?: number;
  /**
   * An error's retry-after hint is honoured (the wait is the longer of hint and backoff) up to
   * this; a longer hint ends the retries and the error is thrown. Default 30 s.
   */
  maxRetryAfterMs?: number;
  /** Which errors to retry. Default: isRetriableError, except BrokenCircuitError. */
  retryOn?: (error: unknown) => boolean;
  /** Budgets every retry withdraws from (per client, server-wide): a retry happens only if all allow it. Default none. */
  budgets?: readonly RetryBudget[];
  /** Numbers in [0, 1) for the jitter. Default Math.random. */
  random?: () => number;
  /** Injected time. Default: the system clock. */
  clock?: Clock;
}

export interface RetryEvent {
  /** The attempt that failed (1 for the first). */
  attempt: number;
  delayMs: number;
  error: unknown;
}

export type GiveUpReason = 'not-retriable' | 'attempts' | 'budget' | 'retry-after' | 'aborted';

export interface GiveUpEvent {
  reason: GiveUpReason;
  /** The attempts made. */
  attempts: number;
  error: unknown;
  /** The budget that refused, when reason is 'budget'. */
  budget?: string;
}

export class RetryPolicy implements Policy {
  private readonly retryEmitter = new Emitter<RetryEvent>();
  private readonly giveUpEmitter = new Emitter<GiveUpEvent>();
  /** Before each backoff wait. */
  readonly onRetry = this.retryEmitter.on;
  /** When a call ends in an error: why it was not retried again. */
  readonly onGiveUp = this.giveUpEmitter.on;

  private readonly maxAttempts: number;
  private readonly maxRetryAfterMs: number;
  private readonly retryOn: (error: unknown) => boolean;
  private readonly budgets: readonly RetryBudget[];
  private readonly backoff: Backoff;
  private readonly clock: Clock;
  private readonly fan = new AbortFan();

  constructor(options: RetryOptions = {}) {
    const o = withDefaults({
      maxAttempts: DEFAULT_RETRY_MAX_ATTEMPTS,
      baseDelayMs: DEFAULT_RETRY_BASE_DELAY_MS,
      maxDelayMs: DEFAULT_RETRY_MAX_DELAY_MS,
      maxRetryAfterMs: DEFAULT_RETRY_MAX_RETRY_AFTER_MS,
      retryOn: defaultRetryOn,
      budgets: [] as readonly RetryBudget[],
      random: Math.random,
      clock: systemClock,
    }, options);
    checkInteger('retry', 'maxAttempts', o.maxAttempts);
    checkNumber('retry', 'baseDelayMs', o.baseDelayMs);
    checkNumber('retry', 'maxDelayMs', o.maxDelayMs);
    checkNumber('retry', 'maxRetryAfterMs', o.maxRetryAfterMs);
    this.maxAttempts = o.maxAttempts;
    this.maxRetryAfterMs = o.maxRetryAfterMs;
    this.retryOn = o.retryOn;
    this.budgets = o.budgets;
    this.backoff = fullJitter({ baseMs: o.baseDelayMs, capMs: o.maxDelayMs, random: o.random });
    this.clock = o.clock;
  }

  async execute<T>(fn: Operation<T>, signal: AbortSignal = neverAborted): Promise<T> {
    if (signal.aborted) throw signal.reason;
    if (this.budgets.length > 0) {
      const now = this.clock.now();
      for (const b of this.budgets) b.deposit(now);
    }
    for (let attempt = 1; ; attempt++) {
      let error: unknown;
      try {
        return await fn(signal);
      } catch (e) {
        error = e;
      }
      const delayMs = this.nextDelay(error, attempt, signal);
      this.retryEmitter.emit({ attempt, delayMs, error });
      await this.wait(delayMs, signal).catch((abort: unknown) => this.giveUp('aborted', attempt, abort));
    }
  }

  /** Sleeps `ms`, ending at once with the signal's reason when it aborts (one listener on it for all our sleeps). */
  private async wait(ms: number, signal: AbortSignal): Promise<void> {
    if (signal === neverAborted) return this.clock.sleep(ms);
    if (signal.aborted) throw signal.reason;
    const wake = new AbortController();
    const handler = { aborted: () => wake.abort(signal.reason) };
    this.fan.add(signal, handler);
    try {
      await this.clock.sleep(ms, wake.signal);
    } finally {
      this.fan.remove(signal, handler);
    }
  }

  /** The wait before the next attempt; throws `error` (after a give-up event) when there is none. */
  private nextDelay(error: unknown, attempt: number, signal: AbortSignal): number {
    if (signal.aborted) this.giveUp('aborted', attempt, error);
    if (!this.retryOn(error)) this.giveUp('not-retriable', attempt, error);
    if (attempt >= this.maxAttempts) this.giveUp('attempts', attempt, error);
    const hint = retryAfterMsOf(error);
    if (hint !== undefined && hint > this.maxRetryAfterMs) this.giveUp('retry-after', attempt, error);
    const refusing = this.budgets.find((b) => !b.canWithdraw());
    if (refusing) {
      markBudgetExhausted(error);
      this.giveUp('budget', attempt, error, refusing.name);
    }
    for (const b of this.budgets) b.tryWithdraw();
    const backoff = this.backoff(attempt - 1);
    return hint === undefined ? backoff : Math.max(hint, backoff);
  }

  private giveUp(reason: GiveUpReason, attempts: number, error: unknown, budget?: string): never {
    this.giveUpEmitter.emit(budget === undefined ? { reason, attempts, error } : { reason, attempts, error, budget });
    throw error;
  }
}

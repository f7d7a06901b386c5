// One named dependency (a Postgres sink, a webhook, the NATS engine) behind its policies, in
// this order, outermost first:
//   retry (+ budgets) → bulkhead → circuit breaker → timeout → the call
// so every attempt takes a bulkhead slot (none is held during a backoff), passes the breaker
// (an open circuit ends the retries at once) and has its own deadline (which measures the
// dependency, not our queue). Its counters are fed by the policies' events, for a metrics layer.
import { systemClock, type Clock } from '../clock.js';
import { CircuitBreakerPolicy, type CircuitState } from './breaker/breaker.js';
import type { CircuitBreakerOptions } from './breaker/options.js';
import { RetryBudget, type RetryBudgetOptions } from './budget.js';
import { BulkheadPolicy, type BulkheadOptions } from './bulkhead.js';
import type { Unsubscribe } from './events.js';
import { neverAborted, wrap, type Operation, type Policy } from './policy.js';
import { RetryPolicy, type RetryOptions } from './retry.js';
import { TimeoutPolicy, type TimeoutOptions } from './timeout/timeout.js';

/** Each policy's options, or false to leave it out. Unset: the policy with its defaults. */
export interface DependencyOptions {
  /** Per-attempt deadline. Default 10 s. */
  timeout?: Omit<TimeoutOptions, 'clock'> | false;
  /** Retries (the attempt cap is the per-request budget). Default 3 attempts. */
  retry?: Omit<RetryOptions, 'clock' | 'budgets'> | false;
  /** Circuit breaker. Default: see breaker/options.ts. */
  breaker?: Omit<CircuitBreakerOptions, 'clock' | 'name'> | false;
  /** Bounded concurrency. Default 10 running, 100 queued. */
  bulkhead?: Omit<BulkheadOptions, 'name'> | false;
  /** This client's own retry budget. Default Finagle's (10 s, 10/s, 20 %). */
  budget?: Omit<RetryBudgetOptions, 'clock' | 'name'> | false;
  /** Shared budgets every retry must also be allowed by (the server-wide one). Default none. */
  sharedBudgets?: readonly RetryBudget[];
  /** Injected time, for every policy. Default: the system clock. */
  clock?: Clock;
}

/** What happened to a dependency's calls since it was made: plain numbers a metrics layer reads. */
export interface DependencyStats {
  name: string;
  /** execute() calls, each a request with its own retries. */
  calls: number;
  successes: number;
  failures: number;
  /** Attempts made: calls plus retries (one too many for a call whose backoff its caller aborted). */
  attempts: number;
  /** Retries decided, each after a failed attempt. */
  retries: number;
  /** Retries a budget refused (the call failed with its last error, marked isBudgetExhausted). */
  budgetRefusals: number;
  /** Attempts released at their deadline. */
  timeouts: number;
  /** Attempts refused by a full bulkhead. */
  bulkheadRejections: number;
  /** Attempts refused by the circuit breaker (open, or half-open with its trials in flight). */
  breakerRejections: number;
  breakerState: CircuitState | 'none';
  /** Breaker transitions, by the state entered. */
  breakerTransitions: { open: number; 'half-open': number; closed: number };
}

export class Dependency implements Policy {
  readonly timeout: TimeoutPolicy | undefined;
  readonly retry: RetryPolicy | undefined;
  readonly breaker: CircuitBreakerPolicy | undefined;
  readonly bulkhead: BulkheadPolicy | undefined;
  /** This client's own budget. */
  readonly budget: RetryBudget | undefined;
  private readonly chain: Policy;
  private readonly counts = { calls: 0, successes: 0, failures: 0, retries: 0, budgetRefusals: 0, timeouts: 0, bulkheadRejections: 0, breakerRejections: 0 };
  private readonly transitions = { open: 0, 'half-open': 0, closed: 0 };
  private readonly subscriptions: Unsubscribe[] = [];

  constructor(readonly name: string, options: DependencyOptions = {}) {
    const clock = options.clock ?? systemClock;
    this.budget = options.budget === false ? undefined : new RetryBudget({ ...options.budget, name, clock });
    const budgets = [...(this.budget ? [this.budget] : []), ...(options.sharedBudgets ?? [])];
    this.retry = options.retry === false ? undefined : new RetryPolicy({ ...options.retry, budgets, clock });
    this.bulkhead = options.bulkhead === false ? undefined : new BulkheadPolicy({ ...options.bulkhead, name });
    this.breaker = options.breaker === false ? undefined : new CircuitBreakerPolicy({ ...options.breaker, name, clock });
    this.timeout = options.timeout === false ? undefined : new TimeoutPolicy({ ...options.timeout, clock });
    this.chain = wrap(...[this.retry, this.bulkhead, this.breaker, this.timeout].filter((p): p is NonNullable<typeof p> => p !== undefined));
    this.count();
  }

  async execute<T>(fn: Operation<T>, signal: AbortSignal = neverAborted): Promise<T> {
    this.counts.calls++;
    try {
      const value = await this.chain.execute(fn, signal);
      this.counts.successes++;
      return value;
    } catch (e) {
      this.counts.failures++;
      throw e;
    }
  }

  /** A snapshot of the counters. */
  get stats(): DependencyStats {
    return {
      name: this.name,
      ...this.counts,
      attempts: this.counts.calls + this.counts.retries,
      breakerState: this.breaker?.state ?? 'none',
      breakerTransitions: { ...this.transitions },
    };
  }

  /** Stops the counters and the timeout's timer (at shutdown). */
  dispose(): void {
    for (const u of this.subscriptions.splice(0)) u();
    this.timeout?.dispose();
  }

  private count(): void {
    const c = this.counts;
    const s = this.subscriptions;
    if (this.retry) {
      s.push(this.retry.onRetry(() => c.retries++));
      s.push(this.retry.onGiveUp((e) => e.reason === 'budget' && c.budgetRefusals++));
    }
    if (this.timeout) s.push(this.timeout.onTimeout(() => c.timeouts++));
    if (this.bulkhead) s.push(this.bulkhead.onReject(() => c.bulkheadRejections++));
    if (this.breaker) {
      s.push(this.breaker.onReject(() => c.breakerRejections++));
      s.push(this.breaker.onStateChange((e) => this.transitions[e.to]++));
    }
  }
}

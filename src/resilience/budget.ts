// Retry budgets, as Finagle's RetryBudget: every request deposits, every retry withdraws, and
// what is deposited expires after `ttlMs`; so over any ttl window retries are at most
// percentCanRetry of requests plus a small reserve (minRetriesPerSec), and a dependency failing
// every call costs at most ~20 % extra load instead of maxAttempts times the load.
// A budget is shared by whoever should share the limit: one per client, one server-wide.
import { systemClock, type Clock } from '../clock.js';
import { withDefaults } from '../defaults.js';
import { checkFraction, checkInteger, checkNumber } from './validate.js';

export const DEFAULT_BUDGET_TTL_MS = 10_000; // Finagle's
export const DEFAULT_BUDGET_MIN_RETRIES_PER_SEC = 10; // Finagle's
export const DEFAULT_BUDGET_PERCENT_CAN_RETRY = 0.2; // Finagle's

/** Deposits and withdrawals are kept in this many slices of the ttl; each expires whole. */
const SLICES = 10;
/** A deposit's worth, so that a withdrawal (SCALE / percentCanRetry) stays a whole number. */
const SCALE = 1000;

export interface RetryBudgetOptions {
  /** Named in events and stats ('server', or the dependency's name). Default 'budget'. */
  name?: string;
  /** How long a deposit (and a withdrawal) counts. Default 10 s. */
  ttlMs?: number;
  /** Retries allowed per second even without requests (a reserve for low traffic). Default 10. */
  minRetriesPerSec?: number;
  /** Retries allowed per request deposited, 0-1. Default 0.2. */
  percentCanRetry?: number;
  /** Injected time. Default: the system clock. */
  clock?: Clock;
}

export class RetryBudget {
  readonly name: string;
  private readonly clock: Clock;
  private readonly depositAmount: number;
  private readonly withdrawalAmount: number;
  private readonly reserve: number;
  private readonly sliceMs: number;
  private readonly slices = new Float64Array(SLICES);
  private sum = 0;
  private slice = 0; // the index of the slice now written
  private sliceEpoch = -Infinity; // floor(now / sliceMs) of that slice

  constructor(options: RetryBudgetOptions = {}) {
    const o = withDefaults({
      name: 'budget',
      ttlMs: DEFAULT_BUDGET_TTL_MS,
      minRetriesPerSec: DEFAULT_BUDGET_MIN_RETRIES_PER_SEC,
      percentCanRetry: DEFAULT_BUDGET_PERCENT_CAN_RETRY,
      clock: systemClock,
    }, options);
    checkInteger('budget', 'ttlMs', o.ttlMs);
    checkNumber('budget', 'minRetriesPerSec', o.minRetriesPerSec);
    checkFraction('budget', 'percentCanRetry', o.percentCanRetry);
    this.name = o.name;
    this.clock = o.clock;
    this.depositAmount = o.percentCanRetry === 0 ? 0 : SCALE;
    this.withdrawalAmount = o.percentCanRetry === 0 ? 1 : Math.round(SCALE / o.percentCanRetry);
    this.reserve = o.minRetriesPerSec * (o.ttlMs / 1000) * this.withdrawalAmount;
    this.sliceMs = o.ttlMs / SLICES;
  }

  /**
   * Counts one request (not one attempt): call once per call that may retry. `now` is the
   * clock's reading, for a caller depositing into several budgets at once.
   */
  deposit(now = this.clock.now()): void {
    this.roll(now);
    this.slices[this.slice]! += this.depositAmount;
    this.sum += this.depositAmount;
  }

  /** Whether a retry may happen now, without taking it. */
  canWithdraw(): boolean {
    this.roll(this.clock.now());
    return this.sum + this.reserve >= this.withdrawalAmount;
  }

  /** Takes one retry if the budget allows it. */
  tryWithdraw(): boolean {
    if (!this.canWithdraw()) return false;
    this.slices[this.slice]! -= this.withdrawalAmount;
    this.sum -= this.withdrawalAmount;
    return true;
  }

  /** Retries the budget allows now. */
  get balance(): number {
    this.roll(this.clock.now());
    return Math.max(0, Math.floor((this.sum + this.reserve) / this.withdrawalAmount));
  }

  /** Moves to the slice of now, expiring those older than the ttl. */
  private roll(now: number): void {
    const epoch = Math.floor(now / this.sliceMs);
    if (epoch <= this.sliceEpoch) return; // same slice (or the clock went back: keep writing it)
    const steps = Math.min(SLICES, epoch - this.sliceEpoch);
    for (let k = 0; k < steps; k++) {
      this.slice = (this.slice + 1) % SLICES;
      this.sum -= this.slices[this.slice]!;
      this.slices[this.slice] = 0;
    }
    this.sliceEpoch = epoch;
  }
}

// Retry budgets (src/resilience/budget.ts), alone and as a retry policy's limit, on virtual time.
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { RetryBudget } from '../../src/resilience/budget.js';
import { isBudgetExhausted } from '../../src/resilience/errors/budget-exhausted.js';
import { RetryPolicy, type GiveUpEvent } from '../../src/resilience/retry.js';
import { transient } from './support.js';

const failing = Object.assign(async () => {
  failing.calls++;
  throw transient();
}, { calls: 0 });

/** Sends `requests` calls, one every `gapMs` of virtual time, to a dependency failing all of them. */
async function drive(policy: RetryPolicy, clock: ManualClock, requests: number, gapMs: number): Promise<{ attempts: number; refusals: number }> {
  let refusals = 0;
  policy.onGiveUp((e) => e.reason === 'budget' && refusals++);
  failing.calls = 0;
  for (let i = 0; i < requests; i++) {
    await policy.execute(failing).catch(() => {});
    clock.advance(gapMs);
  }
  return { attempts: failing.calls, refusals };
}

describe('retry budget', () => {
  it('caps retries at ~20 % of requests under a dependency failing every call (10,000 requests at 1,000/s)', async () => {
    const clock = new ManualClock();
    const budget = new RetryBudget({ clock }); // Finagle's defaults: ttl 10 s, 10 retries/s reserve, 20 %
    const policy = new RetryPolicy({ maxAttempts: 10, baseDelayMs: 0, budgets: [budget], clock });
    const { attempts } = await drive(policy, clock, 10_000, 1);
    const retries = attempts - 10_000;
    // 20 % of requests, plus the reserve: 10/s over the 10 s the test lasts
    expect(retries / 10_000).toBeGreaterThanOrEqual(0.2);
    expect(retries / 10_000).toBeLessThanOrEqual(0.21);
    expect(retries).toBeLessThanOrEqual(0.2 * 10_000 + 10 * 10);
  });

  it('without a reserve, allows exactly percentCanRetry retries per request', async () => {
    const clock = new ManualClock();
    const budget = new RetryBudget({ minRetriesPerSec: 0, percentCanRetry: 0.2, clock });
    const policy = new RetryPolicy({ maxAttempts: 10, baseDelayMs: 0, budgets: [budget], clock });
    const { attempts, refusals } = await drive(policy, clock, 10_000, 1);
    expect(attempts - 10_000).toBe(2000);
    expect(refusals).toBe(10_000); // with 10 attempts allowed, every request ends on a refused retry
  });

  it('the ttl window: deposits older than ttlMs no longer pay for retries', () => {
    const clock = new ManualClock();
    const budget = new RetryBudget({ ttlMs: 10_000, minRetriesPerSec: 0, percentCanRetry: 0.5, clock });
    for (let i = 0; i < 10; i++) budget.deposit();
    expect(budget.balance).toBe(5);
    clock.advance(9_000);
    expect(budget.balance).toBe(5);
    clock.advance(1_000);
    expect(budget.balance).toBe(0);
    expect(budget.tryWithdraw()).toBe(false);
  });

  it('the reserve allows minRetriesPerSec · ttl retries with no requests at all, then refills as they expire', () => {
    const clock = new ManualClock();
    const budget = new RetryBudget({ ttlMs: 10_000, minRetriesPerSec: 2, clock });
    let allowed = 0;
    while (budget.tryWithdraw()) allowed++;
    expect(allowed).toBe(20);
    clock.advance(10_000);
    expect(budget.balance).toBe(20);
  });

  it('a retry happens only if every budget allows it, and a refusal takes nothing from the others', async () => {
    const clock = new ManualClock();
    const client = new RetryBudget({ name: 'postgres', minRetriesPerSec: 0, percentCanRetry: 1, clock });
    const server = new RetryBudget({ name: 'server', minRetriesPerSec: 0, percentCanRetry: 0.5, clock });
    const policy = new RetryPolicy({ maxAttempts: 2, baseDelayMs: 0, budgets: [client, server], clock });
    const giveUps: GiveUpEvent[] = [];
    policy.onGiveUp((e) => giveUps.push(e));
    failing.calls = 0;
    for (let i = 0; i < 4; i++) await policy.execute(failing).catch(() => {});
    // 4 requests: the server budget allows 2 retries, the client's would allow 4
    expect(failing.calls).toBe(4 + 2);
    expect(giveUps.filter((g) => g.reason === 'budget').map((g) => g.budget)).toEqual(['server', 'server']);
    expect(client.balance).toBe(2); // the refused retries were not taken from it
  });

  it('a refusal throws the last error itself, marked as budget-exhausted, and is a distinct give-up reason', async () => {
    const clock = new ManualClock();
    const budget = new RetryBudget({ minRetriesPerSec: 0, percentCanRetry: 0, clock });
    const policy = new RetryPolicy({ baseDelayMs: 0, budgets: [budget], clock });
    const reasons: string[] = [];
    policy.onGiveUp((e) => reasons.push(e.reason));
    const last = transient();
    const error = await policy.execute(async () => { throw last; }).catch((e) => e);
    expect(error).toBe(last);
    expect(isBudgetExhausted(error)).toBe(true);
    expect(reasons).toEqual(['budget']);
    const other = await new RetryPolicy({ maxAttempts: 1, clock }).execute(async () => { throw transient(); }).catch((e) => e);
    expect(isBudgetExhausted(other)).toBe(false); // out of attempts is not out of budget
  });

  it('deposits once per request, not per attempt', async () => {
    const clock = new ManualClock();
    const budget = new RetryBudget({ minRetriesPerSec: 0, percentCanRetry: 1, clock });
    const policy = new RetryPolicy({ maxAttempts: 3, baseDelayMs: 0, budgets: [budget], clock });
    let n = 0;
    await policy.execute(async () => {
      if (n++ < 1) throw transient();
    });
    expect(budget.balance).toBe(0); // one request deposited one retry, which was taken
  });

  it('validates its options once, naming the field', () => {
    expect(() => new RetryBudget({ percentCanRetry: 1.5 })).toThrow(/budget\.percentCanRetry/);
    expect(() => new RetryBudget({ ttlMs: 0 })).toThrow(/budget\.ttlMs/);
    expect(() => new RetryBudget({ minRetriesPerSec: -1 })).toThrow(/budget\.minRetriesPerSec/);
  });
});

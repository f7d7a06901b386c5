// The retry policy (src/resilience/retry.ts) and its backoff (backoff.ts), on virtual time.
import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { RateLimitedError } from '../../src/gateway/errors.js';
import { fullJitter, fullJitterBound } from '../../src/resilience/backoff.js';
import { BrokenCircuitError } from '../../src/resilience/errors/broken-circuit-error.js';
import { NonRetriableError } from '../../src/resilience/errors/non-retriable-error.js';
import { RetryPolicy, type GiveUpEvent, type RetryEvent } from '../../src/resilience/retry.js';
import { flush, httpError, pgError, stateOf, transient } from './support.js';

/** A function failing with `errors` in turn, then returning 'ok'; counts its calls. */
function flaky(...errors: unknown[]) {
  const f = Object.assign(async () => {
    f.calls++;
    if (f.calls <= errors.length) throw errors[f.calls - 1];
    return 'ok';
  }, { calls: 0 });
  return f;
}

function recorded(policy: RetryPolicy) {
  const retries: RetryEvent[] = [];
  const giveUps: GiveUpEvent[] = [];
  policy.onRetry((e) => retries.push(e));
  policy.onGiveUp((e) => giveUps.push(e));
  return { retries, giveUps };
}

describe('full-jitter backoff', () => {
  it('draws retry n from [0, min(cap, base·2^n))', () => {
    expect([0, 1, 2, 3, 4, 5, 40].map((n) => fullJitterBound(100, 1000, n))).toEqual([100, 200, 400, 800, 1000, 1000, 1000]);
    const top = fullJitter({ baseMs: 100, capMs: 1000, random: () => 0.999 });
    expect([0, 1, 2, 3, 4].map(top)).toEqual([99.9, 199.8, 399.6, 799.2, 999]);
    const bottom = fullJitter({ baseMs: 100, capMs: 1000, random: () => 0 });
    expect([0, 1, 2, 3, 4].map(bottom)).toEqual([0, 0, 0, 0, 0]);
  });

  it('stays within its bounds for Math.random over many draws', () => {
    const backoff = fullJitter({ baseMs: 50, capMs: 2000 });
    for (let n = 0; n < 10; n++) {
      for (let i = 0; i < 1000; i++) {
        const d = backoff(n);
        expect(d).toBeGreaterThanOrEqual(0);
        expect(d).toBeLessThan(fullJitterBound(50, 2000, n));
      }
    }
  });

  it("the retry policy's waits are the jittered delays, on the injected random source", async () => {
    const clock = new ManualClock();
    const policy = new RetryPolicy({ maxAttempts: 4, baseDelayMs: 100, maxDelayMs: 250, random: () => 0.5, clock });
    const { retries } = recorded(policy);
    const fn = flaky(transient(), transient(), transient());
    const call = policy.execute(fn);
    await flush();
    clock.advance(50);
    await flush();
    clock.advance(100);
    await flush();
    clock.advance(125); // the cap: 0.5 · min(250, 400)
    expect(await call).toBe('ok');
    expect(retries.map((r) => [r.attempt, r.delayMs])).toEqual([[1, 50], [2, 100], [3, 125]]);
  });
});

describe('retry', () => {
  it('retries retriable errors until the function succeeds', async () => {
    const clock = new ManualClock();
    const policy = new RetryPolicy({ maxAttempts: 5, baseDelayMs: 0, clock });
    const fn = flaky(transient(), httpError(503), pgError('40001'));
    expect(await policy.execute(fn)).toBe('ok');
    expect(fn.calls).toBe(4);
  });

  it('never retries a fatal error: it is thrown after the first attempt', async () => {
    const policy = new RetryPolicy({ maxAttempts: 5, baseDelayMs: 0, clock: new ManualClock() });
    const { giveUps } = recorded(policy);
    for (const fatal of [httpError(400), pgError('23505'), new NonRetriableError('no', { cause: transient() }), new Error('bug')]) {
      const fn = flaky(fatal);
      await expect(policy.execute(fn)).rejects.toBe(fatal);
      expect(fn.calls).toBe(1);
    }
    expect(giveUps.map((g) => [g.reason, g.attempts])).toEqual(Array(4).fill(['not-retriable', 1]));
  });

  it('does not wait for an open circuit: a BrokenCircuitError ends the retries at once', async () => {
    const policy = new RetryPolicy({ maxAttempts: 5, baseDelayMs: 0, clock: new ManualClock() });
    const refused = new BrokenCircuitError('pg', 'open', 10_000, 10_000);
    const fn = flaky(refused);
    await expect(policy.execute(fn)).rejects.toBe(refused);
    expect(fn.calls).toBe(1);
  });

  it('stops at maxAttempts and throws the last error', async () => {
    const policy = new RetryPolicy({ maxAttempts: 3, baseDelayMs: 0, clock: new ManualClock() });
    const { giveUps } = recorded(policy);
    const last = transient('third');
    const fn = flaky(transient('first'), transient('second'), last, transient('fourth'));
    await expect(policy.execute(fn)).rejects.toBe(last);
    expect(fn.calls).toBe(3);
    expect(giveUps).toEqual([{ reason: 'attempts', attempts: 3, error: last }]);
  });

  it('honours a retry-after hint: it waits the hint when the backoff is shorter', async () => {
    const clock = new ManualClock();
    const policy = new RetryPolicy({ baseDelayMs: 100, random: () => 0.5, clock });
    const { retries } = recorded(policy);
    const fn = flaky(new RateLimitedError('key', 10, 3)); // retryAfterS: 3
    const call = policy.execute(fn);
    await flush();
    clock.advance(2999);
    expect(await stateOf(call)).toBe('pending');
    expect(fn.calls).toBe(1);
    clock.advance(1);
    expect(await call).toBe('ok');
    expect(retries[0]!.delayMs).toBe(3000);
  });

  it('honours retryAfterMs, and waits the backoff when it is longer than the hint', async () => {
    const clock = new ManualClock();
    const policy = new RetryPolicy({ baseDelayMs: 1000, random: () => 0.5, clock });
    const { retries } = recorded(policy);
    const call = policy.execute(flaky(Object.assign(httpError(429), { retryAfterMs: 200 })));
    await flush();
    clock.advance(500);
    expect(await call).toBe('ok');
    expect(retries[0]!.delayMs).toBe(500);
  });

  it('gives up at once on a retry-after hint longer than maxRetryAfterMs', async () => {
    const policy = new RetryPolicy({ maxRetryAfterMs: 5000, clock: new ManualClock() });
    const { giveUps } = recorded(policy);
    const tooLong = new RateLimitedError('key', 10, 60);
    const fn = flaky(tooLong);
    await expect(policy.execute(fn)).rejects.toBe(tooLong);
    expect(fn.calls).toBe(1);
    expect(giveUps[0]!.reason).toBe('retry-after');
  });

  it('an aborted signal stops a waiting backoff at once, with the abort reason', async () => {
    const clock = new ManualClock();
    const policy = new RetryPolicy({ baseDelayMs: 60_000, random: () => 0.9, clock });
    const { giveUps } = recorded(policy);
    const controller = new AbortController();
    const fn = flaky(transient());
    const call = policy.execute(fn, controller.signal);
    await flush();
    expect(clock.sleeping).toBe(1);
    const reason = new Error('shutting down');
    controller.abort(reason);
    await expect(call).rejects.toBe(reason);
    expect(clock.sleeping).toBe(0);
    expect(fn.calls).toBe(1);
    expect(giveUps[0]!.reason).toBe('aborted');
  });

  it("adds one listener to a caller's signal however many of its calls back off at once", async () => {
    const clock = new ManualClock();
    const policy = new RetryPolicy({ baseDelayMs: 1000, random: () => 0.5, clock });
    const shutdown = new AbortController();
    const calls = Array.from({ length: 20 }, () => policy.execute(flaky(transient()), shutdown.signal));
    await flush();
    expect(clock.sleeping).toBe(20);
    expect(getEventListeners(shutdown.signal, 'abort')).toHaveLength(1);
    clock.advance(500);
    expect(await Promise.all(calls)).toEqual(Array(20).fill('ok'));
    expect(getEventListeners(shutdown.signal, 'abort')).toHaveLength(0);
  });

  it('does not retry an attempt that failed because the caller aborted', async () => {
    const policy = new RetryPolicy({ baseDelayMs: 0, clock: new ManualClock() });
    const controller = new AbortController();
    const fn = Object.assign(async () => {
      fn.calls++;
      controller.abort();
      throw transient();
    }, { calls: 0 });
    await expect(policy.execute(fn, controller.signal)).rejects.toThrow('connection reset');
    expect(fn.calls).toBe(1);
  });

  it('does not start when the signal is already aborted', async () => {
    const policy = new RetryPolicy({ clock: new ManualClock() });
    const fn = flaky();
    await expect(policy.execute(fn, AbortSignal.abort('gone'))).rejects.toBe('gone');
    expect(fn.calls).toBe(0);
  });

  it('passes the caller signal to each attempt', async () => {
    const policy = new RetryPolicy({ baseDelayMs: 0, clock: new ManualClock() });
    const controller = new AbortController();
    const seen: AbortSignal[] = [];
    let n = 0;
    await policy.execute(async (s) => {
      seen.push(s);
      if (n++ === 0) throw transient();
    }, controller.signal);
    expect(seen).toEqual([controller.signal, controller.signal]);
  });

  it('validates its options once, naming the field', () => {
    expect(() => new RetryPolicy({ maxAttempts: 0 })).toThrow(/retry\.maxAttempts/);
    expect(() => new RetryPolicy({ baseDelayMs: -1 })).toThrow(/retry\.baseDelayMs/);
    expect(() => new RetryPolicy({ maxDelayMs: Number.NaN })).toThrow(/retry\.maxDelayMs/);
  });
});

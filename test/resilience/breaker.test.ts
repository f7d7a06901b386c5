// The circuit breaker (src/resilience/breaker/): every transition, on virtual time.
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { InvalidArgumentError } from '../../src/engine/errors.js';
import { CircuitBreakerPolicy, type StateChangeEvent } from '../../src/resilience/breaker/breaker.js';
import type { CircuitBreakerOptions } from '../../src/resilience/breaker/options.js';
import { BrokenCircuitError } from '../../src/resilience/errors/broken-circuit-error.js';
import { httpError, transient } from './support.js';

function breaker(options: CircuitBreakerOptions = {}) {
  const clock = new ManualClock();
  const policy = new CircuitBreakerPolicy({
    name: 'pg', window: { kind: 'count', size: 10 }, minimumCalls: 4, openMs: 1000, halfOpenCalls: 3, slowCallDurationMs: 500, clock, ...options,
  });
  const transitions: StateChangeEvent[] = [];
  policy.onStateChange((e) => transitions.push(e));
  const ok = () => policy.execute(async () => 'ok');
  const fail = () => policy.execute(async () => { throw transient(); }).catch((e) => e);
  /** A call that takes `ms` of virtual time (the function moves the clock). */
  const slow = (ms: number) => policy.execute(async () => (clock.advance(ms), 'slow'));
  const path = () => transitions.map((t) => `${t.from}→${t.to}:${t.reason}`);
  return { clock, policy, transitions, ok, fail, slow, path };
}

/** A call held open until released, to have calls in flight. */
function held() {
  let release!: () => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<string>((res, rej) => {
    release = () => res('ok');
    reject = rej;
  });
  return { fn: () => promise, release, reject };
}

async function openIt(b: ReturnType<typeof breaker>): Promise<void> {
  for (let i = 0; i < 4; i++) await b.fail();
  expect(b.policy.state).toBe('open');
}

describe('closed', () => {
  it('opens when the failure rate reaches the threshold over the window', async () => {
    const b = breaker({ failureRateThreshold: 0.5 });
    await b.ok();
    await b.ok();
    await b.fail();
    expect(b.policy.state).toBe('closed'); // 3 calls: below the minimum
    await b.fail(); // 4 calls, 2 failed: 50 %
    expect(b.policy.state).toBe('open');
    expect(b.transitions).toEqual([{ from: 'closed', to: 'open', reason: 'failure-rate', failureRate: 0.5, slowCallRate: 0 }]);
  });

  it('does not judge before the window holds the minimum number of calls', async () => {
    const b = breaker({ minimumCalls: 10 });
    for (let i = 0; i < 9; i++) await b.fail();
    expect(b.policy.state).toBe('closed');
    await b.fail();
    expect(b.policy.state).toBe('open');
  });

  it('opens when the slow-call rate reaches the threshold, though every call succeeded', async () => {
    const b = breaker({ slowCallRateThreshold: 0.75, slowCallDurationMs: 500 });
    await b.slow(500);
    await b.slow(800);
    await b.ok();
    expect(b.policy.state).toBe('closed');
    await b.slow(500); // 3 of 4 slow
    expect(b.path()).toEqual(['closed→open:slow-call-rate']);
    expect(b.transitions[0]!.slowCallRate).toBe(0.75);
  });

  it('stays closed below both thresholds', async () => {
    const b = breaker({ failureRateThreshold: 0.5, slowCallRateThreshold: 0.5 });
    for (let i = 0; i < 10; i++) {
      if (i % 3 === 1) await b.fail();
      else await b.ok();
    }
    expect(b.policy.state).toBe('closed'); // never more than 40 % failed
  });

  it('counts a fatal error as a success (the dependency answered) and an abort as nothing', async () => {
    const b = breaker();
    for (let i = 0; i < 6; i++) await b.policy.execute(async () => { throw httpError(400); }).catch(() => {});
    const controller = new AbortController();
    for (let i = 0; i < 6; i++) {
      await b.policy.execute(async () => {
        controller.abort();
        throw transient();
      }, controller.signal).catch(() => {});
    }
    expect(b.policy.state).toBe('closed');
  });

  it('a count window judges only the last `size` calls', async () => {
    const b = breaker({ window: { kind: 'count', size: 4 }, minimumCalls: 4, failureRateThreshold: 0.75 });
    await b.fail();
    await b.fail();
    await b.ok();
    await b.ok(); // 2 of 4
    await b.ok(); // the first failure leaves the window: 1 of 4
    await b.fail();
    await b.fail(); // ok, ok, fail, fail: 2 of the last 4
    expect(b.policy.state).toBe('closed');
    await b.fail(); // ok, fail, fail, fail
    expect(b.path()).toEqual(['closed→open:failure-rate']);
  });

  it('a time window forgets calls older than its duration', async () => {
    const b = breaker({ window: { kind: 'time', durationMs: 10_000 }, minimumCalls: 4 });
    await b.fail();
    await b.fail();
    await b.fail();
    b.clock.advance(10_000); // they age out
    await b.ok();
    await b.ok();
    await b.ok();
    await b.fail();
    expect(b.policy.state).toBe('closed'); // 1 of 4, not 4 of 7
    await b.fail();
    expect(b.policy.state).toBe('closed'); // 2 of 5
    await b.fail();
    expect(b.policy.state).toBe('open'); // 3 of 6
  });
});

describe('open', () => {
  it('refuses calls at once with a BrokenCircuitError that says when trial calls may start', async () => {
    const b = breaker({ openMs: 1000 });
    await openIt(b);
    b.clock.advance(400);
    let ran = false;
    const error = await b.policy.execute(async () => (ran = true)).catch((e) => e);
    expect(ran).toBe(false);
    expect(error).toBeInstanceOf(BrokenCircuitError);
    expect(error).toMatchObject({ state: 'open', halfOpenAt: 1000, retryAfterMs: 600, retriable: true, dependency: 'pg' });
    expect(b.policy.halfOpenAt).toBe(1000);
  });

  it('emits a reject event for each refused call', async () => {
    const b = breaker();
    const rejects: unknown[] = [];
    b.policy.onReject((e) => rejects.push(e));
    await openIt(b);
    await b.ok().catch(() => {});
    await b.ok().catch(() => {});
    expect(rejects).toEqual([{ state: 'open', retryAfterMs: 1000 }, { state: 'open', retryAfterMs: 1000 }]);
  });

  it('goes half-open on the first call after the wait, which is a trial', async () => {
    const b = breaker({ openMs: 1000 });
    await openIt(b);
    b.clock.advance(999);
    await expect(b.ok()).rejects.toBeInstanceOf(BrokenCircuitError);
    b.clock.advance(1);
    expect(b.policy.state).toBe('open'); // no call yet
    expect(await b.ok()).toBe('ok');
    expect(b.path()).toEqual(['closed→open:failure-rate', 'open→half-open:wait-elapsed']);
  });
});

describe('half-open', () => {
  async function halfOpen(options: CircuitBreakerOptions = {}) {
    const b = breaker(options);
    await openIt(b);
    b.clock.advance(1000);
    return b;
  }

  it('closes after the permitted number of trial calls succeed', async () => {
    const b = await halfOpen({ halfOpenCalls: 3 });
    await b.ok();
    await b.ok();
    expect(b.policy.state).toBe('half-open');
    await b.ok();
    expect(b.path().slice(1)).toEqual(['open→half-open:wait-elapsed', 'half-open→closed:trials-succeeded']);
  });

  it('opens again on a trial that fails, for another full wait', async () => {
    const b = await halfOpen();
    await b.ok();
    await b.fail();
    expect(b.path().slice(1)).toEqual(['open→half-open:wait-elapsed', 'half-open→open:trial-failed']);
    expect(b.policy.halfOpenAt).toBe(b.clock.now() + 1000);
  });

  it('opens again when the trials succeed but mostly slowly', async () => {
    const b = await halfOpen({ halfOpenCalls: 3, slowCallRateThreshold: 0.6 });
    await b.slow(600);
    await b.slow(600);
    await b.ok();
    expect(b.path().slice(1)).toEqual(['open→half-open:wait-elapsed', 'half-open→open:trials-slow']);
  });

  it('refuses calls beyond the permitted trials while they are in flight', async () => {
    const b = await halfOpen({ halfOpenCalls: 2 });
    const one = held();
    const two = held();
    const t1 = b.policy.execute(one.fn);
    const t2 = b.policy.execute(two.fn);
    const error = await b.ok().catch((e) => e);
    expect(error).toBeInstanceOf(BrokenCircuitError);
    expect(error).toMatchObject({ state: 'half-open', retryAfterMs: undefined, halfOpenAt: undefined });
    one.release();
    two.release();
    await Promise.all([t1, t2]);
    expect(b.policy.state).toBe('closed');
  });

  it('gives the slot of an aborted trial to the next call', async () => {
    const b = await halfOpen({ halfOpenCalls: 1 });
    const controller = new AbortController();
    const trial = held();
    const aborted = b.policy.execute(trial.fn, controller.signal);
    controller.abort();
    trial.reject(controller.signal.reason);
    await aborted.catch(() => {});
    expect(b.policy.state).toBe('half-open');
    expect(await b.ok()).toBe('ok');
    expect(b.policy.state).toBe('closed');
  });

  it('does not count calls that started before the circuit opened', async () => {
    const b = breaker({ halfOpenCalls: 1 });
    const late = held();
    const before = b.policy.execute(late.fn); // started while closed
    await openIt(b);
    b.clock.advance(1000);
    const trial = held();
    const t = b.policy.execute(trial.fn);
    late.release(); // finishes during the half-open state: not a trial
    await before;
    expect(b.policy.state).toBe('half-open');
    trial.release();
    await t;
    expect(b.policy.state).toBe('closed');
  });
});

describe('options', () => {
  it('validates once, naming the field', () => {
    expect(() => new CircuitBreakerPolicy({ failureRateThreshold: 0 })).toThrow(/breaker\.failureRateThreshold/);
    expect(() => new CircuitBreakerPolicy({ slowCallRateThreshold: 1.5 })).toThrow(/breaker\.slowCallRateThreshold/);
    expect(() => new CircuitBreakerPolicy({ window: { kind: 'count', size: 10 }, minimumCalls: 20 })).toThrow(InvalidArgumentError);
    expect(() => new CircuitBreakerPolicy({ halfOpenCalls: 0 })).toThrow(/breaker\.halfOpenCalls/);
    expect(() => new CircuitBreakerPolicy({ window: { kind: 'sliding' } as never })).toThrow(/breaker\.window\.kind/);
  });

  it('defaults: a 30 s time window, 20 calls minimum, 50 % failures or 80 % slow (5 s) calls, 10 s open, 5 trials', async () => {
    const clock = new ManualClock();
    const policy = new CircuitBreakerPolicy({ clock });
    for (let i = 0; i < 19; i++) await policy.execute(async () => { throw transient(); }).catch(() => {});
    expect(policy.state).toBe('closed');
    await policy.execute(async () => { throw transient(); }).catch(() => {});
    expect(policy.state).toBe('open');
    expect(policy.halfOpenAt).toBe(10_000);
    clock.advance(10_000);
    for (let i = 0; i < 5; i++) await policy.execute(async () => 'ok');
    expect(policy.state).toBe('closed');
  });
});

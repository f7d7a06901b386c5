// A named dependency behind every policy (src/resilience/dependency.ts, dependencies.ts): the
// order retry → bulkhead → breaker → timeout, the shared budgets, and the stats events feed.
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { Dependencies } from '../../src/resilience/dependencies.js';
import { Dependency, type DependencyOptions } from '../../src/resilience/dependency.js';
import { isBudgetExhausted } from '../../src/resilience/errors/budget-exhausted.js';
import { BrokenCircuitError } from '../../src/resilience/errors/broken-circuit-error.js';
import { TimeoutError } from '../../src/resilience/errors/timeout-error.js';
import { flush, stateOf, transient } from './support.js';

const never = () => new Promise<never>(() => {});

function dependency(options: Omit<DependencyOptions, 'clock'> = {}) {
  const clock = new ManualClock();
  const dep = new Dependency('postgres', { retry: { baseDelayMs: 0, maxAttempts: 3 }, ...options, clock });
  return { clock, dep };
}

/** Fails with the given errors in turn (a function: a call that never answers), then returns 'ok'. */
function script(...steps: (unknown | (() => Promise<never>))[]) {
  const f = Object.assign(async (signal: AbortSignal) => {
    f.signals.push(signal);
    const step = steps[f.signals.length - 1];
    if (step === undefined) return 'ok';
    if (typeof step === 'function') return (step as () => Promise<never>)();
    throw step;
  }, { signals: [] as AbortSignal[] });
  return f;
}

describe('a dependency', () => {
  it('runs one call through timeout, retry, breaker, bulkhead and budget, and counts it', async () => {
    const { dep } = dependency();
    const fn = script(transient(), transient());
    expect(await dep.execute(fn)).toBe('ok');
    expect(dep.stats).toEqual({
      name: 'postgres', calls: 1, successes: 1, failures: 0, attempts: 3, retries: 2, budgetRefusals: 0,
      timeouts: 0, bulkheadRejections: 0, breakerRejections: 0, breakerState: 'closed',
      breakerTransitions: { open: 0, 'half-open': 0, closed: 0 },
    });
  });

  it('gives every attempt its own deadline: a timed-out attempt is retried', async () => {
    const { clock, dep } = dependency({ timeout: { timeoutMs: 100 } });
    const fn = script(never); // the first attempt never answers
    const call = dep.execute(fn);
    await flush();
    clock.advance(100);
    expect(await call).toBe('ok');
    expect(fn.signals[0]!.reason).toBeInstanceOf(TimeoutError);
    expect(fn.signals[1]!.aborted).toBe(false);
    expect(dep.stats).toMatchObject({ attempts: 2, retries: 1, timeouts: 1 });
  });

  it('counts timed-out attempts as breaker failures', async () => {
    const { clock, dep } = dependency({
      retry: false, timeout: { timeoutMs: 100 }, breaker: { window: { kind: 'count', size: 2 }, minimumCalls: 2 },
    });
    const calls = [dep.execute(never), dep.execute(never)];
    clock.advance(100);
    await Promise.allSettled(calls);
    expect(dep.stats).toMatchObject({ timeouts: 2, breakerState: 'open', breakerTransitions: { open: 1 } });
  });

  it('an open circuit ends the retries at once: the call fails fast with BrokenCircuitError', async () => {
    const { dep } = dependency({ retry: { baseDelayMs: 0, maxAttempts: 5 }, breaker: { window: { kind: 'count', size: 2 }, minimumCalls: 2 } });
    const fn = script(transient(), transient(), transient());
    const error = await dep.execute(fn).catch((e) => e);
    expect(error).toBeInstanceOf(BrokenCircuitError); // the third attempt was refused, not made
    expect(fn.signals).toHaveLength(2);
    expect(dep.stats).toMatchObject({ attempts: 3, retries: 2, breakerRejections: 1, breakerState: 'open', failures: 1 });
  });

  it('holds no bulkhead slot during a backoff', async () => {
    const { clock, dep } = dependency({ retry: { baseDelayMs: 1000, maxAttempts: 2, random: () => 0.5 }, bulkhead: { maxConcurrent: 1, maxQueued: 0 } });
    const first = dep.execute(script(transient()));
    await flush(); // the first call failed and waits 500 ms
    expect(dep.bulkhead!.running).toBe(0);
    expect(await dep.execute(async () => 'meanwhile')).toBe('meanwhile');
    clock.advance(500);
    expect(await first).toBe('ok');
    expect(dep.stats.bulkheadRejections).toBe(0);
  });

  it('retries an attempt the full bulkhead refused, after a backoff', async () => {
    const { clock, dep } = dependency({ retry: { baseDelayMs: 100, maxAttempts: 2, random: () => 0.5 }, bulkhead: { maxConcurrent: 1, maxQueued: 0 } });
    let release!: (v: string) => void;
    const holder = dep.execute(() => new Promise<string>((r) => (release = r)));
    const second = dep.execute(async () => 'second');
    await flush();
    expect(dep.stats.bulkheadRejections).toBe(1);
    release('first');
    await flush();
    clock.advance(50);
    expect(await Promise.all([holder, second])).toEqual(['first', 'second']);
  });

  it('an aborted signal ends the call at once at every stage: queued in the bulkhead, in a backoff, in the call', async () => {
    const { dep } = dependency({ retry: { baseDelayMs: 60_000, maxAttempts: 2, random: () => 0.5 }, bulkhead: { maxConcurrent: 1, maxQueued: 1 } });
    const running = new AbortController();
    const inCall = dep.execute(never, running.signal); // holds the one slot, ignores its signal
    const queued = new AbortController();
    const inQueue = dep.execute(never, queued.signal);
    const backingOff = new AbortController();
    await flush();
    const inBackoff = dep.execute(script(transient()), backingOff.signal); // refused by the full bulkhead... then backs off
    await flush();
    expect(await stateOf(inBackoff)).toBe('pending');
    for (const c of [queued, backingOff, running]) c.abort(new Error('stop'));
    for (const p of [inQueue, inBackoff, inCall]) await expect(p).rejects.toThrow('stop');
    expect(dep.bulkhead!.running + dep.bulkhead!.queued).toBe(0);
  });

  it('turns a budget refusal into a distinct outcome in its stats', async () => {
    const { dep } = dependency({ budget: { minRetriesPerSec: 0, percentCanRetry: 0.5 } });
    const errors = [];
    for (let i = 0; i < 4; i++) errors.push(await dep.execute(script(transient(), transient(), transient())).catch((e) => e));
    expect(errors.map(isBudgetExhausted)).toEqual([true, true, true, true]);
    expect(dep.stats).toMatchObject({ calls: 4, failures: 4, retries: 2, budgetRefusals: 4 });
  });

  it('with every policy left out, calls the function directly', async () => {
    const { dep } = dependency({ retry: false, timeout: false, breaker: false, bulkhead: false, budget: false });
    const controller = new AbortController();
    let seen: AbortSignal | undefined;
    expect(await dep.execute(async (s) => ((seen = s), 7), controller.signal)).toBe(7);
    expect(seen).toBe(controller.signal);
    expect(dep.stats.breakerState).toBe('none');
  });
});

describe('dependencies of a process', () => {
  it('policyFor gives the same dependency for a name, and refuses options for one that exists', () => {
    const deps = new Dependencies({ clock: new ManualClock() });
    const pg = deps.policyFor('postgres', { retry: { maxAttempts: 5 } });
    expect(deps.policyFor('postgres')).toBe(pg);
    expect(() => deps.policyFor('postgres', { retry: { maxAttempts: 2 } })).toThrow(/exists already/);
  });

  it("shares the server-wide budget: one dependency's requests pay for another's retries", async () => {
    const clock = new ManualClock();
    const deps = new Dependencies({ clock, serverBudget: { minRetriesPerSec: 0, percentCanRetry: 0.5 } });
    const a = deps.policyFor('a', { budget: false, retry: { baseDelayMs: 0 } });
    const b = deps.policyFor('b', { budget: false, retry: { baseDelayMs: 0 } });
    await a.execute(script(transient())).catch(() => {}); // deposits half a retry: refused
    expect(await b.execute(script(transient()))).toBe('ok'); // deposits the other half: retried
    expect(a.stats).toMatchObject({ retries: 0, budgetRefusals: 1, failures: 1 });
    expect(b.stats).toMatchObject({ retries: 1, budgetRefusals: 0, successes: 1 });
    expect(deps.stats().map((s) => s.name)).toEqual(['a', 'b']);
  });

  it('a retry needs both its own budget and the server-wide one', async () => {
    const clock = new ManualClock();
    const deps = new Dependencies({ clock, serverBudget: { minRetriesPerSec: 0, percentCanRetry: 1 } });
    const a = deps.policyFor('a', { budget: { minRetriesPerSec: 0, percentCanRetry: 0 }, retry: { baseDelayMs: 0 } });
    await a.execute(script(transient())).catch(() => {});
    expect(a.stats.budgetRefusals).toBe(1);
    expect(deps.serverBudget!.balance).toBe(1); // nothing was taken from the server's
  });

  it('dispose() leaves no timer on the clock', async () => {
    const clock = new ManualClock();
    const deps = new Dependencies({ clock });
    await deps.policyFor('a').execute(async () => 1);
    expect(clock.sleeping).toBe(1); // the timeout's sleeper, until the deadline passes
    deps.dispose();
    expect(clock.sleeping).toBe(0);
  });
});

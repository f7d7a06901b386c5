// Composition (wrap), fallback and the typed events (src/resilience/policy.ts, fallback.ts, events.ts).
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { Emitter } from '../../src/resilience/events.js';
import { FallbackPolicy } from '../../src/resilience/fallback.js';
import { neverAborted, wrap, type Policy } from '../../src/resilience/policy.js';
import { RetryPolicy } from '../../src/resilience/retry.js';
import { TimeoutPolicy } from '../../src/resilience/timeout/timeout.js';
import { transient } from './support.js';

/** A policy that records when calls enter and leave it. */
function tracer(name: string, log: string[]): Policy {
  return {
    async execute(fn, signal) {
      log.push(`>${name}`);
      try {
        return await fn(signal ?? neverAborted);
      } finally {
        log.push(`<${name}`);
      }
    },
  };
}

describe('wrap', () => {
  it('runs the first policy outermost and the last one nearest the function', async () => {
    const log: string[] = [];
    const policy = wrap(tracer('a', log), tracer('b', log), tracer('c', log));
    expect(await policy.execute(async () => (log.push('fn'), 1))).toBe(1);
    expect(log).toEqual(['>a', '>b', '>c', 'fn', '<c', '<b', '<a']);
  });

  it('retry outside a timeout gives each attempt its own deadline; inside, one deadline covers all attempts', async () => {
    const clock = new ManualClock();
    const slowThenFast = () => {
      let n = 0;
      return () => (n++ === 0 ? new Promise<string>(() => {}) : Promise.resolve('ok'));
    };
    const retry = new RetryPolicy({ baseDelayMs: 0, clock });
    const perAttempt = wrap(retry, new TimeoutPolicy({ timeoutMs: 100, clock }));
    const call = perAttempt.execute(slowThenFast());
    clock.advance(100);
    expect(await call).toBe('ok');
    const overall = wrap(new TimeoutPolicy({ timeoutMs: 100, clock }), retry);
    const whole = overall.execute(slowThenFast()).catch((e) => e.name);
    clock.advance(100);
    expect(await whole).toBe('TimeoutError');
  });

  it('passes the caller signal through every layer', async () => {
    const log: string[] = [];
    const controller = new AbortController();
    let seen: AbortSignal | undefined;
    await wrap(tracer('a', log), tracer('b', log)).execute(async (s) => (seen = s), controller.signal);
    expect(seen).toBe(controller.signal);
  });

  it('of nothing calls the function directly', async () => {
    expect(await wrap().execute(async () => 5)).toBe(5);
  });
});

describe('fallback', () => {
  it('turns a failure into its value, and emits an event', async () => {
    const fallback = new FallbackPolicy({ value: () => 'cached' });
    const seen: unknown[] = [];
    fallback.onFallback((e) => seen.push(e.error));
    const boom = transient();
    expect(await fallback.execute(async () => { throw boom; })).toBe('cached');
    expect(await fallback.execute(async () => 'fresh')).toBe('fresh');
    expect(seen).toEqual([boom]);
  });

  it('does not answer a caller who aborted, nor errors it does not handle', async () => {
    const fallback = new FallbackPolicy({ value: () => 'cached', handles: (e) => e instanceof RangeError });
    const controller = new AbortController();
    controller.abort();
    await expect(fallback.execute(async () => { throw new RangeError('x'); }, controller.signal)).rejects.toThrow('x');
    await expect(fallback.execute(async () => { throw new TypeError('y'); })).rejects.toThrow('y');
    expect(await fallback.execute(async () => { throw new RangeError('z'); })).toBe('cached');
  });

  it('by default falls back on every error but an abort', async () => {
    const fallback = new FallbackPolicy({ value: (e) => `fallback for ${(e as Error).message}` });
    expect(await fallback.execute(async () => { throw new Error('bug'); })).toBe('fallback for bug');
    const abort = Object.assign(new Error('aborted'), { name: 'AbortError' });
    await expect(fallback.execute(async () => { throw abort; })).rejects.toBe(abort);
  });
});

describe('events', () => {
  afterEach(() => {
    vi.unstubAllGlobals();
  });

  it('subscribing returns the function that unsubscribes', () => {
    const emitter = new Emitter<number>();
    const got: number[] = [];
    const unsubscribe = emitter.on((n) => got.push(n));
    emitter.emit(1);
    unsubscribe();
    unsubscribe(); // twice does nothing more
    emitter.emit(2);
    expect(got).toEqual([1]);
    expect(emitter.active).toBe(false);
  });

  it('a listener subscribed twice is two subscriptions, each removed by its own function', () => {
    const emitter = new Emitter<number>();
    const got: number[] = [];
    const listener = (n: number) => got.push(n);
    const first = emitter.on(listener);
    emitter.on(listener);
    first();
    emitter.emit(1);
    expect(got).toEqual([1]);
  });

  it('a listener that throws does not stop the others or the policy: its error is rethrown on a microtask', async () => {
    const rethrown: unknown[] = [];
    vi.stubGlobal('queueMicrotask', (task: () => void) => {
      try {
        task();
      } catch (e) {
        rethrown.push(e);
      }
    });
    const clock = new ManualClock();
    const retry = new RetryPolicy({ baseDelayMs: 0, clock });
    const bad = new Error('listener bug');
    retry.onRetry(() => {
      throw bad;
    });
    let seen = 0;
    retry.onRetry(() => seen++);
    let n = 0;
    expect(await retry.execute(async () => {
      if (n++ === 0) throw transient();
      return 'ok';
    })).toBe('ok');
    expect(seen).toBe(1);
    expect(rethrown).toEqual([bad]);
  });
});

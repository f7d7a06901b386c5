// The timeout policy (src/resilience/timeout/): cooperative through the signal, enforced for the caller.
import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { InvalidArgumentError } from '../../src/engine/errors.js';
import { TimeoutError } from '../../src/resilience/errors/timeout-error.js';
import { TimeoutPolicy } from '../../src/resilience/timeout/timeout.js';
import { flush, stateOf } from './support.js';

const never = () => new Promise<never>(() => {});

describe('timeout', () => {
  it('releases a caller whose function ignores its signal at the deadline, with a TimeoutError', async () => {
    const clock = new ManualClock();
    const policy = new TimeoutPolicy({ timeoutMs: 1000, clock });
    const call = policy.execute(never);
    clock.advance(999);
    expect(await stateOf(call)).toBe('pending');
    clock.advance(1);
    const error = await call.catch((e) => e);
    expect(error).toBeInstanceOf(TimeoutError);
    expect(error.timeoutMs).toBe(1000);
  });

  it("aborts the function's signal at the deadline, with the TimeoutError as its reason", async () => {
    const clock = new ManualClock();
    const policy = new TimeoutPolicy({ timeoutMs: 500, clock });
    let seen: AbortSignal | undefined;
    const call = policy.execute((signal) => {
      seen = signal;
      return new Promise((_, reject) => signal.addEventListener('abort', () => reject(new Error('cancelled'))));
    });
    clock.advance(500);
    await expect(call).rejects.toBeInstanceOf(TimeoutError); // the caller gets the TimeoutError, not the function's own error
    expect(seen!.aborted).toBe(true);
    expect(seen!.reason).toBeInstanceOf(TimeoutError);
  });

  it('returns the value of a function that finishes in time, and its signal never aborts', async () => {
    const clock = new ManualClock();
    const policy = new TimeoutPolicy({ timeoutMs: 1000, clock });
    let seen: AbortSignal | undefined;
    expect(await policy.execute(async (s) => ((seen = s), 42))).toBe(42);
    clock.advance(5000);
    await flush();
    expect(seen!.aborted).toBe(false);
  });

  it("passes a function's own error through unchanged", async () => {
    const policy = new TimeoutPolicy({ timeoutMs: 1000, clock: new ManualClock() });
    const boom = new Error('boom');
    await expect(policy.execute(async () => { throw boom; })).rejects.toBe(boom);
    await expect(policy.execute(() => { throw boom; })).rejects.toBe(boom); // thrown synchronously too
  });

  it('rounds deadlines up to the resolution: a call times out between timeoutMs and timeoutMs + resolutionMs after it started', async () => {
    const clock = new ManualClock(0);
    const policy = new TimeoutPolicy({ timeoutMs: 1000, resolutionMs: 100, clock });
    clock.advance(30);
    const call = policy.execute(never); // started at 30: deadline rounded up from 1030 to 1100
    clock.set(1099);
    expect(await stateOf(call)).toBe('pending');
    clock.set(1100);
    expect(await stateOf(call)).toBe('rejected');
  });

  it('times out each of many calls sharing a deadline, and emits one event per call', async () => {
    const clock = new ManualClock();
    const policy = new TimeoutPolicy({ timeoutMs: 100, clock });
    const events: number[] = [];
    policy.onTimeout((e) => events.push(e.timeoutMs));
    const calls = [policy.execute(never), policy.execute(never), policy.execute(async () => 'fast')];
    clock.advance(100);
    const results = await Promise.allSettled(calls);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected', 'fulfilled']);
    expect(events).toEqual([100, 100]);
  });

  it('releases the caller at once when its own signal aborts, even if the function ignores the signal', async () => {
    const clock = new ManualClock();
    const policy = new TimeoutPolicy({ timeoutMs: 1000, clock });
    const controller = new AbortController();
    let seen: AbortSignal | undefined;
    const call = policy.execute((s) => ((seen = s), never()), controller.signal);
    const reason = new Error('caller went away');
    controller.abort(reason);
    await expect(call).rejects.toBe(reason);
    expect(seen!.reason).toBe(reason); // the function's signal aborts with the caller's
  });

  it("aborting one caller's signal does not release calls of other callers", async () => {
    const clock = new ManualClock();
    const policy = new TimeoutPolicy({ timeoutMs: 1000, clock });
    const a = new AbortController();
    const b = new AbortController();
    const first = policy.execute(never, a.signal);
    const second = policy.execute(never, b.signal);
    a.abort();
    expect(await stateOf(first)).toBe('rejected');
    expect(await stateOf(second)).toBe('pending');
  });

  it('refuses a call whose signal is already aborted without running it', async () => {
    const policy = new TimeoutPolicy({ timeoutMs: 1000, clock: new ManualClock() });
    let ran = false;
    await expect(policy.execute(async () => (ran = true), AbortSignal.abort('gone'))).rejects.toBe('gone');
    expect(ran).toBe(false);
  });

  it('keeps one sleeper on the clock for any number of calls, and none once they are done and their deadline passed', async () => {
    const clock = new ManualClock();
    const policy = new TimeoutPolicy({ timeoutMs: 1000, clock });
    const calls = Array.from({ length: 50 }, () => policy.execute(never));
    expect(clock.sleeping).toBe(1);
    clock.advance(1000);
    await Promise.allSettled(calls);
    await flush();
    expect(clock.sleeping).toBe(0);
  });

  it('dispose() cancels the sleeper, so a process on the system clock can exit', () => {
    const clock = new ManualClock();
    const policy = new TimeoutPolicy({ timeoutMs: 1000, clock });
    void policy.execute(async () => 1);
    expect(clock.sleeping).toBe(1);
    policy.dispose();
    expect(clock.sleeping).toBe(0);
  });

  it("adds one listener to a caller's signal however many calls run under it, and removes it once they are done", async () => {
    const clock = new ManualClock();
    const policy = new TimeoutPolicy({ timeoutMs: 1000, clock });
    const caller = new AbortController();
    const slow: Promise<unknown>[] = [];
    for (let i = 0; i < 30; i++) {
      slow.push(policy.execute(never, caller.signal)); // each in a deadline of its own
      clock.advance(10);
    }
    expect(getEventListeners(caller.signal, 'abort')).toHaveLength(1);
    await policy.execute(async () => 'fast', caller.signal);
    clock.advance(1000);
    await Promise.allSettled(slow);
    expect(getEventListeners(caller.signal, 'abort')).toHaveLength(0);
  });

  it('still times out on time when the clock goes back', async () => {
    const clock = new ManualClock(10_000);
    const policy = new TimeoutPolicy({ timeoutMs: 1000, clock });
    const early = policy.execute(never); // deadline 11,000
    clock.set(0);
    const late = policy.execute(never); // deadline 1,000: earlier than the sleeper was set for
    clock.set(1000);
    expect(await stateOf(late)).toBe('rejected');
    expect(await stateOf(early)).toBe('pending');
    clock.set(11_000);
    expect(await stateOf(early)).toBe('rejected');
  });

  it('validates its options once, naming the field', () => {
    expect(() => new TimeoutPolicy({ timeoutMs: 0 })).toThrow(/timeout\.timeoutMs/);
    expect(() => new TimeoutPolicy({ timeoutMs: 100, resolutionMs: 200 })).toThrow(InvalidArgumentError);
    expect(() => new TimeoutPolicy({ timeoutMs: 5 }).timeoutMs).not.toThrow(); // resolution defaults to at most the timeout
  });
});

// The bulkhead (src/resilience/bulkhead.ts): bounded concurrency, a bounded queue, rejection beyond.
import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import { BulkheadPolicy } from '../../src/resilience/bulkhead.js';
import { neverAborted } from '../../src/resilience/policy.js';
import { isRetriableError } from '../../src/resilience/classify.js';
import { BulkheadRejectedError } from '../../src/resilience/errors/bulkhead-rejected-error.js';
import { flush, stateOf } from './support.js';

/** Calls held open until released, recording which started. */
function gate() {
  const started: number[] = [];
  const releases = new Map<number, () => void>();
  const call = (id: number) => () => {
    started.push(id);
    return new Promise<number>((resolve) => releases.set(id, () => resolve(id)));
  };
  return { started, call, release: (id: number) => releases.get(id)!() };
}

describe('bulkhead', () => {
  it('runs at most maxConcurrent calls at once and queues the next ones in arrival order', async () => {
    const bulkhead = new BulkheadPolicy({ maxConcurrent: 2, maxQueued: 5 });
    const g = gate();
    const calls = [1, 2, 3, 4].map((id) => bulkhead.execute(g.call(id)));
    await flush();
    expect(g.started).toEqual([1, 2]);
    expect([bulkhead.running, bulkhead.queued]).toEqual([2, 2]);
    g.release(2);
    await flush();
    expect(g.started).toEqual([1, 2, 3]);
    g.release(1);
    await flush();
    expect(g.started).toEqual([1, 2, 3, 4]);
    g.release(3);
    g.release(4);
    expect(await Promise.all(calls)).toEqual([1, 2, 3, 4]);
    expect([bulkhead.running, bulkhead.queued]).toEqual([0, 0]);
  });

  it('rejects a call at once when the slots and the queue are full, with a retriable BulkheadRejectedError', async () => {
    const bulkhead = new BulkheadPolicy({ name: 'webhook', maxConcurrent: 1, maxQueued: 1 });
    const rejects: unknown[] = [];
    bulkhead.onReject((e) => rejects.push(e));
    const g = gate();
    void bulkhead.execute(g.call(1));
    void bulkhead.execute(g.call(2));
    let ran = false;
    const error = await bulkhead.execute(async () => (ran = true)).catch((e) => e);
    expect(ran).toBe(false);
    expect(error).toBeInstanceOf(BulkheadRejectedError);
    expect(error).toMatchObject({ dependency: 'webhook', maxConcurrent: 1, maxQueued: 1 });
    expect(isRetriableError(error)).toBe(true);
    expect(rejects).toEqual([{ running: 1, queued: 1 }]);
  });

  it('with no queue, rejects as soon as every slot is taken', async () => {
    const bulkhead = new BulkheadPolicy({ maxConcurrent: 1, maxQueued: 0 });
    const g = gate();
    void bulkhead.execute(g.call(1));
    await expect(bulkhead.execute(g.call(2))).rejects.toBeInstanceOf(BulkheadRejectedError);
  });

  it('an aborted signal takes a queued call out of the queue at once; it never runs', async () => {
    const bulkhead = new BulkheadPolicy({ maxConcurrent: 1, maxQueued: 5 });
    const g = gate();
    const first = bulkhead.execute(g.call(1));
    const controller = new AbortController();
    const queued = bulkhead.execute(g.call(2), controller.signal);
    const third = bulkhead.execute(g.call(3));
    expect(bulkhead.queued).toBe(2);
    const reason = new Error('gone');
    controller.abort(reason);
    await expect(queued).rejects.toBe(reason);
    expect(bulkhead.queued).toBe(1);
    g.release(1);
    await flush();
    expect(g.started).toEqual([1, 3]);
    g.release(3);
    await Promise.all([first, third]);
  });

  it("adds one listener to a caller's signal however many of its calls are queued, and none once they left", async () => {
    const bulkhead = new BulkheadPolicy({ maxConcurrent: 1, maxQueued: 50 });
    const g = gate();
    const shutdown = new AbortController();
    const calls = Array.from({ length: 30 }, (_, i) => bulkhead.execute(g.call(i), shutdown.signal));
    expect(bulkhead.queued).toBe(29);
    expect(getEventListeners(shutdown.signal, 'abort')).toHaveLength(1);
    shutdown.abort();
    g.release(0); // the running call ignores its signal; the queued ones left at once
    const results = await Promise.allSettled(calls);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', ...Array(29).fill('rejected')]);
    expect(getEventListeners(shutdown.signal, 'abort')).toHaveLength(0);
  });

  it('queued calls without a signal add no listener to the never-aborted signal every policy shares', async () => {
    const bulkheads = Array.from({ length: 12 }, () => new BulkheadPolicy({ maxConcurrent: 1, maxQueued: 1 }));
    const g = gate();
    for (const [i, b] of bulkheads.entries()) {
      void b.execute(g.call(2 * i));
      void b.execute(g.call(2 * i + 1));
    }
    expect(bulkheads.map((b) => b.queued)).toEqual(Array(12).fill(1));
    expect(getEventListeners(neverAborted, 'abort')).toHaveLength(0);
  });

  it('frees the slot of a call that fails', async () => {
    const bulkhead = new BulkheadPolicy({ maxConcurrent: 1, maxQueued: 0 });
    await expect(bulkhead.execute(async () => { throw new Error('x'); })).rejects.toThrow('x');
    expect(await bulkhead.execute(async () => 'next')).toBe('next');
  });

  it('does not start a call whose signal is already aborted', async () => {
    const bulkhead = new BulkheadPolicy();
    let ran = false;
    await expect(bulkhead.execute(async () => (ran = true), AbortSignal.abort('gone'))).rejects.toBe('gone');
    expect(ran).toBe(false);
    expect(bulkhead.running).toBe(0);
  });

  it('a queued call aborted as the running call finishes never runs, and no slot stays taken', async () => {
    const bulkhead = new BulkheadPolicy({ maxConcurrent: 1, maxQueued: 1 });
    const g = gate();
    void bulkhead.execute(g.call(1));
    const controller = new AbortController();
    const queued = bulkhead.execute(g.call(2), controller.signal);
    g.release(1);
    controller.abort();
    expect(await stateOf(queued)).toBe('rejected');
    expect(g.started).toEqual([1]);
    expect(bulkhead.running).toBe(0);
  });

  it('validates its options once, naming the field', () => {
    expect(() => new BulkheadPolicy({ maxConcurrent: 0 })).toThrow(/bulkhead\.maxConcurrent/);
    expect(() => new BulkheadPolicy({ maxQueued: -1 })).toThrow(/bulkhead\.maxQueued/);
  });
});

// Stream mappings in parallel and in batches: parallelizationFactor keeps each key's records in one
// batch at a time and in order while batches of a partition overlap; the batching window and the
// 6 MB payload shape batches.
import { setTimeout as delay } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { ManualClock, systemClock } from '../../src/clock.js';
import { records, rig, settle, until } from './streams-harness.js';

const T0 = 1_700_000_000_000;

describe('parallelizationFactor', () => {
  it('10 batches of one partition overlap, a key is never in two at once, and each key keeps its order', async () => {
    const inFlight = new Set<string>();
    let concurrent = 0;
    let maxConcurrent = 0;
    let overlapBreach = '';
    const seen = new Map<string, number[]>();
    const r = await rig({
      clock: systemClock,
      options: { parallelizationFactor: 10, batchSize: 10 },
      before: records(1000, 50), // 50 keys, 20 records each, all on one partition
      handler: async (data, call) => {
        for (const k of new Set(call.keys)) {
          if (inFlight.has(k)) overlapBreach = k;
          inFlight.add(k);
        }
        maxConcurrent = Math.max(maxConcurrent, ++concurrent);
        await delay(2);
        for (const [j, k] of call.keys.entries()) seen.set(k, [...(seen.get(k) ?? []), data[j].i]);
        for (const k of new Set(call.keys)) inFlight.delete(k);
        concurrent--;
        return null;
      },
    });
    await until(() => [...seen.values()].reduce((n, v) => n + v.length, 0) === 1000);
    expect(overlapBreach).toBe('');
    expect(maxConcurrent).toBeGreaterThan(1);
    expect(maxConcurrent).toBeLessThanOrEqual(10);
    for (const [k, is] of seen) {
      const n = Number(k.slice(1));
      expect(is).toEqual(Array.from({ length: 20 }, (_, j) => n + 50 * j));
    }
    await until(async () => (await r.committed()).get(0) === 1000);
  });

  it('a failing lane holds the checkpoint at its batch but does not stop the other lanes', async () => {
    const clock = new ManualClock(T0);
    const r = await rig({
      clock,
      options: { parallelizationFactor: 10, batchSize: 5 },
      before: records(100, 20), // key k<i % 20> at offset i
      handler: (data, call) => {
        if (call.keys.includes('k3')) throw new Error('k3 is down');
        return null;
      },
    });
    const failedKeys = () => new Set(r.calls.filter((c) => c.outcome === 'error').flatMap((c) => c.keys));
    const deliveredOf = (k: string) => r.calls.filter((c) => c.outcome === 'ok').flatMap((c) => c.keys).filter((x) => x === k).length;
    const others = () => Array.from({ length: 20 }, (_, n) => `k${n}`).filter((k) => !failedKeys().has(k));
    await until(() => failedKeys().size > 0 && others().every((k) => deliveredOf(k) === 5));
    expect(others().length).toBeGreaterThan(10); // most lanes went on
    expect(deliveredOf('k3')).toBe(0);
    const failing = r.calls.find((c) => c.outcome === 'error')!;
    await until(async () => (await r.committed()).get(0) === failing.data[0].i);
    await settle();
    expect((await r.committed()).get(0)).toBe(failing.data[0].i);
    expect((await r.mapping.stats()).partitions[0]!.state).toBe('RETRYING');
  });
});

describe('maximumBatchingWindow', () => {
  it('gathers records until the window passes, then invokes once with them', async () => {
    const clock = new ManualClock(T0);
    const r = await rig({ clock, options: { maximumBatchingWindow: 10, batchSize: 100 } });
    await r.append(records(3));
    await until(() => clock.sleeping > 0);
    await settle();
    expect(r.calls).toHaveLength(0);
    clock.advance(9_999);
    await settle();
    expect(r.calls).toHaveLength(0);
    clock.advance(1);
    await until(() => r.calls.length === 1);
    expect(r.calls[0]!.data.map((d) => d.i)).toEqual([0, 1, 2]);
    expect(r.calls[0]!.at).toBe(T0 + 10_000);
  });

  it('a full batch does not wait for the window', async () => {
    const clock = new ManualClock(T0);
    const r = await rig({ clock, options: { maximumBatchingWindow: 300, batchSize: 4 } });
    await r.append(records(9));
    await until(() => r.calls.length === 2);
    expect(r.calls.map((c) => [c.data.length, c.at])).toEqual([
      [4, T0],
      [4, T0],
    ]);
    clock.advance(300_000);
    await until(() => r.calls.length === 3);
    expect(r.calls[2]!.data.map((d) => d.i)).toEqual([8]);
  });
});

describe('batch size', () => {
  it('keeps an event under 6 MB however large batchSize is', async () => {
    const r = await rig({ clock: systemClock, options: { batchSize: 100 } });
    const big = 'x'.repeat(1024 * 1024 - 20);
    await r.append(Array.from({ length: 10 }, (_, i) => ({ key: 'k', data: { i, big } })));
    await until(() => r.calls.reduce((n, c) => n + c.data.length, 0) === 10);
    expect(r.calls.every((c) => c.json.length <= 6 * 1024 * 1024)).toBe(true);
    expect(r.calls.map((c) => c.data.length)).toEqual([4, 4, 2]); // 1 MiB is 1.33 MiB of base64
  });
});

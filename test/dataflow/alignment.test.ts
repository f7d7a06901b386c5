// Watermark alignment: a source partition far ahead in event time waits for the slowest source
// feeding the same keyed step, so a join does not buffer the fast side's whole backlog.
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { SqliteEngine } from '../../src/engine/sqlite/index.js';
import type { CommitUnit } from '../../src/engine/engine.js';
import { pipeline, tumbling } from '../../src/dataflow/index.js';
import { sourceUnit, stateKey } from '../../src/dataflow/runtime/layout.js';
import { PipelineRun } from '../../src/dataflow/runtime/runner.js';
import { decode } from '../../src/dataflow/runtime/wire.js';
import { allRecords } from '../support/engines.js';
import { tempDir } from '../support/tmp.js';

interface E { k: number; ts: number }
const enc = (v: unknown) => Buffer.from(JSON.stringify(v));
const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

/** 200 fast records (one a second) and 2,000 slow ones (ten a second) over the same 200 s; pairs in 10 s windows on k. */
async function run(maxDrift: number) {
  const engine = new SqliteEngine({ dataDir: join(tempDir(), 'data') });
  cleanup.push(() => engine.close());
  const clock = new ManualClock(1_000);
  const p = pipeline('align');
  const fast = p.source<E>('fast', { eventTime: (e) => e.ts }).keyBy((e) => e.k);
  const slow = p.source<E>('slow', { eventTime: (e) => e.ts }).keyBy((e) => e.k);
  fast.join(slow).window(tumbling('10s')).inner((f, s) => ({ f: f.ts, s: s.ts })).to('pairs');
  const fastEvents = Array.from({ length: 200 }, (_, i) => ({ k: i % 3, ts: i * 1000 }));
  const slowEvents = Array.from({ length: 2000 }, (_, i) => ({ k: i % 3, ts: i * 100 }));
  await engine.createStream('fast', { partitions: 1 });
  await engine.createStream('slow', { partitions: 1 });
  await engine.append('fast', fastEvents.map((e) => ({ partition: 0, value: enc(e) })));
  await engine.append('slow', slowEvents.map((e) => ({ partition: 0, value: enc(e) })));
  const r = await PipelineRun.start(engine, p, { tablesPath: join(tempDir(), 't.db'), clock, batch: 10, epochMs: 0, maxDrift });
  cleanup.push(() => r.stop());
  // Sample both source units' committed watermarks while the run reads its input.
  const marks = async () => {
    const [f, s] = await Promise.all([sourceUnit('fast', 0), sourceUnit('slow', 0)].map((u) => engine.getState(stateKey('align', u))));
    const w = (e: typeof f) => (e ? ((decode(e.value) as { sent: { w: number | null } }).sent.w ?? -Infinity) : -Infinity);
    return { fast: w(f), slow: w(s) };
  };
  let maxLead = -Infinity;
  const read = () => r.unitStats().filter((u) => u.unit.startsWith('s.')).reduce((n, u) => n + u.records, 0);
  while (read() < 2200) {
    const m = await marks();
    if (m.slow > -Infinity) maxLead = Math.max(maxLead, m.fast - m.slow);
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  clock.advance(60_000); // both go idle: the watermark goes to the last event time seen (199.9 s), closing every window but the last
  const want = fastEvents.filter((f) => f.ts < 190_000).reduce((n, f) => n + slowEvents.filter((s) => s.k === f.k && Math.floor(s.ts / 10_000) === Math.floor(f.ts / 10_000)).length, 0);
  for (let i = 0; i < 2000 && (await allRecords(engine, 'pairs')).length < want; i++) await new Promise((resolve) => setTimeout(resolve, 5));
  const pairs = (await allRecords(engine, 'pairs')).map((x) => JSON.stringify(x.value));
  const stats = new Map(r.unitStats().map((u) => [u.unit, u]));
  return { pairs, want, maxLead, paused: { fast: stats.get('s.fast.0')!.paused, slow: stats.get('s.slow.0')!.paused } };
}

it('a source partition maxDrift ahead of its peer waits; the results are the same', async () => {
  const aligned = await run(20_000);
  // One batch of the fast stream spans 10 s of event time: it is never further ahead than maxDrift and that.
  expect(aligned.maxLead).toBeLessThanOrEqual(20_000 + 10_000);
  expect(aligned.paused.fast).toBeGreaterThan(0);
  expect(aligned.paused.slow).toBe(0);
  expect(aligned.pairs.length).toBe(aligned.want);
  expect(new Set(aligned.pairs).size).toBe(aligned.want);

  const unaligned = await run(0);
  expect(unaligned.paused.fast).toBe(0);
  expect(unaligned.maxLead).toBeGreaterThan(100_000); // the fast side read everything first
  expect(unaligned.pairs.sort()).toEqual(aligned.pairs.sort());
});

it('a source does not read ahead of peers it has not seen yet: its first epoch is one batch, however long epochs may be', async () => {
  const engine = new SqliteEngine({ dataDir: join(tempDir(), 'data') });
  cleanup.push(() => engine.close());
  const p = pipeline('first');
  const slow = p.source<E>('slow', { eventTime: (e) => e.ts }).keyBy((e) => e.k);
  p.source<E>('fast', { eventTime: (e) => e.ts }).keyBy((e) => e.k).join(slow).window(tumbling('10s')).inner((f, s) => ({ f: f.ts, s: s.ts })).to('pairs');
  await engine.createStream('fast', { partitions: 1 });
  await engine.createStream('slow', { partitions: 1 });
  await engine.append('fast', Array.from({ length: 200 }, (_, i) => ({ partition: 0, value: enc({ k: i % 3, ts: i * 1000 }) })));
  await engine.append('slow', Array.from({ length: 2000 }, (_, i) => ({ partition: 0, value: enc({ k: i % 3, ts: i * 100 }) })));
  // The offsets each source unit commits, in order (the fast one is stepped first).
  const offsets = new Map<string, number[]>();
  const watched = new Proxy(engine, {
    get(target, prop) {
      if (prop !== 'commit') return typeof target[prop as keyof SqliteEngine] === 'function' ? (target[prop as keyof SqliteEngine] as Function).bind(target) : target[prop as keyof SqliteEngine];
      return async (unit: CommitUnit) => {
        for (const w of unit.state ?? []) {
          const u = ['fast', 'slow'].find((s) => w.key === stateKey('first', sourceUnit(s, 0)));
          if (u && w.value) offsets.set(u, [...(offsets.get(u) ?? []), (decode(w.value) as { offset: number }).offset]);
        }
        return target.commit(unit);
      };
    },
  });
  const r = await PipelineRun.start(watched, p, { tablesPath: join(tempDir(), 't.db'), clock: new ManualClock(1_000), batch: 10, epochMs: 60_000, maxDrift: 20_000 });
  cleanup.push(() => r.stop());
  while ((offsets.get('fast')?.at(-1) ?? 0) < 200) await new Promise((resolve) => setTimeout(resolve, 2));
  // Before, the fast unit's first epoch read its whole partition (200 records, 200 s of event time).
  expect(offsets.get('fast')![0]).toBe(10);
  expect(offsets.get('slow')![0]).toBe(10);
  // Then it reads more than a batch an epoch while within maxDrift of the slow one.
  expect(Math.max(...offsets.get('fast')!.map((o, i, a) => o - (a[i - 1] ?? 0)))).toBeGreaterThan(10);
});

it('a peer that has read all its input does not hold the others back (it is behind only because it has nothing to read)', async () => {
  const engine = new SqliteEngine({ dataDir: join(tempDir(), 'data') });
  cleanup.push(() => engine.close());
  const p = pipeline('caught-up');
  const dims = p.source<E>('dims', { eventTime: (e) => e.ts }).keyBy((e) => e.k);
  p.source<E>('events', { eventTime: (e) => e.ts }).keyBy((e) => e.k).join(dims).between('-1h', 0).inner((e, d) => ({ e: e.ts, d: d.ts })).to('pairs');
  await engine.createStream('dims', { partitions: 1 });
  await engine.createStream('events', { partitions: 1 });
  await engine.append('dims', [0, 1, 2].map((k) => ({ partition: 0, value: enc({ k, ts: 0 }) })));
  await engine.append('events', Array.from({ length: 600 }, (_, i) => ({ partition: 0, value: enc({ k: i % 3, ts: i * 1000 }) })));
  // The clock never moves: 'dims' never turns idle, so only its being caught up lets 'events' run 10 minutes ahead of it.
  const r = await PipelineRun.start(engine, p, { tablesPath: join(tempDir(), 't.db'), clock: new ManualClock(1_000), batch: 10, epochMs: 0, maxDrift: 10_000 });
  cleanup.push(() => r.stop());
  for (let i = 0; i < 2000 && (await allRecords(engine, 'pairs')).length < 600; i++) await new Promise((resolve) => setTimeout(resolve, 5));
  expect((await allRecords(engine, 'pairs')).length).toBe(600);
});

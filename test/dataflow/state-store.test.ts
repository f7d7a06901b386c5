// Operator state saved key by key (decision 007): what an epoch changed, in chunks, folded into a
// new base now and then. Loading the segments rebuilds the live state exactly — values and the
// iteration order operators fire keys in.
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { combine, count, distinctCount } from '../../src/dataflow/index.js';
import { loadState, saveState, EMPTY_STORE, type StoreRef } from '../../src/dataflow/runtime/state-store.js';
import { KeyedState, type KeyedStateOptions } from '../../src/dataflow/keyed-state.js';
import { WindowOperator } from '../../src/dataflow/window-operator.js';
import { session, sliding, tumbling } from '../../src/dataflow/windows.js';
import { IntervalJoinOperator, WindowJoinOperator } from '../../src/dataflow/join-operators.js';
import type { NodeChange, StateEntry } from '../../src/dataflow/executor.js';
import type { Engine } from '../../src/engine/engine.js';
import { SqliteEngine } from '../../src/engine/sqlite/index.js';
import { tempDir } from '../support/tmp.js';

const engines: Engine[] = [];
afterEach(async () => {
  for (const e of engines.splice(0)) await e.close();
});

const UNIT = '_sluice/pipelines/p/units/k1.0';

/** A seeded generator (the test is the same on every run). */
function random(seed: number) {
  return () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
}

it('loads exactly the live state after many epochs of changes, chunks, new bases and dropped segments', async () => {
  const engine = new SqliteEngine({ dataDir: join(tempDir(), 'data') });
  engines.push(engine);
  const op = new WindowOperator({ spec: tumbling('1s'), allowedLateness: 0, agg: count() }, () => {});
  const rnd = random(42);
  let ref: StoreRef = EMPTY_STORE;
  let bases = 0;
  let maxChunks = 0;
  let t = 0;
  for (let epoch = 1; epoch <= 120; epoch++) {
    for (let i = 0; i < 20; i++) {
      t += Math.floor(rnd() * 100);
      op.add(0, `k${Math.floor(rnd() * 25)}`, {}, t - Math.floor(rnd() * 300), t - 1000);
      // Fires and purges: keys are deleted, and come back (within an epoch too) at the end of the order.
      if (i % 5 === 4) op.advance(t - 1000);
    }
    const changes: NodeChange[] = op.state.changes().map((c) => [1, ...c]);
    const all = (): StateEntry[] => [...op.state.entries()].map(([k, v]) => [1, k, v]);
    const saved = saveState(UNIT, ref, epoch, changes, all, { chunkBytes: 300, compactBytes: 3000 });
    await engine.commit({ state: [...saved.before, { key: UNIT, value: new TextEncoder().encode(JSON.stringify(saved.ref)) }, ...saved.after] });
    if (saved.ref.base !== ref.base && saved.ref.base) bases++;
    ref = saved.ref;
    maxChunks = Math.max(maxChunks, ...ref.deltas.map((d) => d.chunks), ref.base?.chunks ?? 0);

    const { base, deltas } = await loadState(engine, UNIT, ref);
    const loaded = new KeyedState<unknown>();
    loaded.load(base.map(([, k, v]) => [k, v]), deltas.map((d) => d.map(([, ...c]) => c)));
    expect(JSON.stringify([...loaded.entries()])).toBe(JSON.stringify([...op.state.entries()]));
    // Only the segments the unit's key names are kept.
    const kept = [...(await engine.listState(`${UNIT}/`)).keys()].sort();
    const named = [
      ...(ref.base ? Array.from({ length: ref.base.chunks }, (_, i) => `${UNIT}/b/${ref.base!.epoch}/${i}`) : []),
      ...ref.deltas.flatMap((d) => Array.from({ length: d.chunks }, (_, i) => `${UNIT}/d/${d.epoch}/${i}`)),
    ].sort();
    expect(kept).toEqual(named);
  }
  expect(bases).toBeGreaterThan(3);
  expect(maxChunks).toBeGreaterThan(1);
});

it('splits one key whose state is larger than a chunk over several chunks, and loads it back', async () => {
  const engine = new SqliteEngine({ dataDir: join(tempDir(), 'data') });
  engines.push(engine);
  const big = 'é'.repeat(5000); // 10,000 bytes of UTF-8, cut through multi-byte characters
  const saved = saveState(UNIT, EMPTY_STORE, 1, [[1, 'hot', 2, big]], () => [], { chunkBytes: 999, compactBytes: 1_000_000 });
  expect(saved.before.length).toBe(11);
  await engine.commit({ state: saved.before });
  expect(await loadState(engine, UNIT, saved.ref)).toEqual({ base: [], deltas: [[[1, 'hot', 2, big]]] });
});

it('an epoch that changed nothing writes nothing', () => {
  expect(saveState(UNIT, EMPTY_STORE, 1, [], () => [])).toEqual({ before: [], after: [], ref: EMPTY_STORE });
});

it('keeps the order of keys deleted and inserted again within one epoch', () => {
  const live = new KeyedState<number>();
  live.set('a', 1);
  live.set('b', 2);
  live.set('c', 3);
  const base = [...live.entries()];
  live.changes();
  live.delete('a');
  live.set('a', 10); // now last
  live.set('b', 20); // in place
  live.delete('c');
  live.set('d', 4);
  const loaded = new KeyedState<number>();
  loaded.load(base, [live.changes()]);
  expect([...loaded.entries()]).toEqual([['b', 20], ['a', 10], ['d', 4]]);
  expect([...live.entries()]).toEqual([...loaded.entries()]);
});

it('a key inserted and deleted within one epoch leaves nothing to save; a saved key deleted, even after coming back, is saved as deleted', () => {
  const live = new KeyedState<number>();
  live.set('a', 1);
  live.set('b', 2);
  const base = [...live.entries()];
  live.changes();
  live.set('x', 5); // new this epoch, gone again within it
  live.delete('x');
  live.delete('a'); // saved: its deletion must be saved
  live.delete('b'); // saved, back, and gone again
  live.set('b', 3);
  live.delete('b');
  expect(live.changes()).toEqual([['a', 0], ['b', 0]]);
  live.set('y', 7);
  live.delete('y');
  live.set('y', 8); // fresh again: saved as inserted
  const changes = live.changes();
  expect(changes).toEqual([['y', 2, 8]]);
  const loaded = new KeyedState<number>();
  loaded.load(base, [[['a', 0], ['b', 0]], changes]);
  expect([...loaded.entries()]).toEqual([['y', 8]]);
});

it('joins save buffered records as appended items; loading them rebuilds the live state exactly', () => {
  const ops = [
    new IntervalJoinOperator({ lower: -500, upper: 0, allowedLateness: 200, outer: false, select: (l, r) => [l, r] }, () => {}),
    new IntervalJoinOperator({ lower: -500, upper: 0, allowedLateness: 200, outer: true, select: (l, r) => [l, r] }, () => {}),
    new WindowJoinOperator({ spec: tumbling('1s'), allowedLateness: 300, outer: false, select: (l, r) => [l, r] }, () => {}),
    new WindowJoinOperator({ spec: sliding('1s', '500ms'), allowedLateness: 300, outer: true, select: (l, r) => [l, r] }, () => {}),
  ];
  for (const op of ops) {
    const rnd = random(7);
    const loaded = new KeyedState<unknown>(op.state.options as KeyedStateOptions<unknown>);
    const deltas: string[] = [];
    let appendedItems = 0; // (records added, and for interval joins records dropped at a watermark)
    let t = 0;
    for (let epoch = 1; epoch <= 80; epoch++) {
      for (let i = 0; i < 15; i++) {
        t += Math.floor(rnd() * 60);
        op.add(rnd() < 0.5 ? 0 : 1, `k${Math.floor(rnd() * 8)}`, { i }, t - Math.floor(rnd() * 400), t - 600);
        if (i % 4 === 3) op.advance(t - 600);
      }
      const changes = op.state.changes();
      appendedItems += changes.filter((c) => c[1] === 3).reduce((n, c) => n + (c[2] as unknown[]).length, 0);
      deltas.push(JSON.stringify(changes)); // as stored when the epoch commits
      loaded.load([], deltas.map((d) => JSON.parse(d)));
      expect(JSON.stringify([...loaded.entries()])).toBe(JSON.stringify([...op.state.entries()]));
    }
    // Most records were saved alone, not with their key's whole buffer.
    expect(appendedItems).toBeGreaterThan(0);
  }
});

it('a windowed join saves a late record joining a window that already fired as the record alone', () => {
  const pairs: unknown[] = [];
  const op = new WindowJoinOperator({ spec: tumbling('1s'), allowedLateness: 10_000, outer: false, select: (l, r) => [l, r] }, (v) => pairs.push(v));
  for (let i = 0; i < 100; i++) op.add(1, 'hot', { r: i }, i, 0);
  op.advance(1_000); // fires the window [0, 1s): no left records yet
  op.state.changes();
  op.add(0, 'hot', { l: 1 }, 500, 1_000); // late, allowed: pairs with the 100 held at once
  op.add(0, 'hot', { l: 2 }, 600, 1_000);
  expect(pairs).toHaveLength(200);
  expect(op.state.changes()).toEqual([['hot', 3, [[0, 1_000, 0, { v: { l: 1 } }], [0, 1_000, 0, { v: { l: 2 } }]]]]);
});

it('a record joining a key already saved is saved alone, not with the key\'s whole buffer', () => {
  const op = new IntervalJoinOperator({ lower: -500, upper: 0, allowedLateness: 0, outer: false, select: (l, r) => [l, r] }, () => {});
  op.add(1, 'ad1', { ad: 1 }, 100, 0);
  expect(op.state.changes()).toEqual([['ad1', 2, { l: [], r: [{ v: { ad: 1 }, t: 100 }] }]]);
  op.add(0, 'ad1', { view: 1 }, 150, 0);
  op.add(0, 'ad1', { view: 2 }, 160, 0);
  expect(op.state.changes()).toEqual([['ad1', 3, [[0, { v: { view: 1 }, t: 150 }], [0, { v: { view: 2 }, t: 160 }]]]]);
});

it.each([false, true])('an interval join key holding many records saves what each epoch added, dropped and matched, not its whole buffer (left join: %s)', (outer) => {
  let pairs = 0;
  const op = new IntervalJoinOperator({ lower: -1000, upper: 0, allowedLateness: 0, outer, select: (l, r) => [l, r] }, () => pairs++);
  const loaded = new KeyedState<unknown>(op.state.options as KeyedStateOptions<unknown>);
  const deltas: unknown[][] = [];
  const sizes: number[] = [];
  let t = 0;
  for (let epoch = 0; epoch < 50; epoch++) {
    for (let i = 0; i < 100; i++) {
      if (outer) op.add(0, 'hot', { l: t }, t - 500, t - 1500); // left records, matched by right records arriving later
      op.add(1, 'hot', { i: t }, t++, t - 1500); // ~1,000 records held a side
    }
    op.advance(t - 1500);
    const changes = op.state.changes();
    sizes.push(JSON.stringify(changes).length);
    deltas.push(JSON.parse(JSON.stringify(changes)));
  }
  loaded.load([], deltas as never);
  expect(JSON.stringify([...loaded.entries()])).toBe(JSON.stringify([...op.state.entries()]));
  expect((op.state.entries().next().value![1] as { r: unknown[] }).r.length).toBeGreaterThan(900);
  if (outer) expect(pairs).toBeGreaterThan(1_000_000);
  // 100 records a side of ~25 bytes, their first matches and a drop: the whole buffers (~1,000
  // records a side) were ~25 KB a side an epoch.
  expect(Math.max(...sizes.slice(1))).toBeLessThan(outer ? 8_000 : 3_500);
});

it('an interval join keeps each key\'s buffers in time order (out-of-order arrivals, buffers saved unsorted by an older version)', () => {
  const pairs: unknown[] = [];
  const op = new IntervalJoinOperator({ lower: -200, upper: 0, allowedLateness: 0, outer: true, select: (l, r) => [l, r] }, (v) => pairs.push(v));
  // A key saved before buffers were sorted: its right records in arrival order.
  op.state.load([['k', { l: [], r: [{ v: 'r300', t: 300 }, { v: 'r100', t: 100 }, { v: 'r200', t: 200 }] }]]);
  op.add(0, 'k', 'l250', 250, 0); // pairs with right records in [50, 250]
  expect(pairs).toEqual([['l250', 'r100'], ['l250', 'r200']]);
  op.add(1, 'k', 'r240', 240, 0); // out of order: between r200 and r300
  op.add(0, 'k', 'l150', 150, 0); // nothing in [-50, 150] but r100
  expect(pairs.slice(2)).toEqual([['l250', 'r240'], ['l150', 'r100']]);
  expect((op.state.entries().next().value![1] as { r: { t: number }[] }).r.map((r) => r.t)).toEqual([100, 200, 240, 300]);
  op.state.changes();
  op.advance(251); // drops right records below 251 - 200 = 51... none; left records below 251: both
  expect(pairs.length).toBe(4); // both left records had matched: no (left, null)
  expect((op.state.entries().next().value![1] as { l: unknown[] }).l).toEqual([]);
  op.advance(420); // right records below 420 - 200 = 220 go
  expect((op.state.entries().next().value![1] as { r: { t: number }[] }).r.map((r) => r.t)).toEqual([240, 300]);
});

it('a spilled value read back and left unchanged leaves memory without being written again; a changed one is written', () => {
  const rows = new Map<string | number, string>();
  const puts: (string | number)[] = [];
  const store = {
    get: (k: string | number) => rows.get(k),
    put: (entries: [string | number, string][]) => {
      for (const [k, v] of entries) {
        rows.set(k, v);
        puts.push(k);
      }
    },
    delete: (k: string | number) => void rows.delete(k),
    clear: () => rows.clear(),
  };
  const state = new KeyedState<{ n: number }>();
  state.spillTo(store, 2);
  for (const k of ['a', 'b', 'c', 'd']) state.set(k, { n: 0 });
  state.evict();
  expect(puts).toEqual(['a', 'b']); // the two least recently used
  // Reading every key round and round, as a stream–table lookup does: the two that had never been
  // written are written once when they first leave memory, then nothing more.
  for (let round = 0; round < 3; round++) {
    for (const k of ['a', 'b', 'c', 'd']) {
      expect(state.get(k)).toEqual({ n: 0 });
      state.evict();
    }
  }
  expect(puts.sort()).toEqual(['a', 'b', 'c', 'd']);
  puts.length = 0;
  const v = state.get('a')!;
  v.n = 5; // changed in place, as operators do, and said so
  state.touch('a');
  for (const k of ['b', 'c', 'd']) {
    state.get(k);
    state.evict();
  }
  expect(puts).toEqual(['a']);
  expect(state.get('a')).toEqual({ n: 5 });
  expect([...state.entries()]).toEqual([['a', { n: 5 }], ['b', { n: 0 }], ['c', { n: 0 }], ['d', { n: 0 }]]);
});

it('a window counting distinct values saves what each epoch added, not its whole accumulator; loading merges it back', () => {
  const results: unknown[] = [];
  const op = new WindowOperator({ spec: tumbling('1h'), allowedLateness: 0, agg: combine({ views: count(), users: distinctCount((v: { u: number }) => v.u) }) }, (r) => results.push(r));
  const loaded = new KeyedState<unknown>(op.state.options as KeyedStateOptions<unknown>);
  const deltas: unknown[][] = [];
  const sizes: number[] = [];
  for (let epoch = 0; epoch < 50; epoch++) {
    // A hot campaign: 200 new users an epoch, and 200 views from users seen before.
    for (let i = 0; i < 200; i++) op.add(0, 'hot', { u: epoch * 200 + i }, epoch * 1000 + i, 0);
    for (let i = 0; i < 200; i++) op.add(0, 'hot', { u: i * 7 }, epoch * 1000 + i, 0);
    const changes = op.state.changes();
    sizes.push(JSON.stringify(changes).length);
    deltas.push(JSON.parse(JSON.stringify(changes)));
  }
  loaded.load([], deltas as never);
  expect(JSON.stringify([...loaded.entries()])).toBe(JSON.stringify([...op.state.entries()]));
  const [, windows] = [...op.state.entries()][0]!;
  expect((windows[0]!.acc as { users: unknown[] }).users).toHaveLength(10_000);
  // The whole accumulator (10,000 users by the end, ~60 KB) was written every epoch before.
  expect(Math.max(...sizes.slice(1))).toBeLessThan(4_000);
  op.advance(3_600_000);
  expect(results).toEqual([{ key: 'hot', windowStart: 0, windowEnd: 3_600_000, views: 20_000, users: 10_000 }]);
});

it.each([
  ['tumbling', tumbling('1s')],
  ['sliding', sliding('1s', '250ms')],
  ['session', session('300ms')],
] as const)('%s windows with a growing accumulator: loading the saved epochs rebuilds the live state, late updates and merges included', (_, spec) => {
  const op = new WindowOperator({ spec, allowedLateness: 500, agg: combine({ n: count(), users: distinctCount((v: { u: number }) => v.u) }) }, () => {});
  const loaded = new KeyedState<unknown>(op.state.options as KeyedStateOptions<unknown>);
  const rnd = random(11);
  const deltas: string[] = [];
  let t = 0;
  let items = 0;
  for (let epoch = 1; epoch <= 80; epoch++) {
    for (let i = 0; i < 20; i++) {
      t += Math.floor(rnd() * 40);
      op.add(0, `k${Math.floor(rnd() * 5)}`, { u: Math.floor(rnd() * 30) }, t - Math.floor(rnd() * 700), t - 800);
      if (i % 5 === 4) op.advance(t - 800);
    }
    const changes = op.state.changes();
    items += changes.filter((c) => c[1] === 3).length;
    deltas.push(JSON.stringify(changes));
    loaded.load([], deltas.map((d) => JSON.parse(d)));
    expect(JSON.stringify([...loaded.entries()])).toBe(JSON.stringify([...op.state.entries()]));
  }
  expect(items).toBeGreaterThan(0);
});

it('a window keeps no delta accumulator while its state is never saved (the test driver), and does once it is', () => {
  const op = new WindowOperator({ spec: tumbling('1h'), allowedLateness: 0, agg: distinctCount((v: { u: number }) => v.u) }, () => {});
  const deltaOf = () => ([...op.state.entries()][0]![1] as { delta?: unknown }[])[0]!.delta;
  op.add(0, 'k', { u: 1 }, 0, 0);
  op.add(0, 'k', { u: 2 }, 1, 0);
  expect(deltaOf()).toBeUndefined(); // (the records are counted once, in the window's accumulator)
  expect(op.state.changes()).toEqual([['k', 2, [{ start: 0, end: 3_600_000, acc: [1, 2], fired: false }]]]);
  op.add(0, 'k', { u: 3 }, 2, 0);
  expect(deltaOf()).toEqual([3]);
  expect(op.state.changes()).toEqual([['k', 3, [[0, 3_600_000, [3]]]]]);
});

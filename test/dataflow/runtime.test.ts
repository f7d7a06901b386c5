// Pipelines running on the engines as units of work: shuffles, pre-aggregation, table sinks,
// restarts from committed state, fencing, worker threads, and bad records.
import Database from 'better-sqlite3';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import type { CommitUnit, Engine } from '../../src/engine/engine.js';
import { SqliteEngine } from '../../src/engine/sqlite/index.js';
import { fileURLToPath } from 'node:url';
import { count, pipeline, session, tumbling } from '../../src/dataflow/index.js';
import { keyedUnit, keyGroupOf, Layout, metaKey, stateKey } from '../../src/dataflow/runtime/layout.js';
import { campaignPipeline, MIN, type Ad, type View } from './fixtures/campaigns.js';
import { PipelineRun, LeaseLostError, retryPauseMs, type RunOptions } from '../../src/dataflow/runtime/runner.js';
import { TablesDb } from '../../src/connectors/sqlite/index.js';
import { resetPipeline } from '../../src/cli/pipelines.js';
import { allRecords, natsFactory } from '../support/engines.js';
import { tempDir } from '../support/tmp.js';

const FIXTURE = fileURLToPath(new URL('./fixtures/campaigns.ts', import.meta.url));
const enc = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));

/** Ads and views over `minutes`, plus a closing record per partition far ahead so every window fires. */
function traffic(minutes: number) {
  const ads: Ad[] = [];
  const views: View[] = [];
  for (let m = 0; m < minutes; m++) {
    for (let a = 0; a < 6; a++) ads.push({ adId: `ad${m}-${a}`, campaignId: `c${a % 3}`, ts: m * MIN + a });
    for (let i = 0; i < 40; i++) views.push({ adId: `ad${m}-${i % 6}`, ts: m * MIN + 1000 + i * 100, ip: i % 10 === 0 ? 'bot' : `10.0.0.${i}`, cost: i % 7 }); // (costs repeat: distinctCount counts fewer than views)
  }
  return { ads, views };
}

function expected({ ads, views }: ReturnType<typeof traffic>) {
  const byAd = new Map(ads.map((a) => [a.adId, a]));
  const rows = new Map<string, { views: number; spend: number; costs: Set<number> }>();
  for (const v of views) {
    const a = byAd.get(v.adId);
    if (v.ip === 'bot' || !a || v.ts < a.ts || v.ts > a.ts + 10 * MIN) continue;
    const k = JSON.stringify([a.campaignId, v.ts - (v.ts % MIN)]);
    const r = rows.get(k) ?? { views: 0, spend: 0, costs: new Set<number>() };
    rows.set(k, { views: r.views + 1, spend: r.spend + v.cost, costs: r.costs.add(v.cost) });
  }
  return new Map([...rows].map(([k, r]) => [k, { views: r.views, spend: r.spend, costs: r.costs.size }]));
}

async function feed(engine: Engine, t: ReturnType<typeof traffic>, minutes: number) {
  await engine.createStream('ads', { partitions: 2 });
  await engine.createStream('views', { partitions: 3 });
  for (let i = 0; i < t.views.length; i += 100) {
    await engine.append('views', t.views.slice(i, i + 100).map((v) => ({ key: v.adId, value: enc(v) })));
  }
  await engine.append('ads', t.ads.map((a) => ({ key: a.adId, value: enc(a) })));
  const end = (minutes + 30) * MIN;
  for (let p = 0; p < 3; p++) await engine.append('views', [{ partition: p, value: enc({ adId: 'end', ts: end, ip: 'x', cost: 0 }) }]);
  for (let p = 0; p < 2; p++) await engine.append('ads', [{ partition: p, value: enc({ adId: 'end', campaignId: 'none', ts: end }) }]);
}

function table(path: string) {
  if (!existsSync(path)) return new Map();
  const db = new Database(path, { readonly: true });
  try {
    const rows = db.prepare('SELECT key, windowStart, views, spend, costs FROM per_campaign').all() as { key: string; windowStart: number; views: number; spend: number; costs: number }[];
    return new Map(rows.map((r) => [JSON.stringify([r.key, r.windowStart]), { views: r.views, spend: r.spend, costs: r.costs }]));
  } catch {
    return new Map();
  } finally {
    db.close();
  }
}

let debug: (() => string) | undefined;
async function until(cond: () => boolean | Promise<boolean>, what: string, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${debug ? `: ${debug()}` : ''}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const runs: PipelineRun[] = [];
const engines: Engine[] = [];
afterEach(async () => {
  for (const r of runs.splice(0)) await r.stop();
  for (const e of engines.splice(0)) await e.close();
});

function setup() {
  const dir = tempDir();
  const engine = new SqliteEngine({ dataDir: join(dir, 'data') });
  engines.push(engine);
  return { dir, engine, tablesPath: join(dir, 'tables.db'), clock: new ManualClock(1_000) };
}

describe('pipelines on the sqlite engine', () => {
  it('joins, shuffles, pre-aggregates and upserts a table equal to a batch computation', async () => {
    const { engine, tablesPath, clock } = setup();
    const run = await tableEqualsBatch(engine, tablesPath, clock, 12);
    const stats = run.unitStats();
    expect(stats.filter((s) => s.unit.startsWith('s.views.')).reduce((n, s) => n + s.records, 0)).toBe(traffic(12).views.length + 3);
    expect(stats.reduce((n, s) => n + s.late, 0)).toBe(0);
  });

  it('keeps at most stateKeysInMemory values of a key group in memory and spills the rest to disk: the table is the same', async () => {
    const { engine, tablesPath, clock } = setup();
    const run = await tableEqualsBatch(engine, tablesPath, clock, 12, { stateKeysInMemory: 3, batch: 16 });
    const keyed = run.unitStats().filter((s) => s.unit.startsWith('k'));
    expect(keyed.reduce((n, s) => n + s.spilled, 0)).toBeGreaterThan(50);
    for (const s of keyed) expect(s.inMemory).toBeLessThanOrEqual(3);
  });

  it('a restarted run resumes from committed state: nothing lost, nothing counted twice', async () => {
    const { dir, engine, tablesPath, clock } = setup();
    await restartResumes(engine, tablesPath, clock, 8, () => {
      const reopened = new SqliteEngine({ dataDir: join(dir, 'data') });
      engines.push(reopened);
      return reopened;
    });
  });

  it('runs on two worker threads, stops midway, and resumes on one thread: the worker count changes, the state does not', async () => {
    const { dir, engine, tablesPath, clock } = setup();
    const t = traffic(10);
    await feed(engine, t, 10);
    const engineConfig = { kind: 'sqlite' as const, dataDir: join(dir, 'data') };
    const threaded = await PipelineRun.start(engine, campaignPipeline(), { tablesPath, clock, keyGroups: 4, batch: 16, epochMs: 0, workers: 2, module: FIXTURE, engineConfig });
    // Each worker reports its units' counters; both have committed epochs.
    await until(() => threaded.unitStats().length === 2 + 3 + 4 + 4 + 1 && threaded.unitStats().reduce((n, s) => n + s.epochs, 0) >= 30, 'epochs on both workers', 60_000);
    await threaded.stop();
    const single = await PipelineRun.start(engine, campaignPipeline(), { tablesPath, clock, batch: 16, epochMs: 0 });
    runs.push(single);
    const want = expected(t);
    await until(() => table(tablesPath).size === want.size && single.idle, 'the table');
    expect(table(tablesPath)).toEqual(want);
  });

  it('a second run fences the first: its commits are refused and it stops', async () => {
    const { engine, tablesPath, clock } = setup();
    await feed(engine, traffic(2), 2);
    const first = await PipelineRun.start(engine, campaignPipeline(), { tablesPath, clock, batch: 8 });
    const second = await PipelineRun.start(engine, campaignPipeline(), { tablesPath, clock, batch: 8 });
    runs.push(second);
    await expect(first.done).rejects.toBeInstanceOf(LeaseLostError);
    await expect(first.done).rejects.toThrow("another run of this pipeline took over");
  });

  it('refuses to resume a keyed unit whose state was written whole by an older Sluice, and says how to recompute it', async () => {
    const { engine, tablesPath, clock } = setup();
    await feed(engine, traffic(1), 1);
    const p = campaignPipeline();
    const node = new Layout(p, 4).keyed[0]!.id;
    await engine.commit({ state: [
      { key: metaKey(p.name), value: enc({ keyGroups: 4 }) },
      { key: stateKey(p.name, keyedUnit(node, 2)), value: enc({ offset: 0, exec: { watermark: null, ops: [] }, marks: [], sent: null }) },
    ] });
    await expect(PipelineRun.start(engine, p, { tablesPath, clock })).rejects.toThrow(`unit k${node}.2: its state was written by an older Sluice; recompute it with: sluice replay campaigns --from earliest`);
  });

  it('sends records that are not JSON and records a user function throws on to <pipeline>-errors, and carries on', async () => {
    const { engine, tablesPath, clock } = setup();
    const p = pipeline('fragile');
    p.source<{ n: number }>('nums').map((x) => {
      if (x.n === 13) throw new Error('unlucky');
      return { n: x.n };
    }).to('out');
    await engine.createStream('nums', { partitions: 1 });
    // Nested too deep for JSON.stringify: the gateway refuses such records; another writer (raw Kinesis data) may store one.
    const deep = new TextEncoder().encode('['.repeat(6000) + ']'.repeat(6000));
    await engine.append('nums', [{ value: enc({ n: 1 }) }, { value: new TextEncoder().encode('{not json') }, { value: enc({ n: 13 }) }, { value: deep }, { value: enc({ n: 2 }) }]);
    const run = await PipelineRun.start(engine, p, { tablesPath, clock });
    runs.push(run);
    await until(async () => (await allRecords(engine, 'out')).length === 2 && run.idle, 'outputs');
    const errors = (await allRecords(engine, 'fragile-errors')).map((r) => JSON.parse(new TextDecoder().decode(r.value)));
    expect(errors).toEqual([
      { source: 'nums', error: 'record at offset 1 of partition 0 is not JSON', value: Buffer.from('{not json').toString('base64') },
      { source: 'nums', error: 'record at offset 3 of partition 0 nests deeper than 512 levels', value: Buffer.from(deep).toString('base64') },
      { source: 'nums', error: 'unlucky', value: { n: 13 } },
    ]);
    expect((await allRecords(engine, 'out')).map((r) => JSON.parse(new TextDecoder().decode(r.value)))).toEqual([{ n: 1 }, { n: 2 }]);
  });

  it('sends a value a stream sink cannot hold as JSON (undefined, a BigInt) to <pipeline>-errors, and stores the others of its epoch once', async () => {
    const { engine, tablesPath, clock } = setup();
    const p = pipeline('unencodable');
    p.source<{ n: number }>('nums').map((x) => (x.n === 7 ? undefined : x.n === 8 ? { n: BigInt(x.n) } : { n: x.n })).to('out');
    await engine.createStream('nums', { partitions: 1 });
    await engine.append('nums', [1, 7, 8, 2].map((n) => ({ value: enc({ n }) })));
    const run = await PipelineRun.start(engine, p, { tablesPath, clock });
    runs.push(run);
    await until(async () => (await allRecords(engine, 'out')).length === 2 && run.idle, 'outputs');
    const errors = (await allRecords(engine, 'unencodable-errors')).map((r) => JSON.parse(new TextDecoder().decode(r.value)));
    expect(errors).toEqual([
      { source: 'nums', error: "sink 'out': a record must be a JSON value, got undefined", value: { n: 7 } },
      { source: 'nums', error: 'Do not know how to serialize a BigInt', value: { n: 8 } },
    ]);
    expect((await allRecords(engine, 'out')).map((r) => JSON.parse(new TextDecoder().decode(r.value)))).toEqual([{ n: 1 }, { n: 2 }]);
  });

  it('shuffles a source record as the text it was read as only when no step made or changed it (decision 011)', async () => {
    const { engine, tablesPath, clock } = setup();
    type A = { k: string; n: number; ts: number };
    const p = pipeline('as-read');
    // The left side is changed in place by a map (the same object returned); the right side reaches the join through a filter.
    const right = p.source<A>('right', { eventTime: (x) => x.ts }).filter((x) => x.n >= 0).keyBy((x) => x.k);
    p.source<A>('left', { eventTime: (x) => x.ts }).map((x) => {
      x.n *= 10;
      return x;
    }).keyBy((x) => x.k).join(right).window(tumbling('1m')).inner((l, r) => ({ k: l.k, l: l.n, r })).to('pairs');
    await engine.createStream('left', { partitions: 1 });
    await engine.createStream('right', { partitions: 1 });
    const text = (s: string) => ({ value: Buffer.from(s) });
    await engine.append('left', [text('{"k":"a","n":1,"ts":1000}'), text('{"k":"b","n":2,"ts":2000}'), text(`{"k":"end","n":0,"ts":${10 * MIN}}`)]);
    // As a client may write them: spaces, escapes, a number JSON writes differently, a multi-byte key.
    await engine.append('right', [text(' { "k" : "a", "n" : 1.50, "ts": 1500, "s": "q\\"é" } '), text('{"k":"b","n":-1,"ts":2500}'), text(`{"k":"end","n":0,"ts":${10 * MIN}}`)]);
    const run = await PipelineRun.start(engine, p, { tablesPath, clock });
    runs.push(run);
    await until(async () => (await allRecords(engine, 'pairs')).length === 1 && run.idle, 'the pair');
    expect((await allRecords(engine, 'pairs')).map((r) => JSON.parse(new TextDecoder().decode(r.value)))).toEqual([{ k: 'a', l: 10, r: { k: 'a', n: 1.5, ts: 1500, s: 'q"é' } }]);
    // The right record crossed the shuffle as its own text; the left one as the map left it.
    const shuffled: string[] = [];
    for (const st of await engine.listStreams()) if (st.name.startsWith('_sluice.as-read.')) for (const r of await allRecords(engine, st.name)) shuffled.push(Buffer.from(r.value).toString());
    expect(shuffled.join('\n')).toContain('{ "k" : "a", "n" : 1.50, "ts": 1500, "s": "q\\"é" }');
    expect(shuffled.join('\n')).toContain('{"k":"a","n":10,"ts":1000}');
  });

  it('a source record whose string holds bytes that are not UTF-8 crosses the shuffle as read and joins as the same value it parses to', async () => {
    const { engine, tablesPath, clock } = setup();
    type A = { k: string; n: number; ts: number };
    const p = pipeline('not-utf8');
    const right = p.source<A>('right', { eventTime: (x) => x.ts }).keyBy((x) => x.k);
    p.source<A>('left', { eventTime: (x) => x.ts }).keyBy((x) => x.k).join(right).window(tumbling('1m')).inner((l, r) => ({ l, r })).to('pairs');
    await engine.createStream('left', { partitions: 1 });
    await engine.createStream('right', { partitions: 1 });
    const end = (k: string) => ({ value: Buffer.from(`{"k":"${k}","n":0,"ts":${10 * MIN}}`) });
    // A lone 0xff, and a three-byte lead (0xe2) cut short by the closing quote.
    const bad = Buffer.concat([Buffer.from('{"k":"c","n":0,"ts":3500,"s":"x'), Buffer.from([0xff, 0xe2]), Buffer.from('"}')]);
    await engine.append('left', [{ value: Buffer.from('{"k":"c","n":3,"ts":3000}') }, end('end')]);
    await engine.append('right', [{ value: bad }, end('end')]);
    const run = await PipelineRun.start(engine, p, { tablesPath, clock });
    runs.push(run);
    await until(async () => (await allRecords(engine, 'pairs')).length === 1 && run.idle, 'the pair');
    const pairs = (await allRecords(engine, 'pairs')).map((r) => JSON.parse(Buffer.from(r.value).toString()));
    expect(pairs).toHaveLength(1);
    expect(pairs[0]).toEqual({ l: { k: 'c', n: 3, ts: 3000 }, r: JSON.parse(bad.toString('utf8')) });
    expect(pairs[0].r.s).toBe('x\uFFFD\uFFFD');
    expect(await allRecords(engine, 'not-utf8-errors')).toEqual([]);
  });

  it('reports records in its internal streams that Sluice did not write (malformed, of the wrong shape, for the wrong step) to <pipeline>-errors, and carries on', async () => {
    const { engine, tablesPath, clock } = setup();
    const t = traffic(6);
    await feed(engine, t, 6);
    const run = await PipelineRun.start(engine, campaignPipeline(), { tablesPath, clock, keyGroups: 4, batch: 64 });
    runs.push(run);
    // Internal streams are streams: anyone allowed to write may append to them.
    const shuffles = (await engine.listStreams()).map((x) => x.name).filter((n) => n.startsWith('_sluice.campaigns.k')).sort();
    expect(shuffles).toHaveLength(2); // the join's, then the window's
    const raw = (text: string) => ({ partition: 0, value: new TextEncoder().encode(text) });
    for (const stream of shuffles) {
      await engine.append(stream, [
        raw('{not json'), raw('{}'), raw('[[7,1]]'), raw('[[0,9,"k",1,null,{}]]'), raw('[[2,"nobody",5,0]]'), raw('[[1,"c0",0,60000,null]]'),
      ]);
    }
    await engine.append('_sluice.campaigns.t.per_campaign', [raw('[broken'), raw('{"a":1}'), raw('[[1,2]]')]);
    const want = expected(t);
    await until(() => table(tablesPath).size === want.size && run.idle, 'the table');
    expect(table(tablesPath)).toEqual(want);
    const errors = (await allRecords(engine, 'campaigns-errors')).map((r) => JSON.parse(new TextDecoder().decode(r.value)) as { error: string });
    const shape = (e: string) => e.replace(/\d+/g, 'N').replace(/does not merge: .*/, 'does not merge');
    const perShuffle = (lastPartial: string) => [
      'message at offset N of partition N: not JSON',
      'message at offset N of partition N: not an array of shuffle records',
      'message at offset N of partition N: item N is not a shuffle record',
      'shuffle record of partition N: port N does not exist',
      "shuffle record of partition N: 'nobody' does not feed this step",
      lastPartial,
    ];
    expect(errors.map((e) => shape(e.error)).sort()).toEqual([
      ...perShuffle('shuffle record of partition N: a partial for a step that is not a window'),
      ...perShuffle('shuffle record of partition N: its accumulator does not merge'),
      'message at offset N: not JSON',
      'message at offset N: not an array of table rows',
      'message at offset N: item N is not a table row [key columns, row object] or a deletion [key columns, row object, N]',
    ].sort());
  });

  it('sends a row that would take its table past 1,000 columns to <pipeline>-errors, once, and writes the rest', async () => {
    const { engine, tablesPath, clock } = setup();
    const p = pipeline('wide');
    p.source<{ i: number; width: number }>('in').map((x) => ({ i: x.i, ...Object.fromEntries(Array.from({ length: x.width }, (_, f) => [`c${x.i}_${f}`, f])) })).toTable('wide', { key: (r) => [r.i] });
    await engine.createStream('in', { partitions: 1 });
    await engine.append('in', [0, 1, 2, 3].map((i) => ({ value: enc({ i, width: i === 3 ? 0 : 400 }) })));
    const run = await PipelineRun.start(engine, p, { tablesPath, clock });
    runs.push(run);
    await until(async () => run.idle && (await allRecords(engine, 'wide-errors')).length === 1, 'the error');
    const errors = (await allRecords(engine, 'wide-errors')).map((r) => JSON.parse(new TextDecoder().decode(r.value)));
    expect(errors.map((e) => [e.source, e.error, e.value.i])).toEqual([['_sluice.wide.t.wide', "table 'wide': a row may not take it past 1000 columns", 2]]);
    const db = new Database(tablesPath, { readonly: true });
    expect((db.prepare('SELECT i FROM wide ORDER BY i').all() as { i: number }[]).map((r) => r.i)).toEqual([0, 1, 3]);
    db.close();
  });

  it('a table deletion for a table never written, or a key it does not hold, changes nothing and still moves the offset', () => {
    const db = new TablesDb(':memory:');
    try {
      db.apply('p', 'never', [[['k'], { n: 1 }, 1]], 1);
      expect(db.db.prepare("SELECT count(*) AS n FROM sqlite_master WHERE name = 'never'").get()).toEqual({ n: 0 });
      expect(db.offset('p', 'never')).toBe(1);
      db.apply('p', 't', [[['a'], { n: 1 }], [['b'], { n: 2 }]], 2);
      db.apply('p', 't', [[['zzz'], { n: 9 }, 1], [['a'], { n: 1 }, 1]], 3);
      expect(db.db.prepare('SELECT _key, n FROM t').all()).toEqual([{ _key: '["b"]', n: 2 }]);
      expect(db.offset('p', 't')).toBe(3);
    } finally {
      db.close();
    }
  });

  it('deletes the row of a session that merged into another after it fired; the merged row replaces it', async () => {
    const { engine, tablesPath, clock } = setup();
    await mergedSessionReplacesItsParts(engine, tablesPath, clock);
  });

  it('trims its internal streams below what their readers committed; the table is unchanged', async () => {
    const { engine, tablesPath, clock } = setup();
    await trimsInternalStreams(engine, tablesPath, clock);
  }, 60_000);

  it('a replay from earliest judges the same records late as the live run did, and gives the same rows', async () => {
    const dir = tempDir();
    const clock = new ManualClock(0);
    const engine = new SqliteEngine({ dataDir: join(dir, 'data'), clock });
    engines.push(engine);
    await replayJudgesAsLive(engine, join(dir, 'tables.db'), clock);
  }, 60_000);

  it('keeps work spread when one campaign takes 90% of the traffic: pre-aggregation sends the hot key partials, not records', async () => {
    const { engine, tablesPath, clock } = setup();
    const p = pipeline('skew');
    p.source<{ adId: string; campaignId: string; ts: number }>('views', { eventTime: (v) => v.ts })
      .keyBy((v) => v.campaignId).window(tumbling('1m')).aggregate({ n: count() }).toTable('per_campaign');
    await engine.createStream('views', { partitions: 4 });
    const views = Array.from({ length: 20_000 }, (_, i) => ({ adId: `ad${i % 997}`, campaignId: i % 10 === 0 ? `cold${i % 7}` : 'hot', ts: Math.floor(i / 2000) * MIN + (i % 2000) }));
    for (let i = 0; i < views.length; i += 1000) await engine.append('views', views.slice(i, i + 1000).map((v) => ({ key: v.adId, value: enc(v) })));
    for (let q = 0; q < 4; q++) await engine.append('views', [{ partition: q, value: enc({ adId: 'end', campaignId: 'end', ts: 60 * MIN }) }]);
    const run = await PipelineRun.start(engine, p, { tablesPath, clock, keyGroups: 8, batch: 500 });
    runs.push(run);
    const hot = `k1.${keyGroupOf('hot', 8)}`;
    await until(() => run.idle && table2(tablesPath).get('hot') === 18_000, 'the hot total');
    const stats = run.unitStats();
    const sources = stats.filter((s) => s.unit.startsWith('s.')).map((s) => s.records);
    const keyed = stats.filter((s) => s.unit.startsWith('k'));
    console.log(`skew: per-task input records — sources ${sources.join(' ')}; key groups ${keyed.map((s) => `${s.unit}=${s.records}`).join(' ')} (hot key in ${hot})`);
    // Source tasks share the input evenly (keyed by ad, not campaign)…
    expect(Math.max(...sources) / Math.min(...sources)).toBeLessThan(1.5);
    // …and the hot campaign's task gets one partial per window per source epoch, not 18,000 records.
    const hotRecords = keyed.find((s) => s.unit === hot)!.records;
    expect(hotRecords).toBeLessThan(2_000);
  });
});

function table2(path: string): Map<string, number> {
  if (!existsSync(path)) return new Map();
  const db = new Database(path, { readonly: true });
  try {
    const rows = db.prepare('SELECT key, sum(n) AS n FROM per_campaign GROUP BY key').all() as { key: string; n: number }[];
    return new Map(rows.map((r) => [r.key, r.n]));
  } catch {
    return new Map();
  } finally {
    db.close();
  }
}

/** A session that fired, then merged with a late record's session: the table holds the merged row only. */
async function mergedSessionReplacesItsParts(engine: Engine, tablesPath: string, clock: ManualClock): Promise<void> {
  const p = pipeline('sess');
  p.source<{ user: string; ts: number }>('clicks', { eventTime: (v) => v.ts })
    .keyBy((v) => v.user).window(session('10s'), { allowedLateness: '1m' }).aggregate({ n: count() }).toTable('sessions');
  await engine.createStream('clicks', { partitions: 1 });
  await engine.append('clicks', [{ user: 'u', ts: 20_000 }, { user: 'v', ts: 45_000 }].map((v) => ({ partition: 0, value: enc(v) })));
  const run = await PipelineRun.start(engine, p, { tablesPath, clock });
  runs.push(run);
  const rows = () => {
    if (!existsSync(tablesPath)) return [];
    const db = new Database(tablesPath, { readonly: true });
    try {
      return db.prepare('SELECT key, windowStart, windowEnd, n FROM sessions ORDER BY key, windowStart').all();
    } catch {
      return [];
    } finally {
      db.close();
    }
  };
  await until(() => rows().length === 1, 'the first session fired');
  expect(rows()).toEqual([{ key: 'u', windowStart: 20_000, windowEnd: 30_000, n: 1 }]);
  await engine.append('clicks', [{ partition: 0, value: enc({ user: 'u', ts: 12_000 }) }]); // late, allowed: bridges into [20s, 30s)
  await until(() => (rows()[0] as { n?: number } | undefined)?.n === 2, 'the merged session');
  expect(rows()).toEqual([{ key: 'u', windowStart: 12_000, windowEnd: 30_000, n: 2 }]);
}

describe('pipelines on the nats engine (the same code)', () => {
  async function natsSetup() {
    const clock = new ManualClock(1_000);
    const engine = await natsFactory(clock);
    engines.push(engine);
    return { engine, tablesPath: join(tempDir(), 'tables.db'), clock };
  }

  it('joins, shuffles, pre-aggregates and upserts a table equal to a batch computation', async () => {
    const { engine, tablesPath, clock } = await natsSetup();
    await tableEqualsBatch(engine, tablesPath, clock, 6);
  });

  it('deletes the row of a session that merged into another after it fired; the merged row replaces it', async () => {
    const { engine, tablesPath, clock } = await natsSetup();
    await mergedSessionReplacesItsParts(engine, tablesPath, clock);
  });

  it('a restarted run resumes from committed state', async () => {
    const { engine, tablesPath, clock } = await natsSetup();
    await restartResumes(engine, tablesPath, clock, 4, () => engine);
  });

  it('redoes exactly an epoch whose outputs were published but whose state was not (a crash in between), though more input arrived: nothing stored twice', async () => {
    const { engine, tablesPath, clock } = await natsSetup();
    await survivesFailedCommits(engine, tablesPath, 'after publishing');
  }, 90_000);
  it('trims its internal streams below what their readers committed; the table is unchanged', async () => {
    const { engine, tablesPath, clock } = await natsSetup();
    await trimsInternalStreams(engine, tablesPath, clock);
  }, 60_000);

  it('a replay from earliest judges the same records late as the live run did, and gives the same rows', async () => {
    const { engine, tablesPath, clock } = await natsSetup();
    await replayJudgesAsLive(engine, tablesPath, clock);
  }, 60_000);

  it('moves on when the input of an interrupted epoch was deleted by retention before the redo (it used to wait forever)', async () => {
    const { engine, tablesPath, clock } = await natsSetup();
    const p = pipeline('gone');
    p.source<{ n: number }>('in').map((v) => ({ n: v.n })).to('out');
    await engine.createStream('in', { partitions: 1, retentionMs: 60_000 });
    await engine.append('in', [1, 2, 3].map((n) => ({ partition: 0, value: enc({ n }) })));
    // The first epoch publishes its outputs, then "crashes" before its state: its intent stays.
    let failed = false;
    const faulty = new Proxy(engine, {
      get(target, prop) {
        if (prop !== 'commit') return typeof target[prop as keyof Engine] === 'function' ? (target[prop as keyof Engine] as Function).bind(target) : target[prop as keyof Engine];
        return async (unit: CommitUnit) => {
          if (failed || !unit.appends?.length || !unit.state?.length) return target.commit(unit);
          await target.commit({ id: unit.id, appends: unit.appends, fences: unit.fences });
          failed = true;
          throw new Error('injected crash');
        };
      },
    });
    const first = await PipelineRun.start(faulty, p, { tablesPath, clock });
    await until(() => failed, 'the injected crash');
    await first.stop();
    clock.advance(120_000);
    await engine.enforceRetention(); // the interrupted epoch's input is gone
    expect((await engine.read('in', 0, 0, 10)).records).toEqual([]);
    await engine.append('in', [4, 5].map((n) => ({ partition: 0, value: enc({ n }) })));
    const lines: string[] = [];
    const second = await PipelineRun.start(engine, p, { tablesPath, clock, log: (l) => lines.push(l) });
    runs.push(second);
    await until(async () => (await allRecords(engine, 'out')).length === 5, 'the new records in out');
    expect((await allRecords(engine, 'out')).map((r) => JSON.parse(new TextDecoder().decode(r.value)).n)).toEqual([1, 2, 3, 4, 5]);
    expect(lines).toEqual([expect.stringMatching(/^unit s\.in\.0: the input of its interrupted epoch \(offsets \d+-\d+\) is gone \(retention\); moving on from \d+$/)]);
  });
});

describe('failed commits', () => {
  it('sqlite: an epoch whose commit failed is redone from the last commit: nothing lost, nothing twice', async () => {
    const { engine, tablesPath } = setup();
    await survivesFailedCommits(engine, tablesPath, 'before');
  }, 90_000);
});

/**
 * Every 2nd commit with outputs fails — before anything is written, or (as a crash between the two
 * steps of a non-atomic commit would leave it) after its outputs are published and before its state.
 * Each failure appends more input (bot views at time 0: no effect on results) so a retry reading
 * "what is there" would cover a different range. The table still equals the batch computation, and
 * no row version reaches the table stream twice.
 */
async function survivesFailedCommits(engine: Engine, tablesPath: string, when: 'before' | 'after publishing'): Promise<void> {
  const minutes = 5;
  const t = traffic(minutes);
  await feed(engine, t, minutes);
  let commits = 0;
  let failures = 0;
  const faulty = new Proxy(engine, {
    get(target, prop) {
      if (prop !== 'commit') return typeof target[prop as keyof Engine] === 'function' ? (target[prop as keyof Engine] as Function).bind(target) : target[prop as keyof Engine];
      return async (unit: CommitUnit) => {
        if (!unit.appends?.length || !unit.state?.length || ++commits % 2 !== 0) return target.commit(unit);
        if (when === 'after publishing') await target.commit({ id: unit.id, appends: unit.appends, fences: unit.fences });
        failures++;
        for (let p = 0; p < 3; p++) await target.append('views', [{ partition: p, value: enc({ adId: 'filler', ts: 0, ip: 'bot', cost: 0 }) }]);
        throw new Error('injected failure');
      };
    },
  });
  // (Internal streams kept, to count the rows that reached the table stream.)
  const run = await PipelineRun.start(faulty, campaignPipeline(), { tablesPath, clock: new ManualClock(1_000), keyGroups: 4, batch: 16, epochMs: 5, trimInternalStreams: false });
  runs.push(run);
  const want = expected(t);
  await until(() => table(tablesPath).size === want.size && run.idle, 'the table', 60_000);
  expect(failures).toBeGreaterThanOrEqual(5);
  expect(table(tablesPath)).toEqual(want);
  const rows = (await allRecords(engine, '_sluice.campaigns.t.per_campaign')).map((r) => new TextDecoder().decode(r.value));
  expect(rows.length).toBeGreaterThan(0);
  expect(rows.length - new Set(rows).size).toBe(0);
  console.log(`failed commits (${when}): ${failures} failures, ${rows.length} row versions`);
}

/** Runs the campaign pipeline over `minutes` of traffic; its table equals the batch computation. */
async function tableEqualsBatch(engine: Engine, tablesPath: string, clock: ManualClock, minutes: number, options: RunOptions = {}): Promise<PipelineRun> {
  const t = traffic(minutes);
  await feed(engine, t, minutes);
  const run = await PipelineRun.start(engine, campaignPipeline(), { tablesPath, clock, keyGroups: 4, batch: 64, ...options });
  runs.push(run);
  const want = expected(t);
  debug = () => `${table(tablesPath).size} rows of ${want.size}, idle ${run.idle}, ${JSON.stringify(run.unitStats())}`;
  await until(() => table(tablesPath).size === want.size && run.idle, 'the table', 30_000); // the closing records' window stays open
  expect(table(tablesPath)).toEqual(want);
  return run;
}

/** A run of many small epochs: its internal streams keep only what their readers have not committed past; the table is unchanged. */
async function trimsInternalStreams(engine: Engine, tablesPath: string, clock: ManualClock): Promise<void> {
  const run = await tableEqualsBatch(engine, tablesPath, clock, 6, { batch: 8, epochMs: 0 });
  const p = campaignPipeline();
  const layout = new Layout(p, 4);
  const internal = [...layout.keyed.map((n) => `_sluice.campaigns.k${n.id}`), '_sluice.campaigns.t.per_campaign'];
  let kept = 0;
  let trimmedPartitions = 0;
  for (const stream of internal) {
    for (const part of (await engine.describeStream(stream)).partitionInfo) {
      if (part.earliest > 0) trimmedPartitions++;
      kept += (await engine.read(stream, part.partition, part.earliest, 100_000)).records.length;
    }
  }
  const epochs = run.unitStats().filter((s) => !s.unit.startsWith('s.')).reduce((n, s) => n + s.epochs, 0);
  expect(trimmedPartitions).toBeGreaterThan(0);
  expect(kept).toBeLessThan(epochs); // messages written: about one a unit's epoch; those left: the last few of each partition
  console.log(`trimmed internal streams: ${trimmedPartitions} partitions trimmed, ${kept} messages left after ${epochs} keyed and table epochs`);
}

/** Stops a run after some one-batch epochs, resumes on `reopen()`'s engine: the table equals the batch computation. */
async function restartResumes(engine: Engine, tablesPath: string, clock: ManualClock, minutes: number, reopen: () => Engine): Promise<void> {
  const t = traffic(minutes);
  await feed(engine, t, minutes);
  const first = await PipelineRun.start(engine, campaignPipeline(), { tablesPath, clock, keyGroups: 4, batch: 16, epochMs: 0 });
  await until(() => first.unitStats().reduce((n, s) => n + s.epochs, 0) >= 15, 'some epochs', 30_000);
  await first.stop();
  const second = await PipelineRun.start(reopen(), campaignPipeline(), { tablesPath, clock, batch: 16, epochMs: 0 });
  runs.push(second);
  const want = expected(t);
  await until(() => table(tablesPath).size === want.size && second.idle, 'the table', 30_000);
  expect(table(tablesPath)).toEqual(want);
}

/**
 * A live run: records arrive over ten rounds, and in round 4 a few stamped 3 h ago (past the
 * window's 1 h lateness) arrive on one partition. Then a replay from earliest: the same rows, and
 * the same records judged late.
 */
async function replayJudgesAsLive(engine: Engine, tablesPath: string, clock: ManualClock): Promise<void> {
  const p = pipeline('clicks');
  p.source<{ user: string; ts: number }>('clicks', { eventTime: (c) => c.ts, outOfOrderness: '5s' })
    .keyBy((c) => c.user).window(tumbling('1m'), { allowedLateness: '1h' }).aggregate({ n: count() }).toTable('per_user');
  const H = 3_600_000;
  const base = 10 * H;
  clock.set(base); // arrival times near the event times: nothing is clamped as future
  await engine.createStream('clicks', { partitions: 2 });
  let appended = 0;
  const send = async (records: { partition: number; user: string; ts: number }[]) => {
    for (const partition of [0, 1]) {
      const mine = records.filter((r) => r.partition === partition).map((r) => ({ partition, value: enc({ user: r.user, ts: r.ts }) }));
      if (mine.length) await engine.append('clicks', mine);
    }
    appended += records.length;
  };
  const sourceRecords = (run: PipelineRun) => run.unitStats().filter((s) => s.unit.startsWith('s.')).reduce((n, s) => n + s.records, 0);
  /** Sources took every record, then a whole round began and ended without work anywhere. */
  const settled = async (run: PipelineRun) => {
    await until(() => sourceRecords(run) === appended, 'the sources to take every record');
    const after = run.rounds + 2;
    await until(() => run.rounds >= after && run.idle, 'a quiet round');
  };
  const rowsOf = () => [...table2ByUser(tablesPath)].sort();
  const lateOf = async () => (await allRecords(engine, 'clicks-late')).map((r) => JSON.parse(new TextDecoder().decode(r.value)).value).sort((a, b) => a.ts - b.ts);

  const live = await PipelineRun.start(engine, p, { tablesPath, clock });
  for (let round = 0; round < 10; round++) {
    const records = Array.from({ length: 40 }, (_, j) => ({ partition: j % 2, user: `u${j % 4}`, ts: base + round * 10_000 + j * 100 }));
    if (round === 4) records.push(...Array.from({ length: 5 }, (_, j) => ({ partition: 0, user: 'old', ts: base - 3 * H + j })));
    await send(records);
    clock.advance(10_000);
    await settled(live);
  }
  await send([0, 1].map((partition) => ({ partition, user: 'end', ts: base + 3 * H }))); // every window fires
  await settled(live);
  await live.stop();
  const liveRows = rowsOf();
  const liveLate = await lateOf();
  expect(liveLate.map((v) => v.user)).toEqual(['old', 'old', 'old', 'old', 'old']);
  expect(liveRows.some(([k]) => k.startsWith('old'))).toBe(false);
  const types = new Database(tablesPath, { readonly: true });
  try {
    // Whole numbers are INTEGER (better-sqlite3 binds JS numbers as REAL: the sqlite3 shell showed 36000000.0).
    expect(types.prepare('SELECT DISTINCT typeof(windowStart) AS s, typeof(windowEnd) AS e, typeof(n) AS n FROM per_user').all()).toEqual([{ s: 'integer', e: 'integer', n: 'integer' }]);
  } finally {
    types.close();
  }

  await resetPipeline(engine, p, tablesPath, 'earliest');
  const replay = await PipelineRun.start(engine, p, { tablesPath, clock });
  runs.push(replay);
  await settled(replay);
  expect(rowsOf()).toEqual(liveRows);
  const all = await lateOf();
  expect(all).toEqual([...liveLate, ...liveLate].sort((a, b) => a.ts - b.ts)); // the replay judged the same five late again
}

/** `user@windowStart` → count, from the per_user table. */
function table2ByUser(path: string): Map<string, number> {
  const db = new Database(path, { readonly: true });
  try {
    const rows = db.prepare('SELECT key, windowStart, n FROM per_user').all() as { key: string; windowStart: number; n: number }[];
    return new Map(rows.map((r) => [`${r.key}@${r.windowStart}`, r.n]));
  } finally {
    db.close();
  }
}

describe('the pause before a failed unit tries again', () => {
  it('doubles from 500 ms to a 5 s cap, half of it fixed and half jitter', () => {
    const low = () => 0;
    const high = () => 0.999_999;
    expect([1, 2, 3, 4, 5, 6].map((n) => retryPauseMs(n, low))).toEqual([250, 500, 1000, 2000, 2500, 2500]);
    expect([1, 2, 3, 4, 5, 6].map((n) => Math.round(retryPauseMs(n, high)))).toEqual([500, 1000, 2000, 4000, 5000, 5000]);
    expect(retryPauseMs(1, () => 0.5)).toBe(375);
  });
});

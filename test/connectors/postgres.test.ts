// The PostgreSQL sink on a real PostgreSQL (Debian's package, started by the tests): the sink
// conformance suite, then pipelines into it.
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { Observer } from '../../src/observe/observer.js';
import { PostgresSink, type DependencyFor } from '../../src/connectors/postgres/index.js';
import { count, pipeline, session, type Pipeline } from '../../src/dataflow/index.js';
import { PipelineRun, type RunOptions } from '../../src/dataflow/runtime/runner.js';
import type { Engine } from '../../src/engine/engine.js';
import { SqliteEngine } from '../../src/engine/sqlite/index.js';
import { allRecords } from '../support/engines.js';
import { tempDir } from '../support/tmp.js';
import { batchViews, plays, viewsPipeline } from './fixtures/views.js';
import { Dependencies, type Dependency } from '../../src/resilience/index.js';
import { sinkConformance, type Row } from './conformance.js';
import { freshDatabase, query, rowsOf } from './postgres-harness.js';

sinkConformance('postgres', async () => {
  const url = await freshDatabase();
  const deps = new Dependencies();
  const made = new Map<string, Dependency>();
  const dependencyFor: DependencyFor = (name, o) => made.get(name) ?? made.set(name, deps.policyFor(name, o)).get(name)!;
  return {
    name: 'pg.t',
    attach: (s) => s.toPostgres('t', { connection: url, key: ['id'], columns: { n: 'integer' } }),
    open: () => new PostgresSink({ connection: url, table: 't', key: ['id'], columns: { n: 'integer' } }, dependencyFor),
    async state() {
      const rows = await rowsOf<Row>(url, 't');
      return new Map(rows.map((r) => [r.id, Object.fromEntries(Object.entries(r).filter(([, v]) => v !== null)) as Row]));
    },
    badRow: (id) => ({ id, n: 'not a number' as unknown as number }),
    async close() {
      deps.dispose();
    },
  };
});

// Pipelines into PostgreSQL, in this process (the kill -9 test runs `sluice dev`: postgres-crash.test.ts).
const runs: PipelineRun[] = [];
const engines: Engine[] = [];
afterEach(async () => {
  for (const r of runs.splice(0)) await r.stop();
  for (const e of engines.splice(0)) await e.close();
});

const enc = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));

async function until(cond: () => boolean | Promise<boolean>, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function engine(): Engine {
  const e = new SqliteEngine({ dataDir: join(tempDir(), 'data') });
  engines.push(e);
  return e;
}

async function start(e: Engine, p: Pipeline, o: RunOptions = {}): Promise<PipelineRun> {
  const run = await PipelineRun.start(e, p, { clock: new ManualClock(1_000), tablesPath: join(tempDir(), 'tables.db'), ...o });
  runs.push(run);
  return run;
}

async function append(e: Engine, stream: string, values: unknown[], partitions: number): Promise<void> {
  for (let i = 0; i < values.length; i += 200) await e.append(stream, values.slice(i, i + 200).map((v, j) => ({ partition: (i + j) % partitions, value: enc(v) })));
}

/** video_minute as `video@windowStart` → counts. */
export async function videoMinutes(url: string): Promise<Map<string, { views: number; users: number }>> {
  const rows = await rowsOf<{ key: string; windowStart: string; views: number; users: number }>(url, 'video_minute', 'key, "windowStart"');
  return new Map(rows.map((r) => [`${r.key}@${Number(r.windowStart)}`, { views: r.views, users: r.users }]));
}

export const same = (a: Map<string, unknown>, b: Map<string, unknown>) => a.size === b.size && [...a].every(([k, v]) => JSON.stringify(b.get(k)) === JSON.stringify(v));

describe('pipelines into PostgreSQL', () => {
  it('a windowed result upserted into PostgreSQL equals a batch computation exactly, late updates included', async () => {
    const url = await freshDatabase();
    const e = engine();
    await e.createStream('plays', { partitions: 3 });
    const input = plays(30, 3);
    await append(e, 'plays', input, 3);
    const run = await start(e, viewsPipeline(url), { batch: 64 });
    const want = batchViews(input);
    await until(async () => same(await videoMinutes(url), want), 'the table to equal the batch computation');
    expect(await videoMinutes(url)).toEqual(want);
    // The sink's offset is the end of its input, in the same database.
    const [offset] = await query<{ next: string }>(url, 'SELECT next FROM _sluice_offsets WHERE pipeline = $1 AND sink = $2', ['video-views', 'pg.video_minute']);
    expect(Number(offset!.next)).toBe((await e.describeStream('_sluice.video-views.t.pg.video_minute')).partitionInfo[0]!.next);
    expect(run.unitStats().find((s) => s.unit === 't.pg.video_minute')!.errors).toBe(0);
    // Its dependency's counters in /metrics (the database by host, port and name, never credentials).
    const observer = new Observer();
    observer.watch([run]);
    const text = await observer.metrics.text();
    const dep = `postgres://127.0.0.1:${new URL(url).port}${new URL(url).pathname}`;
    expect(text).toContain(`sluice_dependency_calls_total{dependency="${dep}"} ${run.dependencyStats()[0]!.calls}`);
    expect(text).toContain(`sluice_dependency_breaker_state{dependency="${dep}",state="closed"} 1`);
    expect(text).toMatch(/sluice_dependency_attempts_total\{dependency="postgres:[^"]+"\} \d+/);
  });

  it('rows PostgreSQL refuses (a type mismatch, a value too long) go to <pipeline>-errors with their input; the rest of their batch is stored', async () => {
    const url = await freshDatabase();
    const e = engine();
    const p = pipeline('things');
    p.source<{ id: string; n: unknown; name: string }>('things').map((x) => x).toPostgres('things', { connection: url, key: ['id'], columns: { n: 'integer', name: 'varchar(8)' } });
    await e.createStream('things', { partitions: 1 });
    const values: { id: string; n: unknown; name: string }[] = Array.from({ length: 40 }, (_, i) => ({ id: `t${i}`, n: i, name: `name${i}` }));
    values[7] = { id: 't7', n: 'seven', name: 'ok' }; // not an integer
    values[23] = { id: 't23', n: 23, name: 'much too long for eight' }; // too long
    await append(e, 'things', values, 1);
    const run = await start(e, p);
    await until(async () => (await rowsOf(url, 'things')).length === 38 && run.idle, 'the good rows');
    const stored = await rowsOf<{ id: string; n: number; name: string }>(url, 'things', 'id');
    expect(stored.map((r) => r.id).sort()).toEqual(values.filter((_, i) => i !== 7 && i !== 23).map((v) => v.id).sort());
    expect(stored.find((r) => r.id === 't8')).toEqual({ id: 't8', n: 8, name: 'name8' });
    const errors = (await allRecords(e, 'things-errors')).map((r) => JSON.parse(Buffer.from(r.value).toString()) as { source: string; error: string; value: unknown });
    expect(errors.map((x) => x.value)).toEqual([values[7], values[23]]);
    expect(errors.map((x) => x.source)).toEqual(['_sluice.things.t.pg.things', '_sluice.things.t.pg.things']);
    expect(errors[0]!.error).toMatch(/invalid input syntax for type integer.*22P02/);
    expect(errors[1]!.error).toMatch(/too long.*22001/);
  });

  it('deletes the row of a session that merged into another after it fired (a retraction); the merged row replaces it', async () => {
    const url = await freshDatabase();
    const e = engine();
    const p = pipeline('sess');
    p.source<{ user: string; ts: number }>('clicks', { eventTime: (v) => v.ts })
      .keyBy((v) => v.user).window(session('10s'), { allowedLateness: '1m' }).aggregate({ n: count() })
      .toPostgres('sessions', { connection: url });
    await e.createStream('clicks', { partitions: 1 });
    await append(e, 'clicks', [{ user: 'u', ts: 20_000 }, { user: 'v', ts: 45_000 }], 1);
    await start(e, p);
    const rows = () => rowsOf(url, 'sessions', '"windowStart"');
    await until(async () => (await rows()).length === 1, 'the first session');
    expect(await rows()).toEqual([{ key: 'u', windowStart: 20_000, windowEnd: 30_000, n: 1 }]);
    await append(e, 'clicks', [{ user: 'u', ts: 12_000 }], 1); // late, allowed: bridges into [20s, 30s)
    await until(async () => (await rows())[0]?.n === 2, 'the merged session');
    expect(await rows()).toEqual([{ key: 'u', windowStart: 12_000, windowEnd: 30_000, n: 2 }]);
  });
});

describe("the PostgreSQL sink's reset (sluice replay)", () => {
  for (const type of ['double precision', 'timestamptz']) {
    it(`--from <time> deletes the rows of windows starting at that time or later and forgets the offsets (windowStart ${type})`, async () => {
      const url = await freshDatabase();
      const deps = new Dependencies();
      const made = new Map<string, Dependency>();
      const dependencyFor: DependencyFor = (name, o) => made.get(name) ?? made.set(name, deps.policyFor(name, o)).get(name)!;
      const options = { connection: url, table: 'w', key: ['key', 'windowStart'], columns: { windowStart: type } };
      const sink = new PostgresSink(options, dependencyFor);
      const rows = [0, 60_000, 120_000].map((windowStart, i) => ({ key: ['v', windowStart], value: { key: 'v', windowStart, n: i }, deleted: false, place: `0.${i}` }));
      await sink.write({ pipeline: 'p', sink: 'pg.w', stream: '_sluice.p.t.pg.w', partition: 0, from: 0, next: 1, epoch: 1, generation: 1, rows }, { signal: new AbortController().signal, reject: async () => {} });
      await sink.close();
      const replay = new PostgresSink(options, dependencyFor); // as sluice replay opens it
      await replay.reset('p', 'pg.w', 60_000);
      await replay.close();
      const left = await query<{ n: number; ms: number }>(url, 'SELECT n, ' + (type === 'timestamptz' ? 'extract(epoch from "windowStart") * 1000' : '"windowStart"') + '::float8 AS ms FROM w');
      expect(left).toEqual([{ n: 0, ms: 0 }]);
      expect(await query(url, 'SELECT * FROM _sluice_offsets')).toEqual([]);
      deps.dispose();
    });
  }
});

// PostgreSQL stopped in the middle of a run and started again: the breaker opens (each transition
// logged once), the sink unit stops reading its input and backs off while the rest of the
// pipeline goes on (the sink's input waits on disk), memory does not grow, and once PostgreSQL is
// back the table equals the batch computation exactly.
import v8 from 'node:v8';
import vm from 'node:vm';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { PipelineRun } from '../../src/dataflow/runtime/runner.js';
import { SqliteEngine } from '../../src/engine/sqlite/index.js';
import { startPostgres, type PostgresServer } from '../support/postgres.js';
import { tempDir } from '../support/tmp.js';
import { batchViews, plays, viewsPipeline } from './fixtures/views.js';
import { rowsOf } from './postgres-harness.js';

v8.setFlagsFromString('--expose_gc');
const gc = vm.runInNewContext('gc') as () => void;
const heapMB = () => {
  gc();
  return process.memoryUsage().heapUsed / 2 ** 20;
};

let server: PostgresServer | undefined;
let run: PipelineRun | undefined;
let engine: SqliteEngine | undefined;
afterAll(async () => {
  await run?.stop();
  await engine?.close();
  await server?.destroy();
});

const enc = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until(cond: () => boolean | Promise<boolean>, what: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

it('PostgreSQL stopped mid-run: the breaker opens, the sink backs off without reading or growing memory, and after recovery the table equals the batch computation', async () => {
  server = await startPostgres();
  const url = await server.createDatabase('outage');
  engine = new SqliteEngine({ dataDir: join(tempDir(), 'data') });
  await engine.createStream('plays', { partitions: 3 });
  const input = plays(240, 3);
  const closing = input.slice(-3);
  const body = input.slice(0, -3);
  const append = async (values: typeof input) => {
    for (let i = 0; i < values.length; i += 250) await engine!.append('plays', values.slice(i, i + 250).map((v, j) => ({ partition: (i + j) % 3, value: enc(v) })));
  };
  const logs: string[] = [];
  const policy = { timeout: { timeoutMs: 2_000 }, retry: { maxAttempts: 2, baseDelayMs: 20 }, breaker: { window: { kind: 'count' as const, size: 10 }, minimumCalls: 4, openMs: 1_000, halfOpenCalls: 2 } };
  await append(body.slice(0, 2_000));
  run = await PipelineRun.start(engine, viewsPipeline(url, policy), { clock: new ManualClock(1_000), tablesPath: join(tempDir(), 't.db'), batch: 128, log: (l) => logs.push(l) });
  const sink = () => run!.unitStats().find((s) => s.unit === 't.pg.video_minute')!;
  const sources = () => run!.unitStats().filter((s) => s.unit.startsWith('s.')).reduce((n, s) => n + s.records, 0);
  const dep = () => run!.dependencyStats()[0]!;
  await until(async () => (await rowsOf(url, 'video_minute')).length > 0 && run!.idle, 'rows before the outage');

  await server.stop();
  const heapBefore = heapMB();
  await append(body.slice(2_000)); // 12,000 more plays while PostgreSQL is down
  await until(() => dep().breakerTransitions.open >= 1, 'the breaker to open');
  await until(() => sources() === body.length, 'the sources to read everything');
  // Held down a while: the sink unit reads nothing (its input waits on disk) and backs off.
  const sinkRecords = sink().records;
  const attemptsBefore = dep().attempts;
  await sleep(4_000);
  const attemptsDuring = dep().attempts - attemptsBefore;
  expect(sink().records).toBe(sinkRecords);
  expect(sink().lastError).toMatch(/circuit .* is open|ECONNREFUSED|Connection terminated|connect/);
  const heapAfter = heapMB();
  console.log(`outage: heap ${heapBefore.toFixed(1)} → ${heapAfter.toFixed(1)} MB; ${attemptsDuring} attempts in 4 s; stats ${JSON.stringify(dep())}`);
  expect(heapAfter - heapBefore).toBeLessThan(16);
  expect(attemptsDuring).toBeLessThanOrEqual(12); // the unit's pauses (0.5 s doubling to 5 s) and the open circuit: no retry storm

  await server.start();
  await append(closing);
  const want = batchViews(input);
  const table = async () => new Map((await rowsOf<{ key: string; windowStart: string; views: number; users: number }>(url, 'video_minute')).map((r) => [`${r.key}@${Number(r.windowStart)}`, { views: r.views, users: r.users }]));
  await until(async () => (await table()).size === want.size && run!.idle, 'the table after recovery');
  expect(await table()).toEqual(want);
  // Each breaker transition logged once, never each attempt; the unit's failing spell once, and its recovery.
  const t = dep().breakerTransitions;
  expect(t.open).toBeGreaterThanOrEqual(1);
  expect(t.closed).toBeGreaterThanOrEqual(1);
  expect(logs.filter((l) => / → open /.test(l)).length).toBe(t.open);
  expect(logs.filter((l) => / → half-open /.test(l)).length).toBe(t['half-open']);
  expect(logs.filter((l) => / → closed /.test(l)).length).toBe(t.closed);
  expect(dep().breakerState).toBe('closed');
  const spells = logs.filter((l) => l.startsWith('unit t.pg.video_minute:') && l.includes('retrying from its last commit')).length;
  expect(spells).toBeGreaterThanOrEqual(1);
  expect(spells).toBe(logs.filter((l) => l.startsWith('unit t.pg.video_minute: recovered')).length);
  expect(logs.length).toBeLessThan(20);
});

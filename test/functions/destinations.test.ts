// Function destinations through the resilience policies (src/functions/destinations.ts): on a real
// SQLite engine whose appends to a destination stream are made to fail by a wrapper, with thread
// runtimes and virtual time. A transient failure is retried within the dependency's policies and
// the record stored once; a non-retriable one is not retried, the event stays in the async queue
// and is delivered after a restart; the counters reach /metrics as sluice_dependency_*.
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import type { AppendRecord, AppendResult, CallOptions, CommitUnit, Engine } from '../../src/engine/engine.js';
import { EngineUnavailableError } from '../../src/engine/errors.js';
import { SqliteEngine } from '../../src/engine/sqlite/index.js';
import { functionsSchema, type FunctionConfig } from '../../src/functions/config.js';
import { delayedPrefix } from '../../src/functions/async-queue.js';
import { Functions } from '../../src/functions/functions.js';
import { processRuntime } from '../../src/functions/runtime/process.js';
import { threadRuntime } from '../../src/functions/runtime/thread.js';
import { Observer } from '../../src/observe/observer.js';
import type { DependencyStats } from '../../src/resilience/index.js';
import { allRecords } from '../support/engines.js';
import { tempDir } from '../support/tmp.js';

const FIXTURES = fileURLToPath(new URL('./registry-fixtures/', import.meta.url));
const open: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of open.splice(0).reverse()) await close();
});

/** How the next write to a stream fails: thrown as the engine being busy, or answered per record as 'Unavailable'. */
type Fault = 'throw' | 'unavailable';

/** A real engine whose appends and commits to a stream fail as planned (then succeed); counts the writes that reached it. */
function flaky(engine: SqliteEngine) {
  const faults = new Map<string, Fault[]>();
  const writes = new Map<string, number>();
  const fault = (stream: string): Fault | undefined => {
    writes.set(stream, (writes.get(stream) ?? 0) + 1);
    return faults.get(stream)?.shift();
  };
  const refused = (records: unknown[]): AppendResult[] => records.map(() => ({ error: { code: 'Unavailable', message: 'injected: not stored' } }));
  const wrapped = new Proxy(engine, {
    get(target, p) {
      if (p === 'append') {
        return async (stream: string, records: AppendRecord[], call?: CallOptions) => {
          const f = fault(stream);
          if (f === 'throw') throw new EngineUnavailableError('injected: the engine is busy');
          if (f === 'unavailable') return refused(records);
          return target.append(stream, records, call);
        };
      }
      if (p === 'commit') {
        return async (unit: CommitUnit, call?: CallOptions) => {
          for (const a of unit.appends ?? []) {
            const f = fault(a.stream);
            if (f === 'throw') throw new EngineUnavailableError('injected: the engine is busy');
            if (f === 'unavailable') return { appends: [refused(a.records)], versions: [], objects: [] };
          }
          return target.commit(unit, call);
        };
      }
      const v = Reflect.get(target, p, target);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  }) as Engine;
  return { engine: wrapped, faults, writes };
}

/** Sluice's functions over the engine in `dataDir` (start again on it: a restart), their log lines kept. */
async function start(dataDir: string, clock: ManualClock, functions: Record<string, FunctionConfig>) {
  const sqlite = new SqliteEngine({ dataDir, retentionIntervalMs: 0 });
  const { engine, faults, writes } = flaky(sqlite);
  const lines: string[] = [];
  const sink = new Writable({ write: (chunk, _enc, done) => (lines.push(...String(chunk).trim().split('\n').map((l) => JSON.parse(l).msg as string)), done()) });
  const observer = new Observer({ clock, log: pino({ level: 'info' }, sink) });
  const fns = await Functions.start({
    engine, functions: functionsSchema.parse(functions), baseDir: FIXTURES, gatewayUrl: 'http://127.0.0.1:9', region: 'us-east-1',
    observer, clock, runtimes: { thread: threadRuntime, process: processRuntime }, addPrincipal: () => {},
  });
  let closed = false;
  const stop = async () => {
    if (closed) return;
    closed = true;
    await fns.close();
    await sqlite.close();
  };
  open.push(stop);
  return { sqlite, fns, observer, faults, writes, lines, stop };
}

async function until(cond: () => boolean | Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 1_500; i++) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`timed out waiting for ${what}`);
}

const stats = (fns: Functions, name: string): DependencyStats => {
  const s = fns.dependencyStats().find((d) => d.name === name);
  if (!s) throw new Error(`no dependency '${name}'`);
  return s;
};

const values = async (engine: SqliteEngine, stream: string) => (await allRecords(engine, stream)).map((r) => JSON.parse(Buffer.from(r.value).toString()));

describe('function destinations through the resilience policies', () => {
  it('an onSuccess append that fails twice transiently is retried within the dependency and the record stored once', async () => {
    const clock = new ManualClock(Date.UTC(2026, 0, 1));
    const s = await start(tempDir(), clock, { hello: { handler: './hello.ts', destinations: { onSuccess: { stream: 'done' } } } });
    await s.sqlite.createStream('done', { partitions: 1 });
    s.faults.set('done', ['throw', 'unavailable']);
    await s.fns.invoke('hello', '{"name":"x"}', 'Event');
    const name = 'destination:hello:onSuccess';
    for (let n = 1; n <= 2; n++) {
      await until(() => stats(s.fns, name).retries >= n, `retry ${n}`);
      clock.advance(100 * 2 ** (n - 1)); // the backoff's bound for retry n: it is waiting now (it sleeps in the turn it counts the retry)
    }
    await until(() => s.fns.get('hello').queue.stats().committed === 1, 'the event done');
    const records = await values(s.sqlite, 'done');
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({ requestContext: { condition: 'Success', approximateInvokeCount: 1 }, requestPayload: { name: 'x' }, responsePayload: { greeting: 'hi x' } });
    expect(s.writes.get('done')).toBe(3);
    expect(stats(s.fns, name)).toMatchObject({ calls: 1, attempts: 3, retries: 2, successes: 1, failures: 0, budgetRefusals: 0, breakerState: 'closed' });
    expect(s.fns.get('hello').destinationFailures).toBe(0);
    expect(s.lines.filter((l) => l.includes('is failing'))).toEqual([]);
    const text = await s.observer.metricsText();
    expect(text).toContain(`sluice_dependency_attempts_total{dependency="${name}"} 3`);
    expect(text).toContain(`sluice_dependency_retries_total{dependency="${name}"} 2`);
    expect(text).toContain(`sluice_dependency_calls_total{dependency="${name}"} 1`);
  }, 30_000);

  it('a non-retriable failure (the onFailure stream does not exist) is not retried: the records are kept for later, logged once, and delivered after a restart', async () => {
    const dir = tempDir();
    const clock = new ManualClock(Date.UTC(2026, 0, 1));
    const config = { hello: { handler: './hello.ts', async: { maximumRetryAttempts: 0 }, destinations: { onFailure: { stream: 'missing' } } } };
    const first = await start(dir, clock, config);
    await first.fns.invoke('hello', '{"name":"a","fail":true}', 'Event');
    await first.fns.invoke('hello', '{"name":"b","fail":true}', 'Event');
    const name = 'destination:hello:onFailure';
    await until(() => first.fns.get('hello').destinationFailures === 2, 'both deliveries failed');
    expect(stats(first.fns, name)).toMatchObject({ calls: 2, attempts: 2, retries: 0, successes: 0, failures: 2 });
    expect(first.writes.get('missing')).toBe(2);
    // The events are done (the queue's offset is past them); their records wait in state entries of their own.
    await until(() => first.fns.get('hello').queue.stats().committed === 2, 'the queue past both events');
    expect((await first.sqlite.listState(delayedPrefix('hello'))).size).toBe(2);
    const failing = first.lines.filter((l) => l.includes("destination 'missing'"));
    expect(failing).toHaveLength(1);
    expect(failing[0]).toMatch(/^function hello: destination 'missing' \(destination:hello:onFailure\) is failing: .*does not exist.*; queued again, delivered later/);
    expect((await first.fns.describe('hello')).metrics.DestinationDeliveryFailures).toBe(2);
    expect(await first.observer.metricsText()).toContain(`sluice_dependency_failures_total{dependency="${name}"} 2`);
    await first.sqlite.createStream('missing', { partitions: 1 });
    await first.stop();

    const second = await start(dir, clock, config);
    clock.advance(60_000); // the kept deliveries' pause
    await until(async () => (await second.sqlite.listState(delayedPrefix('hello'))).size === 0, 'both records delivered after the restart');
    const records = await values(second.sqlite, 'missing');
    expect(records.map((r) => [r.requestContext.condition, r.requestPayload.name]).sort()).toEqual([['RetriesExhausted', 'a'], ['RetriesExhausted', 'b']]);
    expect(stats(second.fns, name)).toMatchObject({ calls: 2, attempts: 2, retries: 0, successes: 2, failures: 0 });
    expect(second.fns.get('hello').invocations).toBe(0); // the events were not run again
  }, 30_000);

  it("a stream trigger's onFailure commit that fails transiently is retried within the dependency, and the discarded batch stored once", async () => {
    const clock = new ManualClock(Date.UTC(2026, 0, 1));
    const dir = tempDir();
    const sqlite = new SqliteEngine({ dataDir: dir, retentionIntervalMs: 0 });
    await sqlite.createStream('in', { partitions: 1 });
    await sqlite.createStream('failed', { partitions: 1 });
    await sqlite.close();
    const t = await start(dir, clock, { refuse: { handler: './refuse.ts', triggers: [{ stream: 'in', startingPosition: 'TRIM_HORIZON', maximumRetryAttempts: 0, onFailure: 'failed' }] } });
    t.faults.set('failed', ['throw']);
    await t.sqlite.append('in', [{ value: Buffer.from('{"n":1}'), partition: 0 }]);
    const name = 'destination:refuse:stream.in.onFailure';
    await until(() => stats(t.fns, name).retries >= 1, 'the retry');
    clock.advance(100);
    await until(async () => (await values(t.sqlite, 'failed')).length === 1, 'the failure record');
    expect(stats(t.fns, name)).toMatchObject({ calls: 1, attempts: 2, retries: 1, successes: 1, failures: 0 });
    expect(t.writes.get('failed')).toBe(2);
    const [record] = await values(t.sqlite, 'failed');
    expect(record).toMatchObject({ requestContext: { condition: 'RetryAttemptsExhausted' }, KinesisBatchInfo: { batchSize: 1 } });
    const [mapping] = (await t.fns.describe('refuse')).mappings;
    expect(mapping).toMatchObject({ destinationDeliveries: 1, destinationDeliveryFailures: 0 });
  }, 30_000);
});

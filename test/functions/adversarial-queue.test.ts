// Adversarial: the durable async queue across a stop and a restart of Sluice. An event the stop
// catches waiting (for its retry's minute, or for a concurrency slot) must still run after the
// restart: the queue's committed offset may not move past it.
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { SqliteEngine } from '../../src/engine/sqlite/index.js';
import { functionsSchema, type FunctionConfig } from '../../src/functions/config.js';
import { Functions } from '../../src/functions/functions.js';
import { processRuntime } from '../../src/functions/runtime/process.js';
import { threadRuntime } from '../../src/functions/runtime/thread.js';
import { Observer } from '../../src/observe/observer.js';
import { allRecords } from '../support/engines.js';
import { tempDir } from '../support/tmp.js';

const FIXTURES = fileURLToPath(new URL('./registry-fixtures/', import.meta.url));
const open: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of open.splice(0).reverse()) await close();
});

/** Sluice's functions over the engine in `dataDir`: start() again on the same directory is a restart. */
async function start(dataDir: string, clock: ManualClock, functions: Record<string, FunctionConfig>) {
  const engine = new SqliteEngine({ dataDir, retentionIntervalMs: 0 });
  const fns = await Functions.start({
    engine, functions: functionsSchema.parse(functions), baseDir: FIXTURES, gatewayUrl: 'http://127.0.0.1:9', region: 'us-east-1',
    observer: new Observer({ clock }), clock, runtimes: { thread: threadRuntime, process: processRuntime }, addPrincipal: () => {},
  });
  let closed = false;
  const stop = async () => {
    if (closed) return;
    closed = true;
    await fns.close();
    await engine.close();
  };
  open.push(stop);
  return { engine, fns, stop };
}

async function until(cond: () => boolean | Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 1_000; i++) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** The payloads a function's invocation logs show it ran with (hello.ts logs `hello <name>`), in order. */
async function ran(engine: SqliteEngine, fn: string): Promise<string[]> {
  const logs = await allRecords(engine, `_sluice.fn.${fn}.logs`);
  return logs.flatMap((r) => (JSON.parse(Buffer.from(r.value).toString()).lines as string[]).filter((l) => l.includes('\tINFO\thello ')).map((l) => l.split('\tINFO\thello ')[1]!));
}

describe('the async queue across a restart', () => {
  it('retries an event after a restart when Sluice stopped while the event waited for its retry (virtual time)', async () => {
    const dir = tempDir();
    const clock = new ManualClock(Date.UTC(2026, 0, 1));
    const config = { hello: { handler: './hello.ts', async: { maximumRetryAttempts: 1 }, destinations: { onFailure: { stream: 'failed' } } } };
    const first = await start(dir, clock, config);
    await first.engine.createStream('failed', { partitions: 1 });
    await first.fns.invoke('hello', '{"name":"x","fail":true}', 'Event');
    await until(() => first.fns.get('hello').invocations === 1 && clock.sleeping > 0, 'the first attempt, then the wait for its retry');
    await first.stop();

    const second = await start(dir, clock, config);
    await until(() => clock.sleeping > 0, 'the retry waiting for its minute again');
    clock.advance(60_000);
    await until(async () => (await allRecords(second.engine, 'failed')).length === 1, 'the failure record');
    expect(second.fns.get('hello').invocations).toBe(1);
    const [record] = (await allRecords(second.engine, 'failed')).map((r) => JSON.parse(Buffer.from(r.value).toString()));
    expect(record).toMatchObject({ requestContext: { condition: 'RetriesExhausted', approximateInvokeCount: 2 }, requestPayload: { name: 'x', fail: true } });
  });

  it('runs an event after a restart when Sluice stopped while the event waited for a concurrency slot, and does not run the finished one again', async () => {
    const dir = tempDir();
    const clock = new ManualClock(Date.UTC(2026, 0, 1));
    const config = { hello: { handler: './hello.ts', concurrency: 1 } };
    const first = await start(dir, clock, config);
    await first.fns.invoke('hello', '{"name":"one"}', 'Event');
    await until(() => first.fns.get('hello').queue.stats().committed === 1, 'the first event done and committed');
    // Hold the one slot, so the next event waits for it; the stop comes while it does.
    const slot = first.fns.get('hello').slots;
    await slot.take();
    await first.fns.invoke('hello', '{"name":"two"}', 'Event');
    await until(() => first.fns.get('hello').queue.stats().inFlight === 1, 'the second event read');
    await first.stop();
    slot.give();
    expect(first.fns.get('hello').invocations).toBe(1);

    const second = await start(dir, clock, config);
    await until(() => second.fns.get('hello').invocations === 1 && second.fns.get('hello').queue.stats().committed === 2, 'the second event run');
    await until(async () => (await ran(second.engine, 'hello')).length === 2, 'its log kept');
    expect(await ran(second.engine, 'hello')).toEqual(['one', 'two']);
  });
});

// An async event whose onFailure record cannot be delivered (a non-retriable error: the stream is
// missing) does not hold back the events after it: the record waits in a state entry of its own,
// delivered again later (1 min, doubling), so after a restart no event is run
// again; once the stream exists the record is delivered exactly once; past maximumEventAge it is
// dropped with a line in the log. (Found in the review of 2026-12-02: before, the event was kept by
// leaving the queue's offset before it, and a restart ran every later event again.)
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { Writable } from 'node:stream';
import { ManualClock } from '../../src/clock.js';
import { SqliteEngine } from '../../src/engine/sqlite/index.js';
import { functionsSchema } from '../../src/functions/config.js';
import { asyncStreamOf, delayedPrefix } from '../../src/functions/async-queue.js';
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

const CONFIG = { hello: { handler: './hello.ts', async: { maximumRetryAttempts: 0 }, destinations: { onFailure: { stream: 'missing' } } } };

/** `lines`: where the log's messages go. */
async function start(dataDir: string, clock: ManualClock, lines: string[] = [], config: object = CONFIG) {
  const engine = new SqliteEngine({ dataDir, retentionIntervalMs: 0 });
  const sink = new Writable({ write: (c, _e, done) => (lines.push((JSON.parse(String(c)) as { msg: string }).msg), done()) });
  const observer = new Observer({ clock, log: pino({ level: 'info' }, sink) });
  const fns = await Functions.start({
    engine, functions: functionsSchema.parse(config), baseDir: FIXTURES, gatewayUrl: 'http://127.0.0.1:9', region: 'us-east-1',
    observer, clock, runtimes: { thread: threadRuntime, process: processRuntime }, addPrincipal: () => {},
  });
  const stop = async () => {
    await fns.close();
    await engine.close();
  };
  open.push(stop);
  return { engine, fns, stop: () => (open.splice(open.indexOf(stop), 1), stop()) };
}

async function until(cond: () => boolean | Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 1_500; i++) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`timed out waiting for ${what}`);
}

const missing = async (engine: SqliteEngine) => {
  try {
    return (await allRecords(engine, 'missing')).map((r) => JSON.parse(Buffer.from(r.value).toString()) as { requestContext: { condition: string; approximateInvokeCount: number }; requestPayload: unknown });
  } catch {
    return undefined;
  }
};

describe('an async event whose onFailure record could not be delivered', () => {
  it('does not hold back the events after it: none runs again after a restart, and the record is delivered once when it can be', async () => {
    const dir = tempDir();
    const clock = new ManualClock(Date.UTC(2026, 0, 1));
    const first = await start(dir, clock);
    await first.fns.invoke('hello', '{"name":"a","fail":true}', 'Event');
    await until(() => first.fns.get('hello').destinationFailures === 1, 'the delivery failed');
    for (const name of ['b', 'c', 'd']) await first.fns.invoke('hello', JSON.stringify({ name }), 'Event');
    await until(() => first.fns.get('hello').invocations === 4, 'b, c and d ran');
    // a's event and b, c, d are done: the queue's offset is past them all; the delivery waits its minute in a state entry of its own.
    await until(() => first.fns.get('hello').queue.stats().committed === 4, 'the queue to commit past the four events');
    expect([...(await first.engine.listState(delayedPrefix('hello'))).keys()]).toEqual([expect.stringMatching(/:RetriesExhausted:delivery:1$/)]);
    await first.stop();

    const second = await start(dir, clock);
    await new Promise((r) => setTimeout(r, 300));
    expect(second.fns.get('hello').invocations).toBe(0); // nothing run again
    await second.engine.createStream('missing', { partitions: 1 });
    clock.advance(60_000); // the delivery's pause
    await until(async () => (await missing(second.engine))?.length === 1, 'the record to be delivered');
    const [record] = (await missing(second.engine))!;
    expect(record!.requestContext).toMatchObject({ condition: 'RetriesExhausted', approximateInvokeCount: 1 });
    expect(record!.requestPayload).toEqual({ name: 'a', fail: true });
    expect(second.fns.get('hello').invocations).toBe(0);
    await until(async () => (await second.engine.listState(delayedPrefix('hello'))).size === 0, 'the delivered entry to go');
    expect(second.fns.get('hello').queue.stats().committed).toBe(4);
    await second.stop();

    const third = await start(dir, clock);
    clock.advance(600_000);
    await new Promise((r) => setTimeout(r, 300));
    expect(third.fns.get('hello').invocations).toBe(0);
    expect((await missing(third.engine))!.length).toBe(1); // delivered once
  }, 30_000);

  it('is dropped, with a line in the log, once its event is older than maximumEventAge', async () => {
    const dir = tempDir();
    const clock = new ManualClock(Date.UTC(2026, 0, 1));
    const lines: string[] = [];
    const first = await start(dir, clock, lines);
    await first.fns.invoke('hello', '{"name":"a","fail":true}', 'Event');
    await until(() => first.fns.get('hello').destinationFailures === 1, 'the delivery failed');
    for (let i = 0; i < 9; i++) {
      clock.advance(600_000); // past each pause (at most 10 minutes)
      await until(() => first.fns.get('hello').destinationFailures === 2 + i, `delivery ${i + 2} to fail`);
    }
    clock.advance(6 * 3_600_000); // past the default maximumEventAge of 6 h
    await until(() => lines.some((l) => l.includes('dropped')), 'the drop to be logged');
    expect(lines.filter((l) => l.includes('dropped'))).toEqual([expect.stringMatching(/^function hello: async event [\w-]+: its onFailure record was not delivered in 10 tries within maximumEventAge; dropped$/)]);
    expect(first.fns.get('hello').invocations).toBe(1);
    await until(() => first.fns.get('hello').queue.stats().inFlight === 0, 'nothing left in flight');
  }, 30_000);

  it('an async retry waiting its minute does not hold back the events after it either: after a restart only the retry runs', async () => {
    const dir = tempDir();
    const clock = new ManualClock(Date.UTC(2026, 0, 1));
    const config = { hello: { handler: './hello.ts', async: { maximumRetryAttempts: 1 } } };
    const first = await start(dir, clock, [], config);
    await first.fns.invoke('hello', '{"name":"a","fail":true}', 'Event');
    await until(() => first.fns.get('hello').invocations === 1, 'a ran');
    for (const name of ['b', 'c']) await first.fns.invoke('hello', JSON.stringify({ name }), 'Event');
    await until(() => first.fns.get('hello').queue.stats().committed === 3, 'the queue past a, b and c');
    expect([...(await first.engine.listState(delayedPrefix('hello'))).keys()]).toEqual([expect.stringMatching(/:1$/)]);
    await first.stop();

    const second = await start(dir, clock, [], config);
    await new Promise((r) => setTimeout(r, 300));
    expect(second.fns.get('hello').invocations).toBe(0); // b and c are not run again, a's retry waits
    clock.advance(60_000);
    await until(() => second.fns.get('hello').invocations === 1, "a's retry ran");
    await until(async () => (await second.engine.listState(delayedPrefix('hello'))).size === 0, 'the retry entry to go');
    expect(second.fns.get('hello').queue.stats()).toMatchObject({ committed: 3 });
    expect(second.fns.get('hello').errors).toBe(1);
  }, 30_000);

  it("passes over a queued record whose pending delivery names something else than onSuccess or onFailure (it would have called the queue's engine)", async () => {
    const dir = tempDir();
    const clock = new ManualClock(Date.UTC(2026, 0, 1));
    const lines: string[] = [];
    const s = await start(dir, clock, lines);
    const now = clock.now();
    const bad = (to: unknown, condition: unknown = 'RetriesExhausted') => ({
      value: Buffer.from(JSON.stringify({ requestId: `bad-${String(to)}`, payload: '{}', queuedAt: now, attempt: 1, notBefore: now, delivery: { to, condition, record: {}, failures: 1 } })),
    });
    await s.engine.append(asyncStreamOf('hello'), [bad('engine'), bad('invoke'), bad('onFailure', 'Whatever'), bad(null)]);
    await s.fns.invoke('hello', '{"name":"ok"}', 'Event');
    await until(() => s.fns.get('hello').invocations === 1 && s.fns.get('hello').queue.stats().committed === 5, 'the good event to run and the queue to pass over the others');
    expect(lines.filter((l) => l.includes('is not an event: passed over'))).toHaveLength(4);
    expect(s.fns.get('hello').errors).toBe(0);
    expect(s.fns.get('hello').destinationFailures).toBe(0);
  }, 30_000);
});

// KNOWN DEFECT (left for the functions owner, see the review of 2026-12-02): an async event whose
// onFailure record cannot be delivered (a non-retriable error) is kept by leaving the queue's
// committed offset before it, while the events after it run and finish. The offset then never
// moves while the queue runs (and `open` in AsyncQueue.run grows by one entry per later event), and
// a restart runs every later event again: here three successful invocations are made twice.
// `it.fails` until the queue keeps such an event without holding back the ones after it.
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { Writable } from 'node:stream';
import { ManualClock } from '../../src/clock.js';
import { SqliteEngine } from '../../src/engine/sqlite/index.js';
import { functionsSchema } from '../../src/functions/config.js';
import { Functions } from '../../src/functions/functions.js';
import { processRuntime } from '../../src/functions/runtime/process.js';
import { threadRuntime } from '../../src/functions/runtime/thread.js';
import { Observer } from '../../src/observe/observer.js';
import { tempDir } from '../support/tmp.js';

const FIXTURES = fileURLToPath(new URL('./registry-fixtures/', import.meta.url));
const open: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of open.splice(0).reverse()) await close();
});

const config = { hello: { handler: './hello.ts', async: { maximumRetryAttempts: 0 }, destinations: { onFailure: { stream: 'missing' } } } };

async function start(dataDir: string, clock: ManualClock) {
  const engine = new SqliteEngine({ dataDir, retentionIntervalMs: 0 });
  const observer = new Observer({ clock, log: pino({ level: 'info' }, new Writable({ write: (_c, _e, done) => done() })) });
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

describe('an async event kept for its undeliverable onFailure record', () => {
  it.fails('does not hold back the events after it: those that succeeded are not run again after a restart', async () => {
    const dir = tempDir();
    const clock = new ManualClock(Date.UTC(2026, 0, 1));
    const first = await start(dir, clock);
    await first.fns.invoke('hello', '{"name":"a","fail":true}', 'Event');
    await until(() => first.fns.get('hello').destinationFailures === 1, 'the delivery failed');
    for (const name of ['b', 'c', 'd']) await first.fns.invoke('hello', JSON.stringify({ name }), 'Event');
    await until(() => first.fns.get('hello').invocations === 4, 'b, c and d ran');
    await first.stop();

    const second = await start(dir, clock);
    await until(() => second.fns.get('hello').destinationFailures === 1, 'a ran again (kept, as designed)');
    await new Promise((r) => setTimeout(r, 500));
    expect(second.fns.get('hello').invocations).toBe(1); // only a; b, c and d were done
  }, 30_000);
});

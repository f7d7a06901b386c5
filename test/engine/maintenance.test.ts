// Retention in a running Sluice: on the injected clock, on any engine, and a failure logged when
// it starts and when it ends, not at every attempt.
import { Writable } from 'node:stream';
import { afterEach, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import type { Engine } from '../../src/engine/engine.js';
import { maintainRetention } from '../../src/engine/maintenance.js';
import { SqliteEngine } from '../../src/engine/sqlite/index.js';
import { createLogger } from '../../src/observe/log.js';
import { tempDir } from '../support/tmp.js';

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
});

it('enforces retention every interval of the clock, and logs a failing spell once when it starts and once when it ends', async () => {
  const clock = new ManualClock(Date.UTC(2026, 0, 1));
  const sqlite = new SqliteEngine({ dataDir: tempDir(), retentionIntervalMs: 0, clock });
  closers.push(() => sqlite.close());
  await sqlite.createStream('short', { partitions: 1, retentionMs: 90_000 });
  await sqlite.append('short', [{ value: Buffer.from('1') }]);
  let failNext = 0;
  let runs = 0;
  // The real engine, whose retention fails while failNext > 0 (as a busy or unreachable engine's would).
  const engine = new Proxy(sqlite, {
    get: (t, k) => (k === 'enforceRetention' ? async () => (runs++, failNext > 0 ? (failNext--, Promise.reject(new Error('engine busy'))) : t.enforceRetention()) : Reflect.get(t, k)),
  }) as Engine;
  const lines: { level: number; msg: string }[] = [];
  const log = createLogger({ level: 'info', destination: new Writable({ write: (c, _e, done) => (String(c).split('\n').filter(Boolean).forEach((l) => lines.push(JSON.parse(l))), done()) }) });
  const ac = new AbortController();
  const done = maintainRetention(engine, { clock, log, signal: ac.signal, intervalMs: 60_000 });
  const tick = async (n: number) => {
    for (let i = 0; i < 200 && clock.sleeping === 0; i++) await new Promise((r) => setTimeout(r, 5));
    clock.advance(60_000);
    for (let i = 0; i < 200 && runs < n; i++) await new Promise((r) => setTimeout(r, 5));
    expect(runs).toBe(n);
  };
  await tick(1); // 60 s: the record (90 s retention) stays
  expect((await sqlite.read('short', 0, 0, 10)).records).toHaveLength(1);
  failNext = 3;
  await tick(2);
  await tick(3);
  await tick(4); // 240 s: three failures in a row, one line
  expect(lines.map((l) => l.msg)).toEqual(['retention failed: engine busy (tried again every 60 s; logged again when it works)']);
  expect((await sqlite.read('short', 0, 0, 10)).records).toHaveLength(1); // (not enforced while failing)
  await tick(5); // works again: the record, 300 s old, goes
  for (let i = 0; i < 200 && lines.length < 2; i++) await new Promise((r) => setTimeout(r, 5));
  expect(lines.map((l) => [l.level, l.msg])).toEqual([[40, expect.any(String)], [30, 'retention works again after 3 failed runs']]);
  expect((await sqlite.read('short', 0, 0, 10)).records).toHaveLength(0);
  ac.abort();
  await done;
});

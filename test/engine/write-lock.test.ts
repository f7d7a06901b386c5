// The sqlite engine's write lock: threads of one process take turns to commit (write-lock.ts).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { afterEach, expect, it } from 'vitest';
import { WriteLock } from '../../src/engine/sqlite/write-lock.js';
import { SqliteEngine } from '../../src/engine/sqlite/index.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

it('lets one thread at a time run: two threads adding to a shared counter in non-atomic steps lose no update', async () => {
  const lock = new SharedArrayBuffer(4);
  const counter = new SharedArrayBuffer(8); // [count, threads ready]
  const ROUNDS = 20_000;
  // Both threads start together; each reads the counter, works a little, and writes it back plus
  // one: without turns, updates are lost.
  const code = `
    const { workerData, parentPort } = require('node:worker_threads');
    const { WriteLock } = require(workerData.module);
    const lock = new WriteLock(workerData.lock);
    const c = new Int32Array(workerData.counter);
    Atomics.add(c, 1, 1);
    while (Atomics.load(c, 1) < 2) Atomics.wait(c, 1, 1, 5);
    Atomics.notify(c, 1);
    for (let i = 0; i < workerData.rounds; i++) lock.run(() => {
      const v = Atomics.load(c, 0);
      let x = v;
      for (let k = 0; k < 200; k++) x = (x * 31 + k) | 0;
      Atomics.store(c, 0, v + 1 + (x === 0.5 ? 1 : 0));
    });
    parentPort.postMessage('done');`;
  const module = new URL('../../src/engine/sqlite/write-lock.ts', import.meta.url).pathname;
  const start = () =>
    new Promise<void>((resolve, reject) => {
      const w = new Worker(`require('tsx/cjs'); ${code}`, { eval: true, workerData: { module, lock, counter, rounds: ROUNDS } });
      w.on('message', () => resolve());
      w.on('error', reject);
    });
  await Promise.all([start(), start()]);
  expect(new Int32Array(counter)[0]).toBe(2 * ROUNDS);
  expect(new Int32Array(lock)[0]).toBe(0); // free again
});

it('takes the turn over when it is not given back (a thread that died holding it), so later writers do not wait for it again', () => {
  const buffer = new SharedArrayBuffer(4);
  new Int32Array(buffer)[0] = 1; // held, never released
  const lock = new WriteLock(buffer);
  expect(lock.run(() => 'ran')).toBe('ran'); // after MAX_WAIT_MS (SQLite still serialises the write)
  expect(new Int32Array(buffer)[0]).toBe(0); // taken over, then given back: the next writer gets it at once
  expect(lock.run(() => Atomics.load(new Int32Array(buffer), 0))).toBe(1); // (held while it runs)
});

it('gives the turn back when the write throws', () => {
  const buffer = new SharedArrayBuffer(4);
  const lock = new WriteLock(buffer);
  expect(() => lock.run(() => { throw new Error('conflict'); })).toThrow('conflict');
  expect(new Int32Array(buffer)[0]).toBe(0);
});

it('refuses a buffer that is not shared', () => {
  expect(() => new WriteLock(new ArrayBuffer(4) as unknown as SharedArrayBuffer)).toThrow('a write lock needs a SharedArrayBuffer of at least 4 bytes');
});

it('two connections sharing a lock commit as before: every append and state version lands once', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'wl-'));
  dirs.push(dir);
  const a = new SqliteEngine({ dataDir: dir });
  const writeLock = a.writeLockBuffer; // (a pipeline run hands its engine's to its workers' connections)
  const b = new SqliteEngine({ dataDir: dir, writeLock, checkpoints: false, retentionIntervalMs: 0 });
  await a.createStream('s', { partitions: 2 });
  let version = 0;
  for (let i = 0; i < 100; i++) {
    const e = i % 2 === 0 ? a : b;
    const { versions } = await e.commit({ appends: [{ stream: 's', records: [{ partition: i % 2, value: Buffer.from(String(i)) }] }], state: [{ key: 'k', value: Buffer.from(String(i)), expectedVersion: version }] });
    version = versions[0]!;
  }
  expect(version).toBe(100);
  const info = await a.describeStream('s');
  expect(info.partitionInfo.map((p) => p.next - p.earliest)).toEqual([50, 50]);
  expect(new Int32Array(writeLock)[0]).toBe(0);
  await a.close();
  await b.close();
});

// An object-triggered function in a real `sluice dev` (sqlite), killed with kill -9 right after
// PutObject calls returned, KILLS times, and restarted: at each kill every object written is
// visible and its event is in the function's async queue (the announcement committed with the
// object, never after it); after the restart the function runs once for every event the queue had
// not committed past at the kill, and for no other; so each object's function runs at least once,
// and the duplicates are exactly the runs that had started before a kill whose queue offset was not
// committed yet (at-least-once, counted). KILLS: 3, or SLUICE_OBJ_CRASH_KILLS.
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { SqliteEngine } from '../../src/engine/sqlite/index.js';
import { asyncStreamOf } from '../../src/functions/async-queue.js';
import { sequencerOf } from '../../src/functions/objects/index.js';
import { s3Client } from '../support/s3.js';
import { eventually, startDev, type DevServer } from '../support/sluice.js';
import { tempDir } from '../support/tmp.js';

const KILLS = Number(process.env.SLUICE_OBJ_CRASH_KILLS ?? 3);
const RECORDER = fileURLToPath(new URL('./object-fixtures/recorder.ts', import.meta.url));
const PER_CYCLE = 5; // objects put at once before each kill
const QUEUE = asyncStreamOf('recorder');
const GROUP = 'fn:recorder:async';

/** The function's runs as its fixture wrote them: one line per invocation started. */
function runs(file: string): { pid: number; requestId: string; key: string; sequencer: string }[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => {
    const [pid, requestId, key, sequencer] = l.split(' ');
    return { pid: Number(pid), requestId: requestId!, key: key!, sequencer: sequencer! };
  });
}

/** What the engine holds after a kill: the queued events (request id, key, offset), the queue's committed offset, the objects' versions. */
async function atKill(dataDir: string, keys: string[]) {
  const engine = new SqliteEngine({ dataDir, retentionIntervalMs: 0 });
  try {
    const { records } = await engine.read(QUEUE, 0, 0, 100_000);
    const queued = records.map((r) => {
      const e = JSON.parse(Buffer.from(r.value).toString()) as { requestId: string; payload: string };
      return { offset: r.offset, requestId: e.requestId, key: (JSON.parse(e.payload) as { Records: { s3: { object: { key: string } } }[] }).Records[0]!.s3.object.key };
    });
    const committed = (await engine.getOffsets(GROUP, QUEUE)).get(0) ?? 0;
    const versions = new Map<string, number | undefined>();
    for (const k of keys) versions.set(k, (await engine.statObject(`uploads/${k}`))?.version);
    return { queued, committed, versions };
  } finally {
    await engine.close();
  }
}

it(`runs an object-triggered function for every object put right before each of ${KILLS} kill -9s: the event committed with the object, run again after the restart exactly when its queue offset was not committed`, async () => {
  const dir = tempDir();
  const dataDir = join(dir, 'data');
  const record = join(dir, 'runs.txt');
  const config = join(dir, 'sluice.config.ts');
  writeFileSync(config, `export default {
  buckets: { uploads: {} },
  functions: { recorder: { handler: ${JSON.stringify(RECORDER)}, concurrency: ${PER_CYCLE}, environment: { RECORD_FILE: ${JSON.stringify(record)} }, triggers: [{ object: { bucket: 'uploads', events: ['ObjectCreated:*'] } }] } },
};\n`);
  const keys: string[] = [];
  let expectedRuns = 0; // runs the lines must add up to
  let duplicates = 0;
  let deferred = 0; // events no run had started for at a kill: they ran after the restart only
  let server: DevServer | undefined;
  /** Waits until the running server's queue ran everything queued (nothing in flight, committed at the stream's end) and the file has `n` runs. */
  const settled = async (n: number) => eventually(`${n} runs, the queue drained`, async () => {
    const d = (await (await fetch(`${server!.url}/v1/functions/recorder`)).json()) as { asyncQueue: { inFlight: number; committed: number } };
    const s = (await (await fetch(`${server!.url}/v1/streams/${QUEUE}`)).json()) as { partitionInfo: { next: number }[] };
    return runs(record).length >= n && d.asyncQueue.inFlight === 0 && d.asyncQueue.committed === s.partitionInfo[0]!.next ? true : undefined;
  }, { timeoutMs: 60_000 });

  for (let cycle = 0; cycle < KILLS; cycle++) {
    server = await startDev({ config, dataDir });
    if (cycle > 0) await settled(expectedRuns);
    expect(runs(record)).toHaveLength(expectedRuns); // the restart ran exactly the uncommitted events
    const s3 = s3Client(server.url);
    const batch = Array.from({ length: PER_CYCLE }, (_, i) => `cycle-${cycle}/object-${i}`);
    await Promise.all(batch.map((Key) => s3.send(new PutObjectCommand({ Bucket: 'uploads', Key, Body: Key }))));
    await server.kill9(); // right after every PutObject returned
    s3.destroy();
    keys.push(...batch);

    const before = runs(record);
    const { queued, committed, versions } = await atKill(dataDir, batch);
    // Each object is visible and its event queued, once: the announcement committed with it.
    for (const k of batch) {
      expect(versions.get(k), k).toBeGreaterThan(0);
      expect(queued.filter((q) => q.key === k), k).toHaveLength(1);
    }
    const again = queued.filter((q) => q.offset >= committed);
    const startedBefore = new Set(before.map((r) => r.requestId));
    duplicates += again.filter((q) => startedBefore.has(q.requestId)).length;
    deferred += again.filter((q) => !startedBefore.has(q.requestId)).length;
    expectedRuns = before.length + again.length;
  }
  server = await startDev({ config, dataDir });
  await settled(expectedRuns);
  const all = runs(record);
  expect(all).toHaveLength(expectedRuns);
  // Every object's function ran; more than once only for the duplicates counted at the kills, each with its event's request id again.
  const perKey = new Map<string, number>();
  for (const r of all) perKey.set(r.key, (perKey.get(r.key) ?? 0) + 1);
  expect([...perKey.keys()].sort()).toEqual([...keys].sort());
  expect([...perKey.values()].reduce((n, c) => n + c - 1, 0)).toBe(duplicates);
  const byRequest = new Map<string, Set<string>>();
  for (const r of all) byRequest.set(r.requestId, (byRequest.get(r.requestId) ?? new Set()).add(r.key));
  expect([...byRequest.values()].every((k) => k.size === 1)).toBe(true);
  expect(byRequest.size).toBe(keys.length); // one event (one request id) per object, however often it ran
  // The sequencer each run saw is its object's version.
  const { versions } = await (async () => {
    await server!.stop();
    return atKill(dataDir, keys);
  })();
  for (const r of all) expect(r.sequencer).toBe(sequencerOf(versions.get(r.key)!));
  console.log(`object crash test: ${KILLS} kills, ${keys.length} objects, ${all.length} runs, ${duplicates} duplicates, ${deferred} run only after a restart`);
}, 300_000);

// A stream-triggered function in a real `sluice dev`, killed with kill -9 right after it was handed
// a batch, while input keeps arriving, and restarted, KILLS times: every input record is delivered
// at least once; a record is delivered again only when it was past the mapping's committed offset
// at a kill, and every such record is (the at-least-once promise, exactly); and the function's side
// effect, made idempotent as Lambda users make theirs (a conditional write keyed by the record's
// id), is applied once per record: per-key totals equal the input's. KILLS: 3, or
// SLUICE_FN_CRASH_KILLS (the same code paths, more cycles).
import Database from 'better-sqlite3';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { SqliteEngine } from '../../src/engine/sqlite/index.js';
import { COMPACT_MIN_RECORDS } from '../../src/functions/streams/event.js';
import { mappingGroup } from '../../src/functions/streams/index.js';
import { COMMIT_EVERY_BATCHES } from '../../src/functions/streams/partition.js';
import { decodeSequence } from '../../src/gateway/kinesis/shards.js';
import { allRecords } from '../support/engines.js';
import { eventually, startDev, type DevServer } from '../support/sluice.js';
import { tempDir } from '../support/tmp.js';

const KILLS = Number(process.env.SLUICE_FN_CRASH_KILLS ?? 3);
const RECORDER = fileURLToPath(new URL('./crash-fixtures/recorder.ts', import.meta.url));
const PARTITIONS = 4;
const BATCH_SIZE = 25;
const HOLD_MS = 20; // a batch stays in flight this long after its effect is applied
const SPAN_MS = 1_000; // a run is killed up to this long after it has delivered (when a batch is next handed over)
const PUT_RECORDS = 20; // records per append request
const PUT_EVERY_MS = 10;
const KEYS = 64;
const RUN_BATCHES = 25; // each run is killed once at least this many batches were stored while it ran
const GROUP = mappingGroup('recorder', 'in');

/** One line of the deliveries file: a record handed to the function. */
interface Delivery {
  pid: number;
  requestId: string;
  partition: number;
  offset: number;
  id: string;
}

function deliveries(file: string): Delivery[] {
  if (!existsSync(file)) return [];
  const text = readFileSync(file, 'utf8');
  const complete = text.slice(0, text.lastIndexOf('\n') + 1); // a line cut by the kill: its batch was not done
  return complete.split('\n').filter(Boolean).map((line) => {
    const [pid, requestId, seq, id] = line.split(' ');
    const at = decodeSequence(seq!)!;
    return { pid: Number(pid), requestId: requestId!, partition: at.partition, offset: at.offset, id: id! };
  });
}

/** Whether a line of the deliveries file comes from the server `pid` (cheaper than parsing every line). */
function deliveredBy(file: string, pid: number): boolean {
  const text = existsSync(file) ? readFileSync(file, 'utf8') : '';
  return text.startsWith(`${pid} `) || text.includes(`\n${pid} `);
}

/** The side effects' tables, as the fixture wrote them. */
function effects(path: string) {
  const db = new Database(path, { readonly: true });
  try {
    return {
      applied: db.prepare('SELECT id, k, pid, request_id AS requestId FROM applied').all() as { id: string; k: string; pid: number; requestId: string }[],
      skipped: db.prepare('SELECT id, pid, request_id AS requestId FROM skipped ORDER BY rowid').all() as { id: string; pid: number; requestId: string }[],
      totals: new Map((db.prepare('SELECT k, count, sum FROM totals').all() as { k: string; count: number; sum: number }[]).map((t) => [t.k, { count: t.count, sum: t.sum }])),
    };
  } finally {
    db.close();
  }
}

/** Appends batches of records with ids through the gateway, each request with an Idempotency-Key, re-sent with it until answered, across restarts. */
class Producer {
  readonly acked = new Set<string>();
  /** The running server's URL (each run listens on a port of its own); none before the first. */
  url?: string;
  /** Batches stored so far. */
  stored = 0;
  private stopped = false;
  private abandoned = false;
  private batches = 0;
  readonly done: Promise<void> = this.run();

  /** Sends no more batches; resolves once the one in flight is stored (or at once, abandoning it). */
  stop(abandon = false): Promise<void> {
    this.stopped = true;
    this.abandoned ||= abandon;
    return this.done;
  }
  private async run(): Promise<void> {
    while (!this.stopped) {
      const n = this.batches++;
      const ids = Array.from({ length: PUT_RECORDS }, (_, i) => `r${n}-${i}`);
      const body = ids.map((id, i) => JSON.stringify({ id, k: `key-${(n * PUT_RECORDS + i) % KEYS}`, n: ((n * PUT_RECORDS + i) % 97) + 1 })).join('\n');
      for (;;) {
        const res = this.url === undefined ? undefined : await fetch(`${this.url}/v1/streams/in/records`, { method: 'POST', body, headers: { 'content-type': 'application/x-ndjson', 'idempotency-key': `batch-${n}` } }).catch(() => undefined);
        const answer = res && ((await res.json().catch(() => undefined)) as { stored: number; duplicates: number; failed: number } | undefined);
        if (res?.status === 200 && answer && answer.failed === 0) break;
        if (this.abandoned) return;
        await new Promise((r) => setTimeout(r, 20)); // down, starting, or shedding: the same request again
      }
      for (const id of ids) this.acked.add(id);
      this.stored++;
      await new Promise((r) => setTimeout(r, PUT_EVERY_MS));
    }
  }
}

async function committedOffsets(dataDir: string): Promise<Map<number, number>> {
  const engine = new SqliteEngine({ dataDir, retentionIntervalMs: 0 });
  try {
    return await engine.getOffsets(GROUP, 'in');
  } finally {
    await engine.close();
  }
}

it(`delivers every record at least once through ${KILLS} kill -9s of the server mid-batch, again exactly those past the committed offset at a kill, and an idempotent side effect applies each once`, async () => {
  const began = Date.now();
  const dir = tempDir();
  const dataDir = join(dir, 'data');
  const file = join(dir, 'deliveries.txt');
  const effectsDb = join(dir, 'effects.db');
  const config = join(dir, 'sluice.config.ts');
  writeFileSync(config, `export default ${JSON.stringify({
    streams: { in: { partitions: PARTITIONS, partitionKeyField: 'k' } },
    functions: {
      recorder: {
        handler: RECORDER,
        timeout: '30s', // (a batch is never retried within a run, however loaded the machine)
        environment: { DELIVERIES: file, EFFECTS: effectsDb, HOLD_MS: String(HOLD_MS) },
        triggers: [{ stream: 'in', startingPosition: 'TRIM_HORIZON', batchSize: BATCH_SIZE }],
      },
    },
  })};\n`);
  const producer = new Producer();
  const startups: number[] = [];
  const start = async () => {
    const t = Date.now();
    const s = await startDev({ config, dataDir, cwd: dir, args: ['--log-level', 'warn'] }); // (warn: no access line per request)
    producer.url = s.url;
    startups.push((Date.now() - t) / 1000);
    return s;
  };
  /** Waits until `n` more batches are stored: input arrives while each run works. */
  const arrived = async (n: number) => {
    const target = producer.stored + n;
    await eventually(`${n} batches to be stored`, () => (producer.stored >= target ? true : undefined), { timeoutMs: 60_000, stepMs: 5 });
  };
  const runs: { pid: number; committedAtKill?: Map<number, number> }[] = [];
  let server: DevServer | undefined;
  try {
    for (let k = 0; k < KILLS; k++) {
      server = await start();
      const run = { pid: server.pid } as (typeof runs)[number];
      runs.push(run);
      await arrived(RUN_BATCHES);
      await eventually('the run to deliver records', () => (deliveredBy(file, run.pid) ? true : undefined), { timeoutMs: 60_000, stepMs: 5 });
      await new Promise((r) => setTimeout(r, Math.random() * SPAN_MS));
      // Then the moment a batch has been handed over: it is in flight (its effect being applied, then held), its offset not committed.
      const size = statSync(file).size;
      await eventually('a batch to be handed over', () => (statSync(file).size > size ? true : undefined), { timeoutMs: 60_000, stepMs: 1 });
      await server.kill9();
      run.committedAtKill = await committedOffsets(dataDir);
    }
    server = await start();
    runs.push({ pid: server.pid });
    await arrived(RUN_BATCHES);
    await producer.stop();
    // The last run catches up: every partition committed to its end.
    const caughtUp = async () => {
      const d = (await (await fetch(`${producer.url}/v1/functions/recorder`)).json()) as { mappings: { partitions: { committedOffset: number; latestOffset?: number; batchesInFlight: number }[] }[] };
      return d.mappings[0]!.partitions.every((p) => p.committedOffset === p.latestOffset && p.batchesInFlight === 0) ? true : undefined;
    };
    await eventually('the last run to catch up', caughtUp, { timeoutMs: 60_000 });
    const code = await server.stop();
    expect(code, server.stderr().slice(-4000)).toBe(0); // (its log, should it not stop cleanly)
  } finally {
    await producer.stop(true);
    await server?.kill9();
  }

  const engine = new SqliteEngine({ dataDir, retentionIntervalMs: 0 });
  const input = await allRecords(engine, 'in');
  const ends = (await engine.describeStream('in')).partitionInfo.map((p) => p.next);
  const committed = await engine.getOffsets(GROUP, 'in');
  await engine.close();
  const got = deliveries(file);
  const fx = effects(effectsDb);

  // The gateway lost nothing it acknowledged and stored nothing twice (re-sent requests carried their key).
  const pos = (p: number, o: number) => `${p}:${o}`;
  const inputs = input.map((r) => JSON.parse(Buffer.from(r.value).toString()) as { id: string; k: string; n: number });
  const idAt = new Map(input.map((r, i) => [pos(r.partition, r.offset), inputs[i]!.id]));
  const inputIds = new Set(idAt.values());
  expect(inputIds.size).toBe(input.length);
  expect([...producer.acked].filter((id) => !inputIds.has(id))).toEqual([]);

  // Every input record delivered at least once, with its own data; nothing else delivered; every offset committed.
  const delivered = new Set(got.map((d) => pos(d.partition, d.offset)));
  expect(input.filter((r) => !delivered.has(pos(r.partition, r.offset)))).toEqual([]);
  expect(got.filter((d) => idAt.get(pos(d.partition, d.offset)) !== d.id)).toEqual([]);
  expect(ends.map((_, p) => committed.get(p))).toEqual(ends);
  expect(new Set(runs.map((r) => r.pid)).size).toBe(runs.length); // (deliveries are told apart by the server's pid)

  // Redeliveries: what a killed run was handed at or past the offset committed when it was killed
  // is handed over again by a later run — exactly those records, never one below the checkpoint.
  const later = (k: number) => new Set(got.filter((d) => runs.slice(k + 1).some((r) => r.pid === d.pid)).map((d) => pos(d.partition, d.offset)));
  const perKill: { records: number; batches: number; maxPerPartition: number }[] = [];
  for (let k = 0; k < KILLS; k++) {
    const mine = got.filter((d) => d.pid === runs[k]!.pid);
    const again = later(k);
    const redelivered = mine.filter((d) => again.has(pos(d.partition, d.offset)));
    const uncommitted = mine.filter((d) => d.offset >= (runs[k]!.committedAtKill!.get(d.partition) ?? 0));
    expect(redelivered).toEqual(uncommitted);
    // Within a run a record is handed over once, in order per partition.
    for (let p = 0; p < PARTITIONS; p++) {
      const offsets = mine.filter((d) => d.partition === p).map((d) => d.offset);
      expect(offsets).toEqual([...new Set(offsets)].sort((a, b) => a - b));
    }
    const perPartition = Array.from({ length: PARTITIONS }, (_, p) => redelivered.filter((d) => d.partition === p).length);
    perKill.push({ records: redelivered.length, batches: new Set(redelivered.map((d) => d.requestId)).size, maxPerPartition: Math.max(...perPartition) });
  }
  const last = got.filter((d) => d.pid === runs.at(-1)!.pid);
  expect(new Set(last.map((d) => pos(d.partition, d.offset))).size).toBe(last.length); // the last run, not killed, handed each over once
  const redeliveries = got.length - input.length;
  expect(perKill.reduce((n, k) => n + k.records, 0)).toBeGreaterThanOrEqual(redeliveries); // (a record redelivered after two kills counts in both)
  // Bounded: a kill redelivers only the batches in flight then and those settled since the last commit —
  // per partition, the batch handed over, up to COMMIT_EVERY_BATCHES settled whose commit was coalesced, and one being written.
  for (const k of perKill) expect(k.maxPerPartition).toBeLessThanOrEqual((COMMIT_EVERY_BATCHES + 2) * BATCH_SIZE);
  expect(perKill.filter((k) => k.records > 0).length).toBeGreaterThan(0); // the kills did land mid-batch
  // The runs after a kill start behind, so their batches are full: those of COMPACT_MIN_RECORDS or
  // more went to the worker in the compact form (decision 022), and the promises above held for them.
  const batchSizes = new Map<string, number>();
  for (const d of got) batchSizes.set(d.requestId, (batchSizes.get(d.requestId) ?? 0) + 1);
  expect(Math.max(...batchSizes.values())).toBeGreaterThanOrEqual(COMPACT_MIN_RECORDS);

  // The side effect: applied once per input record, so each key's count and sum are the input's.
  expect(fx.applied.map((a) => a.id).sort()).toEqual([...inputIds].sort());
  const want = new Map<string, { count: number; sum: number }>();
  for (const x of inputs) want.set(x.k, { count: (want.get(x.k)?.count ?? 0) + 1, sum: (want.get(x.k)?.sum ?? 0) + x.n });
  expect(fx.totals).toEqual(want);
  // A batch's effect is all or nothing: each batch handed over either left a row per record, or
  // none (killed before its transaction committed) — then it came from a killed run and all its
  // records were handed over again.
  const rows = new Map<string, number>();
  for (const e of [...fx.applied, ...fx.skipped]) rows.set(e.requestId, (rows.get(e.requestId) ?? 0) + 1);
  const batches = new Map<string, Delivery[]>();
  for (const d of got) batches.set(d.requestId, [...(batches.get(d.requestId) ?? []), d]);
  expect([...batches.values()].filter((b) => rows.has(b[0]!.requestId) && rows.get(b[0]!.requestId) !== b.length)).toEqual([]);
  const cut = [...batches.values()].filter((b) => !rows.has(b[0]!.requestId));
  const runOf = new Map(runs.map((r, i) => [r.pid, i]));
  const lastRunOf = new Map<string, number>();
  for (const d of got) lastRunOf.set(d.id, Math.max(lastRunOf.get(d.id) ?? 0, runOf.get(d.pid)!));
  expect(cut.filter((b) => runOf.get(b[0]!.pid)! >= KILLS || b.some((d) => lastRunOf.get(d.id)! <= runOf.get(d.pid)!))).toEqual([]);
  // And what was skipped is exactly the deliveries of records whose effect an earlier batch had
  // applied (runs are one after another, and within one a record is handed over once).
  const done = new Set<string>();
  const duplicates: { id: string; pid: number; requestId: string }[] = [];
  for (const d of got.filter((d) => rows.has(d.requestId))) {
    if (done.has(d.id)) duplicates.push({ id: d.id, pid: d.pid, requestId: d.requestId });
    done.add(d.id);
  }
  const byDelivery = (a: { id: string; requestId: string }, b: { id: string; requestId: string }) => a.id.localeCompare(b.id) || a.requestId.localeCompare(b.requestId);
  expect(fx.skipped.sort(byDelivery)).toEqual(duplicates.sort(byDelivery));
  console.log(`stream function crash test: ${KILLS} kill -9s, ${input.length} records, ${got.length} deliveries, ${redeliveries} redeliveries (per kill: ${perKill.map((k) => `${k.records} records in ${k.batches} batches`).join(', ')}); effects: ${fx.applied.length} applied once, ${fx.skipped.length} repeats skipped, ${cut.length} batches cut by a kill before theirs committed; ${((Date.now() - began) / 1000).toFixed(1)} s, of which starting sluice dev ${startups.map((t) => t.toFixed(1)).join(' + ')} s`);
}, 60_000 + KILLS * 30_000); // (about 30 s at 3 kills; the deadlines are for a machine busy with other work)

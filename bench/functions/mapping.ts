// bench/functions/mapping: a no-op TypeScript function triggered by a stream — the real registry
// (Functions), the thread runtime and the stream mapping on the sqlite engine, Lambda's full Kinesis
// event — at batch 1, 100 and 1,000. A stream is pre-filled (the fill's garbage collected), then the
// function is started with its trigger and timed from its worker being ready until the mapping's
// committed offsets reach the stream's end: records/s and invocations/s. A discarded run first
// warms the main thread's JIT.
// Each invocation's cycle (one invocation's start to the next one's on the same partition) is
// compared with calling the same handler in a plain loop over the same events in the same run
// (overhead = cycle − loop call, p50 and p99). The runtime factory given to the registry is wrapped
// to time each invocation; nothing else is changed. The baseline of throughput: the same records
// read straight from the engine in the same run (one read loop per partition, as many a read as the
// mapping's poller reads ahead), and read and shaped into the same events as the mapping sends them
// (no function; from 8 records a batch that is the compact form the worker builds Lambda's event
// from, decision 022 — so this baseline is cheaper than in runs before it): the mapping's records/s
// as a ratio of each, and CPU µs per record of each (steadier than rates on a shared machine). The
// loop's `parsed` calls parse each event's JSON text first, as Lambda's own runtime does. Prints one
// JSON line.
//   node --import tsx bench/functions/mapping.ts
//   env: BENCH_BATCHES (1,100,1000), BENCH_PARTITIONS (1,4), BENCH_RECORDS (1000000; batch 1:
//   BENCH_RECORDS_B1, 50000), BENCH_RECORD_BYTES (100), BENCH_CPU_PROFILE (a directory: the main
//   thread's CPU profile of each drain is written there, <batch>-<partitions>.cpuprofile, and each
//   worker's, worker-<batch>-<partitions>-<thread>.cpuprofile, from its handler, profiled-noop.mjs)
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { systemClock } from '../../src/clock.js';
import type { AppendRecord, Engine } from '../../src/engine/engine.js';
import { SqliteEngine } from '../../src/engine/sqlite/index.js';
import { functionsSchema } from '../../src/functions/config.js';
import { Functions } from '../../src/functions/functions.js';
import { processRuntime } from '../../src/functions/runtime/process.js';
import { threadRuntime } from '../../src/functions/runtime/thread.js';
import { eventText, type Payload } from '../../src/functions/runtime/payload.js';
import type { FunctionRuntime, RuntimeFactory } from '../../src/functions/runtime/types.js';
import { eventOf, eventSourceOf, mapRecord } from '../../src/functions/streams/event.js';
import { mappingGroup } from '../../src/functions/streams/index.js';
import { Observer } from '../../src/observe/observer.js';
import { cpuSeconds, fixture, quantile, round, threadCpuSeconds } from './measure.js';

const list = (v: string | undefined, d: string) => (v ?? d).split(',').map(Number);
const BATCHES = list(process.env.BENCH_BATCHES, '1,100,1000');
const PARTITIONS = list(process.env.BENCH_PARTITIONS, '1,4');
const RECORDS = Number(process.env.BENCH_RECORDS ?? 1_000_000);
const RECORDS_B1 = Number(process.env.BENCH_RECORDS_B1 ?? 50_000);
const RECORD_BYTES = Number(process.env.BENCH_RECORD_BYTES ?? 100);
const WARMUP_RECORDS = 100_000; // the discarded run (batch 100, one partition)
const APPEND_RECORDS = 500; // records per append in the pre-fill: a stored batch per partition each, as an ingest request makes
const FILL_COMMIT_RECORDS = 100_000; // records per commit of the pre-fill
const KEYS = 10_000; // distinct partition keys
const CAPTURE_BYTES = 32 * 1024 * 1024; // about this many bytes of events kept for the plain loop (made texts after the run)
const DRAIN_POLL_MS = 2;
/** Records per engine read of the baseline: what the poller reads ahead at parallelizationFactor 1 (src/functions/streams/partition.ts). */
const readAheadOf = (batch: number) => Math.min(10_000, Math.max(1_000, batch * 2));
const PROFILE_DIR = process.env.BENCH_CPU_PROFILE;
const STREAM = 'src';
const FUNCTION = 'noop';
const TARGETS = { recordsPerSecondAtBatch100: 300_000, invocationsPerSecondAtBatch1: 10_000, overheadP99Us: 500 };

/** Times every invocation the registry hands the runtime (start, end, partition) and keeps the first events' payloads. */
class Recorder {
  starts = new Float64Array(0);
  ends = new Float64Array(0);
  parts = new Uint16Array(0);
  n = 0;
  /** When the function's first worker was ready (the registry warms one, then starts its triggers). */
  readyAt: number | undefined;
  cpuAtReady = { process: 0, main: 0 };
  threadsAtReady = new Map<number, number>();
  events: Payload[] = [];
  private eventBytes = 0;
  private on = false;

  start(capacity: number): void {
    this.starts = new Float64Array(capacity);
    this.ends = new Float64Array(capacity);
    this.parts = new Uint16Array(capacity);
    this.n = 0;
    this.readyAt = undefined;
    this.events = [];
    this.eventBytes = 0;
    this.on = true;
  }

  stop(): void {
    this.on = false;
  }

  wrap(factory: RuntimeFactory): RuntimeFactory {
    return (spec) => {
      const rt = factory(spec);
      const wrapped: FunctionRuntime = {
        invoke: (req, signal) => {
          if (!this.on || this.n >= this.starts.length) return rt.invoke(req, signal);
          const i = this.n++;
          if (this.eventBytes < CAPTURE_BYTES) {
            this.events.push(req.payload);
            this.eventBytes += payloadBytes(req.payload);
          }
          this.starts[i] = performance.now();
          return rt.invoke(req, signal).then((o) => {
            this.ends[i] = performance.now();
            // Read once the runtime has sent it: the event is a rope until then, and reading it first would move the cost of flattening it here.
            this.parts[i] = partitionOf(req.payload);
            return o;
          });
        },
        reload: () => rt.reload(),
        warm: (n) =>
          rt.warm(n).then(() => {
            if (this.readyAt !== undefined) return;
            this.readyAt = performance.now();
            this.cpuAtReady = cpuSeconds();
            this.threadsAtReady = threadCpuSeconds();
          }),
        close: () => rt.close(),
        get stats() {
          return rt.stats;
        },
      };
      return wrapped;
    };
  }
}

/** About the bytes a payload holds (a Kinesis batch's data as base64, ~550 bytes of fields a record). */
const payloadBytes = (p: Payload): number => (typeof p === 'string' ? p.length : (p.data.byteLength * 4) / 3 + 550 * p.ends.length);

/** The shard of a Kinesis event (shardId-000000000003, its first record's eventID's in JSON text). */
function partitionOf(payload: Payload): number {
  if (typeof payload !== 'string') return Number(payload.shardId.slice(8));
  const at = payload.indexOf('"eventID":"shardId-');
  return at < 0 ? 0 : Number(payload.slice(at + 19, at + 31));
}

/** Record values of about RECORD_BYTES of JSON, a player event each. */
function valueOf(i: number): Buffer {
  const text = JSON.stringify({ id: i, device: `device-${i % KEYS}`, event: 'play', video: `v-${i % 997}`, position: (i % 600) / 2, ts: 1_767_225_600_000 + i });
  return Buffer.from(text.length >= RECORD_BYTES ? text : `${text.slice(0, -1)},"pad":"${'x'.repeat(Math.max(0, RECORD_BYTES - text.length - 9))}"}`);
}

/** Appends `count` records in one commit, APPEND_RECORDS per append. */
async function fill(engine: Engine, from: number, count: number): Promise<void> {
  const appends: { stream: string; records: AppendRecord[] }[] = [];
  for (let i = from; i < from + count; i += APPEND_RECORDS) {
    const records: AppendRecord[] = [];
    for (let j = i; j < Math.min(from + count, i + APPEND_RECORDS); j++) records.push({ key: `device-${j % KEYS}`, value: valueOf(j) });
    appends.push({ stream: STREAM, records });
  }
  await engine.commit({ appends });
}

/** A full garbage collection, so the pre-fill's garbage is not collected while the mapping runs. */
function collectGarbage(): void {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
}

/** The main thread's CPU profile from now until the returned function is called (with BENCH_CPU_PROFILE). */
async function profile(name: string): Promise<() => Promise<void>> {
  if (PROFILE_DIR === undefined) return async () => undefined;
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
  return async () => {
    const { profile } = await session.post('Profiler.stop');
    mkdirSync(PROFILE_DIR, { recursive: true });
    writeFileSync(join(PROFILE_DIR, `${name}.cpuprofile`), JSON.stringify(profile));
    session.disconnect();
  };
}

/** Resolves when the mapping's committed offsets reach the end of every partition. */
async function drained(engine: Engine): Promise<void> {
  const end = (await engine.describeStream(STREAM)).partitionInfo.map((p) => p.next);
  const group = mappingGroup(FUNCTION, STREAM);
  for (;;) {
    const offsets = await engine.getOffsets(group, STREAM);
    if (end.every((next, p) => (offsets.get(p) ?? 0) >= next)) return;
    await new Promise((r) => setTimeout(r, DRAIN_POLL_MS));
  }
}

/** Per-invocation times (µs) on each partition: cycle (start to the next start), round trip in the runtime, gap (end to the next start). */
function perInvocation(rec: Recorder) {
  const cycle: number[] = [];
  const roundTrip: number[] = [];
  const gap: number[] = [];
  const lastStart = new Map<number, number>();
  const lastEnd = new Map<number, number>();
  for (let i = 0; i < rec.n; i++) {
    const p = rec.parts[i]!;
    const s = rec.starts[i]!;
    if (lastStart.has(p)) cycle.push((s - lastStart.get(p)!) * 1000);
    if (lastEnd.has(p)) gap.push((s - lastEnd.get(p)!) * 1000);
    roundTrip.push((rec.ends[i]! - s) * 1000);
    lastStart.set(p, s);
    lastEnd.set(p, rec.ends[i]!);
  }
  return { cycle, roundTrip, gap };
}

/** CPU seconds between two snapshots: threads started after `before` existed (the function's workers), and the others but the main thread. */
function cpuByThread(from: Map<number, number>, to: Map<number, number>, before: Set<number>): { workers: number; other: number } {
  let workers = 0;
  let other = 0;
  for (const [tid, s] of to) {
    if (tid === process.pid) continue;
    const d = s - (from.get(tid) ?? 0);
    if (before.has(tid)) other += d;
    else workers += d;
  }
  return { workers, other };
}

/**
 * The baseline: every record of the stream read straight from the engine, one read loop per
 * partition, and read again building the batches' events as the poller does (no function).
 */
async function engineRead(engine: Engine, batch: number, records: number) {
  const { partitionInfo, createdAt } = await engine.describeStream(STREAM);
  const pass = async (shape: boolean) => {
    const cpu0 = process.cpuUsage();
    const start = performance.now();
    let read = 0;
    let bytes = 0;
    await Promise.all(
      partitionInfo.map(async ({ partition, next: end }) => {
        const src = eventSourceOf(STREAM, partition, 'us-east-1', 'arn:aws:iam::000000000000:role/noop', 'kinesis');
        for (let offset = 0; offset < end; ) {
          const r = await engine.read(STREAM, partition, offset, readAheadOf(batch));
          if (r.next <= offset) break;
          offset = r.next;
          read += r.records.length;
          if (!shape) continue;
          const now = Date.now();
          const mapped = r.records.map((x) => mapRecord(x, createdAt, now));
          for (let i = 0; i < mapped.length; i += batch) bytes += payloadBytes(eventOf(mapped.slice(i, i + batch), src));
        }
      }),
    );
    if (read !== records) throw new Error(`read ${read} records of ${records}`);
    const cpu = process.cpuUsage(cpu0);
    return { recordsPerSecond: records / ((performance.now() - start) / 1000), cpuUsPerRecord: (cpu.user + cpu.system) / records, bytes };
  };
  await pass(false); // the page cache and the JIT warm
  const raw = await pass(false);
  const shaped = await pass(true);
  return { raw, shaped };
}

/** The same handler called in a plain loop over the same events, `calls` times: as objects, and parsed from their JSON each call. */
async function plainLoop(events: string[], calls: number) {
  const { handler } = (await import(fixture('noop.ts'))) as { handler: (e: unknown, c: unknown) => Promise<unknown> };
  const context = { awsRequestId: 'r', functionName: FUNCTION };
  const objects = events.map((e) => JSON.parse(e) as unknown);
  const loop = async (call: (i: number) => Promise<unknown>) => {
    const latencies = new Float64Array(calls);
    const start = performance.now();
    for (let i = 0; i < calls; i++) {
      const t = performance.now();
      await call(i);
      latencies[i] = (performance.now() - t) * 1000;
    }
    return { seconds: (performance.now() - start) / 1000, latencies };
  };
  await loop((i) => handler(objects[i % objects.length], context)); // JIT warm-up
  const direct = await loop((i) => handler(objects[i % objects.length], context));
  const parsed = await loop((i) => handler(JSON.parse(events[i % events.length]!), context));
  return { direct, parsed };
}

/** The no-op handler; with BENCH_CPU_PROFILE, the same one profiling its worker until ~90% of the invocations a worker may run. */
function handlerOf(batch: number, partitions: number, records: number): { handler: string; environment?: Record<string, string> } {
  if (PROFILE_DIR === undefined) return { handler: fixture('noop.ts') };
  mkdirSync(PROFILE_DIR, { recursive: true });
  const perWorker = Math.ceil(records / batch / partitions);
  return {
    handler: fileURLToPath(new URL('./profiled-noop.mjs', import.meta.url)),
    environment: { BENCH_PROFILE_DIR: PROFILE_DIR, BENCH_PROFILE_INVOCATIONS: String(Math.max(1, Math.floor(perWorker * 0.9))), BENCH_PROFILE_NAME: `${batch}-${partitions}` },
  };
}

async function measure(batch: number, partitions: number, records = batch === 1 ? RECORDS_B1 : RECORDS) {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-bench-fn-'));
  const engine = new SqliteEngine({ dataDir: dir, retentionIntervalMs: 0 });
  const rec = new Recorder();
  try {
    await engine.createStream(STREAM, { partitions });
    const filled = performance.now();
    for (let at = 0; at < records; at += FILL_COMMIT_RECORDS) await fill(engine, at, Math.min(FILL_COMMIT_RECORDS, records - at));
    const fillSeconds = (performance.now() - filled) / 1000;
    collectGarbage();
    rec.start(Math.ceil(records / batch) + partitions * 2);
    const threadsBefore = new Set(threadCpuSeconds().keys()); // threads started from here on are the function's workers
    const profiled = await profile(`${batch}-${partitions}`);
    const fns = await Functions.start({
      engine,
      functions: functionsSchema.parse({ [FUNCTION]: { ...handlerOf(batch, partitions, records), triggers: [{ stream: STREAM, batchSize: batch, startingPosition: 'TRIM_HORIZON' }] } }),
      baseDir: dir, gatewayUrl: 'http://127.0.0.1:9', region: 'us-east-1', observer: new Observer({ clock: systemClock }), clock: systemClock,
      runtimes: { thread: rec.wrap(threadRuntime), process: processRuntime }, addPrincipal: () => undefined,
    });
    try {
      await drained(engine);
      const seconds = (performance.now() - rec.readyAt!) / 1000;
      const cpu1 = cpuSeconds();
      const cpu0 = rec.cpuAtReady;
      const threads = cpuByThread(rec.threadsAtReady, threadCpuSeconds(), threadsBefore);
      rec.stop();
      await profiled();
      const invocations = rec.n;
      const { cycle, roundTrip, gap } = perInvocation(rec);
      const texts = rec.events.map(eventText);
      const loop = await plainLoop(texts, invocations);
      const base = await engineRead(engine, batch, records);
      const q = (xs: ArrayLike<number>) => ({ p50: quantile(xs, 0.5), p99: quantile(xs, 0.99) });
      const [c, rt, g, d, dp] = [q(cycle), q(roundTrip), q(gap), q(loop.direct.latencies), q(loop.parsed.latencies)];
      const recordsPerSecond = records / seconds;
      return {
        batch,
        partitions,
        records,
        invocations,
        fillSeconds: round(fillSeconds, 2),
        seconds: round(seconds, 3),
        recordsPerSecond: Math.round(recordsPerSecond),
        invocationsPerSecond: Math.round(invocations / seconds),
        eventBytesAvg: Math.round(texts.reduce((n, e) => n + Buffer.byteLength(e), 0) / texts.length),
        cycleUs: { p50: round(c.p50), p99: round(c.p99) },
        runtimeRoundTripUs: { p50: round(rt.p50), p99: round(rt.p99) },
        mappingGapUs: { p50: round(g.p50), p99: round(g.p99) },
        cpu: {
          cores: round((cpu1.process - cpu0.process) / seconds, 2),
          mainThreadCores: round((cpu1.main - cpu0.main) / seconds, 2),
          workerThreadsCores: round(threads.workers / seconds, 2),
          otherThreadsCores: round(threads.other / seconds, 2),
          mainUsPerInvocation: round(((cpu1.main - cpu0.main) / invocations) * 1e6, 1),
          workersUsPerInvocation: round((threads.workers / invocations) * 1e6, 1),
          usPerRecord: round(((cpu1.process - cpu0.process) / records) * 1e6, 2),
          usPerInvocation: round(((cpu1.process - cpu0.process) / invocations) * 1e6, 1),
        },
        engineRead: {
          recordsPerSecond: Math.round(base.raw.recordsPerSecond),
          cpuUsPerRecord: round(base.raw.cpuUsPerRecord, 2),
          shapedRecordsPerSecond: Math.round(base.shaped.recordsPerSecond),
          shapedCpuUsPerRecord: round(base.shaped.cpuUsPerRecord, 2),
        },
        plainLoop: {
          recordsPerSecond: Math.round((invocations * batch) / loop.direct.seconds),
          callUs: { p50: round(d.p50, 2), p99: round(d.p99, 2) },
          parsedRecordsPerSecond: Math.round((invocations * batch) / loop.parsed.seconds),
          parsedCallUs: { p50: round(dp.p50, 2), p99: round(dp.p99, 2) },
        },
        overheadUs: { p50: round(c.p50 - d.p50), p99: round(c.p99 - d.p99) },
        overheadVsParsedUs: { p50: round(c.p50 - dp.p50), p99: round(c.p99 - dp.p99) },
        ratio: {
          vsEngineRead: round(recordsPerSecond / base.raw.recordsPerSecond, 4),
          vsEngineReadShaped: round(recordsPerSecond / base.shaped.recordsPerSecond, 4),
          cpuVsEngineReadShaped: round((cpu1.process - cpu0.process) / records / (base.shaped.cpuUsPerRecord / 1e6), 2),
          vsPlainLoop: round(recordsPerSecond / ((invocations * batch) / loop.direct.seconds), 5),
          vsParsedLoop: round(recordsPerSecond / ((invocations * batch) / loop.parsed.seconds), 4),
        },
      };
    } finally {
      await fns.close();
    }
  } finally {
    await engine.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

await measure(100, 1, WARMUP_RECORDS);
const load = loadavg()[0]!;
const results: Awaited<ReturnType<typeof measure>>[] = [];
for (const partitions of PARTITIONS) for (const batch of BATCHES) results.push(await measure(batch, partitions));
const at = (batch: number) => results.filter((r) => r.batch === batch);
const best = (batch: number, f: (r: (typeof results)[number]) => number) => Math.max(...at(batch).map(f));
const b1 = at(1).find((r) => r.partitions === 1) ?? at(1)[0];
console.log(JSON.stringify({
  bench: 'functions/mapping',
  date: new Date().toISOString(),
  nproc: availableParallelism(),
  node: process.version,
  recordBytes: RECORD_BYTES,
  loadAverage1m: { before: round(load, 2), after: round(loadavg()[0]!, 2) },
  results,
  targets: TARGETS,
  targetsMet: {
    ...(at(100).length > 0 && { recordsPerSecondAtBatch100: best(100, (r) => r.recordsPerSecond) >= TARGETS.recordsPerSecondAtBatch100 }),
    ...(at(1).length > 0 && { invocationsPerSecondAtBatch1: best(1, (r) => r.invocationsPerSecond) >= TARGETS.invocationsPerSecondAtBatch1 }),
    ...(b1 && { overheadP99AtBatch1: b1.overheadUs.p99 < TARGETS.overheadP99Us }),
  },
}));

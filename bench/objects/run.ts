// bench/objects: the S3 API's PutObject / GetObject through a real `sluice dev` (its gateway and
// object store, stderr to a file as a user's `sluice dev 2>log`) from @aws-sdk/client-s3 in a process
// of its own (client.ts), against writing and reading the same bytes as plain files in this process
// (writeFile, fsynced only when the engine's durability is 'fsync'; readFile and createReadStream),
// in the same run, rounds alternating which goes first; then object write → function start: a
// function triggered by ObjectCreated:* (stamp.ts) stamps the monotonic clock on entry, objects are
// put one at a time, and each delay is measured from PutObject's answer and from its start.
// Prints one JSON line.
//   node --import tsx bench/objects/run.ts   (env: BENCH_ROUNDS 3, BENCH_LATENCY_OBJECTS 300,
//   BENCH_ENGINE sqlite|nats (a real nats-server), BENCH_DURABILITY process|fsync, BENCH_ONLY throughput|latency,
//   BENCH_CASES e.g. '1KiB,64MiB', BENCH_SDK_CHECKSUMS WHEN_REQUIRED (the SDK's CRC32s off), BENCH_SERVER_NODE_OPTIONS e.g. '--cpu-prof --cpu-prof-dir=/tmp/prof')
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createReadStream, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { open, readFile, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startNats, type NatsServer } from '../../test/support/nats.js';
import type { ClientRequest, Sent } from './client.js';

const MiB = 1024 * 1024;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const LATENCY_OBJECTS = Number(process.env.BENCH_LATENCY_OBJECTS ?? 300);
const LATENCY_WARMUP = 20;
const ENGINE = process.env.BENCH_ENGINE ?? 'sqlite';
const DURABILITY = process.env.BENCH_DURABILITY ?? 'process';
const ONLY = process.env.BENCH_ONLY;
/** Extra node options for `sluice dev` (e.g. `--cpu-prof --cpu-prof-dir=/tmp/p`). */
const SERVER_NODE_OPTIONS = (process.env.BENCH_SERVER_NODE_OPTIONS ?? '').split(' ').filter(Boolean);
const TARGETS = { largeObjectRatio: 0.5, triggerP99Ms: 50 };
/** Each case: object size, objects per round, in flight at once. */
const ALL_CASES = [
  { name: '1KiB', size: 1024, count: 1000, concurrency: 1 },
  { name: '1KiB x4', size: 1024, count: 1000, concurrency: 4 },
  { name: '1MiB', size: MiB, count: 128, concurrency: 1 },
  { name: '64MiB', size: 64 * MiB, count: 6, concurrency: 1 },
];
const CASES = process.env.BENCH_CASES ? ALL_CASES.filter((c) => process.env.BENCH_CASES!.split(',').includes(c.name)) : ALL_CASES;
const TSX = new URL('../../node_modules/tsx/dist/loader.mjs', import.meta.url).href;
const SLUICE_BIN = fileURLToPath(new URL('../../src/cli/bin.ts', import.meta.url));
const CLIENT = fileURLToPath(new URL('./client.ts', import.meta.url));
const STAMP = fileURLToPath(new URL('./stamp.ts', import.meta.url));

const round = (x: number, d = 1) => Math.round(x * 10 ** d) / 10 ** d;
const load = () => round(loadavg()[0]!, 2);
/** A process' CPU seconds (user + system) from /proc. */
function cpuOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
}

/** `sluice dev` in `dir` with two buckets (`bench`, and `triggered` whose writes invoke `stamp`), stderr to a file. */
async function startDev(dir: string, engineUrl?: string): Promise<{ url: string; pid: number; stop(): Promise<void> }> {
  const stampFile = join(dir, 'stamps.txt');
  const engine = DURABILITY === 'fsync' ? `engine: { kind: 'sqlite', durability: 'fsync' },\n  ` : '';
  writeFileSync(join(dir, 'sluice.config.ts'), `export default {
  ${engine}buckets: { bench: {}, triggered: {} },
  functions: { stamp: { handler: ${JSON.stringify(STAMP)}, concurrency: 4, environment: { STAMP_FILE: ${JSON.stringify(stampFile)} }, triggers: [{ object: { bucket: 'triggered', events: ['ObjectCreated:*'] } }] } },
};\n`);
  const log = join(dir, 'sluice.log');
  const args = [...SERVER_NODE_OPTIONS, '--import', TSX, SLUICE_BIN, 'dev', '--port', '0', '--data-dir', join(dir, 'data'), '--config', join(dir, 'sluice.config.ts'), ...(engineUrl ? ['--engine', engineUrl] : [])];
  const child = spawn(process.execPath, args, { cwd: dir, stdio: ['ignore', 'ignore', openSync(log, 'w')] });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const deadline = Date.now() + 60_000;
  for (;;) {
    const m = /listening on (http:\/\/\S+)/.exec(existsSync(log) ? readFileSync(log, 'utf8') : '');
    if (m) return { url: m[1]!, pid: child.pid!, stop: () => (child.kill('SIGTERM'), exited) };
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`sluice dev did not start:\n${readFileSync(log, 'utf8')}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The S3 client process: `call(request)` resolves with its answer. */
function startClient(url: string): { call<T>(r: ClientRequest): Promise<T>; child: ChildProcess } {
  const child = fork(CLIENT, [], { execArgv: ['--import', TSX], env: { ...process.env, SLUICE_URL: url, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' } });
  const pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  let ids = 0;
  child.on('message', (m: { id: number; result?: unknown; error?: string }) => {
    const p = pending.get(m.id)!;
    pending.delete(m.id);
    if (m.error) p.reject(new Error(`client: ${m.error}`));
    else p.resolve(m.result);
  });
  return {
    child,
    call: <T>(request: ClientRequest) => new Promise<T>((resolve, reject) => {
      const id = ++ids;
      pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      child.send({ id, request });
    }),
  };
}

/** Runs `work(i)` for i < count with `concurrency` in flight; the seconds it took. */
async function timed(count: number, concurrency: number, work: (i: number) => Promise<void>): Promise<number> {
  let next = 0;
  const t = performance.now();
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, async () => {
    while (next < count) await work(next++);
  }));
  return (performance.now() - t) / 1000;
}

/** The file ceiling: the same sizes, counts and concurrency as plain files in the data directory's file system. */
async function files(dir: string, c: (typeof CASES)[number]) {
  const data = randomBytes(c.size);
  const path = (i: number) => join(dir, `${i}`);
  mkdirSync(dir, { recursive: true });
  const write = await timed(c.count, c.concurrency, async (i) => {
    if (DURABILITY !== 'fsync') return writeFile(path(i), data);
    const fh = await open(path(i), 'w');
    await fh.writeFile(data);
    await fh.sync();
    await fh.close();
  });
  const readAll = await timed(c.count, c.concurrency, async (i) => void (await readFile(path(i))));
  const stream = await timed(c.count, c.concurrency, async (i) => {
    let n = 0;
    for await (const chunk of createReadStream(path(i))) n += (chunk as Buffer).length;
    if (n !== c.size) throw new Error(`read ${n} of ${c.size}`);
  });
  await rm(dir, { recursive: true, force: true });
  return { write, readFile: readAll, stream };
}

type Dev = Awaited<ReturnType<typeof startDev>>;
type Client = ReturnType<typeof startClient>;

/** Every case, ROUNDS times, files and S3 alternating which goes first; the best round of each (MB/s, objects/s). */
async function throughput(dir: string, dev: Dev, client: Client) {
  const out: Record<string, unknown>[] = [];
  for (const c of CASES) {
    const s3 = { put: [] as number[], get: [] as number[], cpuPut: [] as number[], cpuGet: [] as number[], clientPut: [] as number[], clientGet: [] as number[] };
    const fs = { write: [] as number[], readFile: [] as number[], stream: [] as number[] };
    const l0 = load();
    for (let r = 0; r < ROUNDS; r++) {
      const viaS3 = async () => {
        const req = { bucket: 'bench', prefix: `${c.name.replace(' ', '')}-${r}`, size: c.size, count: c.count, concurrency: c.concurrency };
        let cpu = cpuOf(dev.pid);
        const put = await client.call<{ seconds: number; cpuSeconds: number }>({ op: 'put', ...req });
        s3.put.push(put.seconds), s3.clientPut.push(put.cpuSeconds), s3.cpuPut.push(cpuOf(dev.pid) - cpu);
        cpu = cpuOf(dev.pid);
        const get = await client.call<{ seconds: number; cpuSeconds: number }>({ op: 'get', ...req });
        s3.get.push(get.seconds), s3.clientGet.push(get.cpuSeconds), s3.cpuGet.push(cpuOf(dev.pid) - cpu);
        await client.call({ op: 'delete', ...req });
      };
      const viaFiles = async () => {
        const f = await files(join(dir, 'files', `${r}`), c);
        fs.write.push(f.write), fs.readFile.push(f.readFile), fs.stream.push(f.stream);
      };
      if (r % 2 === 0) await viaFiles(), await viaS3();
      else await viaS3(), await viaFiles();
    }
    const mb = (c.size * c.count) / 1e6;
    const best = (xs: number[]) => Math.min(...xs);
    const rate = (xs: number[]) => ({ MBps: round(mb / best(xs)), objectsPerSecond: Math.round(c.count / best(xs)) });
    const perObject = (cpu: number[]) => Math.round((best(cpu) / c.count) * 1e6); // (the lowest round: CPU from /proc, all threads)
    const putMBps = mb / best(s3.put);
    const getMBps = mb / best(s3.get);
    out.push({
      case: c.name, size: c.size, objects: c.count, inFlight: c.concurrency,
      put: { ...rate(s3.put), serverCpuUsPerObject: perObject(s3.cpuPut), clientCpuUsPerObject: perObject(s3.clientPut) },
      get: { ...rate(s3.get), serverCpuUsPerObject: perObject(s3.cpuGet), clientCpuUsPerObject: perObject(s3.clientGet) },
      fileWrite: rate(fs.write), readFile: rate(fs.readFile), readStream: rate(fs.stream),
      ratio: { put: round(putMBps / (mb / best(fs.write)), 3), get: round(getMBps / (mb / Math.min(best(fs.readFile), best(fs.stream))), 3) },
      seconds: { put: s3.put.map((s) => round(s, 3)), get: s3.get.map((s) => round(s, 3)), fileWrite: fs.write.map((s) => round(s, 3)), readFile: fs.readFile.map((s) => round(s, 3)), readStream: fs.stream.map((s) => round(s, 3)) },
      loadAverage1m: { before: l0, after: load() },
    });
  }
  return out;
}

const quantile = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
const summary = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return { p50: round(quantile(s, 0.5), 2), p99: round(quantile(s, 0.99), 2), max: round(s.at(-1)!, 2), mean: round(s.reduce((a, b) => a + b, 0) / s.length, 2) };
};

/** Object write → function start: one PutObject at a time (1 KiB), each handler's first line stamped. */
async function latency(dir: string, client: Client) {
  const stampFile = join(dir, 'stamps.txt');
  const l0 = load();
  await client.call({ op: 'latency', bucket: 'triggered', prefix: 'warmup', count: LATENCY_WARMUP, stampFile, size: 1024 });
  const { sent } = await client.call<{ sent: Sent[] }>({ op: 'latency', bucket: 'triggered', prefix: 'lat', count: LATENCY_OBJECTS, stampFile, size: 1024 });
  const stamps = new Map(readFileSync(stampFile, 'utf8').split('\n').filter(Boolean).map((l) => {
    const [key, ns, ms] = l.split(' ');
    return [key!, { ns: BigInt(ns!), ms: Number(ms) }] as const;
  }));
  const fromAnswer: number[] = [];
  const fromStart: number[] = [];
  const put: number[] = [];
  const fromAnswerDateNow: number[] = [];
  for (const s of sent) {
    const st = stamps.get(s.key);
    if (!st) throw new Error(`no stamp for ${s.key}`);
    fromAnswer.push(Number(st.ns - BigInt(s.answerNs)) / 1e6);
    fromStart.push(Number(st.ns - BigInt(s.startNs)) / 1e6);
    put.push(Number(BigInt(s.answerNs) - BigInt(s.startNs)) / 1e6);
    fromAnswerDateNow.push(st.ms - s.answerMs);
  }
  return {
    objects: sent.length, objectBytes: 1024,
    fromAnswerMs: summary(fromAnswer), fromStartMs: summary(fromStart), putObjectMs: summary(put),
    fromAnswerDateNowMs: summary(fromAnswerDateNow),
    startedBeforeAnswer: fromAnswer.filter((x) => x < 0).length,
    loadAverage1m: { before: l0, after: load() },
  };
}

const dir = mkdtempSync(join(tmpdir(), 'sluice-bench-objects-'));
const l0 = load();
let nats: NatsServer | undefined;
let dev: Dev | undefined;
let client: Client | undefined;
try {
  if (ENGINE === 'nats') nats = await startNats();
  dev = await startDev(dir, nats?.url);
  client = startClient(dev.url);
  const results = ONLY === 'latency' ? undefined : await throughput(dir, dev, client);
  const trigger = ONLY === 'throughput' ? undefined : await latency(dir, client);
  const large = results?.find((r) => r.case === '64MiB')?.ratio as { put: number; get: number } | undefined;
  console.log(JSON.stringify({
    bench: 'objects', date: new Date().toISOString(), nproc: availableParallelism(), node: process.version, engine: ENGINE, durability: DURABILITY, rounds: ROUNDS, sdkChecksums: process.env.BENCH_SDK_CHECKSUMS ?? 'WHEN_SUPPORTED',
    loadAverage1m: { before: l0, after: load() },
    results, trigger, targets: TARGETS,
    targetsMet: {
      ...(large && { largePut: large.put >= TARGETS.largeObjectRatio, largeGet: large.get >= TARGETS.largeObjectRatio }),
      ...(trigger && { triggerP99FromAnswer: trigger.fromAnswerMs.p99 < TARGETS.triggerP99Ms }),
    },
  }));
} finally {
  client?.child.disconnect();
  await dev?.stop();
  await nats?.stop();
  rmSync(dir, { recursive: true, force: true });
}

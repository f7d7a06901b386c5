// bench/ingest: acknowledged records/s through the gateway (sqlite, durability 'process') at
// several concurrencies, against the ceiling of a bare node:http server that only parses the
// same bodies, measured in the same run. Prints one JSON line.
//   node --import tsx bench/ingest/run.ts                 (env: BENCH_SECONDS, BENCH_CONCURRENCY, BENCH_REPEAT)
//   node --import tsx bench/ingest/run.ts --engine nats   the gateway on a NATS node and on a
//     3-node cluster (replicas 3), beside sqlite and a bare JetStream publish loop (one message per
//     record), all in the same run.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServers } from '../../test/support/nats.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const CONCURRENCY = (process.env.BENCH_CONCURRENCY ?? '1,4,16').split(',').map(Number);
const BATCH = 500;
const RECORD_BYTES = 200;
const here = (f: string) => new URL(f, import.meta.url).pathname;
const TSX = new URL('../../node_modules/tsx/dist/loader.mjs', import.meta.url).href;

interface Point {
  concurrency: number;
  recordsPerSec: number;
  mbPerSec: number;
  p50Ms: number;
  p99Ms: number;
  serverCpuUsPerRecord: number;
  errors: number;
}

function start(args: string[], env: Record<string, string> = {}): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, ['--import', TSX, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  return new Promise((resolve, reject) => {
    let out = '';
    let listening = false;
    const onData = (d: Buffer) => {
      if (listening) return; // drained, not kept: the server's access lines must not wait on this process (nor be searched again and again)
      out += d;
      const m = /listening on (http:\/\/[^\s]+)/.exec(out);
      if (m) {
        listening = true;
        out = '';
        resolve({ child, url: m[1]! });
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.on('exit', (code) => reject(new Error(`server exited ${code}: ${out}`)));
  });
}

/** CPU seconds (user + system) a process has used, from /proc. */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

function loadgen(url: string, concurrency: number): Promise<{ records: number; bytes: number; errors: number; elapsed: number; p50Ms: number; p99Ms: number }> {
  const child = spawn(process.execPath, ['--import', TSX, here('./loadgen.ts'), url, String(concurrency), String(SECONDS), String(BATCH), String(RECORD_BYTES)], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  return new Promise((resolve, reject) => child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`loadgen exited ${code}`)))));
}

async function measure(server: { child: ChildProcess; url: string }): Promise<Point[]> {
  const points: Point[] = [];
  for (const concurrency of CONCURRENCY) {
    const cpu0 = cpuSeconds(server.child.pid!);
    const r = await loadgen(server.url, concurrency);
    const cpu = cpuSeconds(server.child.pid!) - cpu0;
    points.push({
      concurrency,
      recordsPerSec: Math.round(r.records / r.elapsed),
      mbPerSec: Number((r.bytes / r.elapsed / 1e6).toFixed(1)),
      p50Ms: Number(r.p50Ms.toFixed(2)),
      p99Ms: Number(r.p99Ms.toFixed(2)),
      serverCpuUsPerRecord: Number(((cpu / Math.max(1, r.records)) * 1e6).toFixed(2)),
      errors: r.errors,
    });
  }
  return points;
}

/** `env`: SLUICE_METRICS=off and LOG_LEVEL=warn measure the gateway without metrics and access lines. */
async function sluice(keyField?: string, engineArgs: string[] = [], env: Record<string, string> = {}): Promise<Point[]> {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-bench-'));
  const server = await start([here('../../src/cli/bin.ts'), 'dev', '--port', '0', '--data-dir', dir, ...engineArgs], env);
  try {
    const res = await fetch(`${server.url}/v1/streams`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'bench', partitions: 4, ...(keyField ? { partitionKeyField: keyField } : {}) }),
    });
    if (res.status !== 201) throw new Error(`cannot create the bench stream: ${res.status}`);
    return await measure(server);
  } finally {
    server.child.kill('SIGTERM');
    await new Promise((r) => server.child.once('exit', r));
    rmSync(dir, { recursive: true, force: true });
  }
}

async function baseline(): Promise<Point[]> {
  const server = await start([here('./baseline-server.ts')]);
  try {
    return await measure(server);
  } finally {
    server.child.kill('SIGKILL');
  }
}

const best = (ps: Point[]) => Math.max(...ps.map((p) => p.recordsPerSec));
const REPEAT = Number(process.env.BENCH_REPEAT ?? 1);
/** The lowest server CPU per record among the points at the highest concurrency (the steadiest figure). */
const minCpu = (ps: Point[]) => Math.min(...ps.filter((p) => p.concurrency === Math.max(...ps.map((q) => q.concurrency))).map((p) => p.serverCpuUsPerRecord));
const header = { date: new Date().toISOString(), nproc: availableParallelism(), node: process.version, batch: BATCH, recordBytes: RECORD_BYTES, seconds: SECONDS };

/** Sluice on `n` fresh nats-servers (replicas n), and the bare JetStream publish loop on them. */
async function onNats(n: number): Promise<{ gateway: Point[]; barePublish: number }> {
  const nodes = await startServers(n);
  try {
    const gateway = await sluice(undefined, ['--engine', nodes.map((x) => x.url).join(',')]);
    return { gateway, barePublish: await barePublish(nodes.map((x) => x.url).join(','), n) };
  } finally {
    await Promise.all(nodes.map((x) => x.stop()));
  }
}

function barePublish(servers: string, replicas: number): Promise<number> {
  const child = spawn(process.execPath, ['--import', TSX, here('./jetstream-publish.ts'), servers, String(replicas), String(SECONDS), String(RECORD_BYTES)], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  return new Promise((resolve, reject) => child.on('exit', (code) => (code === 0 ? resolve((JSON.parse(out) as { recordsPerSec: number }).recordsPerSec) : reject(new Error(`publish loop exited ${code}`)))));
}

if (process.argv.includes('--engine') && process.argv[process.argv.indexOf('--engine') + 1] === 'nats') {
  const sqliteKeyless = await sluice();
  const single = await onNats(1);
  const cluster = await onNats(3);
  process.stdout.write(
    JSON.stringify({
      bench: 'ingest-nats',
      ...header,
      sqlite: sqliteKeyless,
      natsSingle: single.gateway,
      natsCluster3: cluster.gateway,
      barePublishSingle: single.barePublish,
      barePublishCluster3: cluster.barePublish,
      ratioSingleVsBarePublish: Number((best(single.gateway) / single.barePublish).toFixed(2)),
      ratioClusterVsBarePublish: Number((best(cluster.gateway) / cluster.barePublish).toFixed(2)),
    }) + '\n',
  );
} else {
  const base = await baseline();
  const keyless = await sluice();
  const keyed = await sluice('sessionId');
  // Observability's cost: the same keyless load with metrics counting nothing and no access lines
  // (quiet), and with metrics but no access lines (metricsOnly): metrics' cost and the access log's
  // apart. BENCH_REPEAT runs the three alternately that many times; the best point of each counts.
  // And the access lines as JSON (sluice start's format) instead of sluice dev's readable ones.
  const quietRuns: Point[][] = [];
  const metricsRuns: Point[][] = [];
  const jsonRuns: Point[][] = [];
  const keylessRuns: Point[][] = [keyless];
  for (let i = 0; i < REPEAT; i++) {
    quietRuns.push(await sluice(undefined, [], { SLUICE_METRICS: 'off', LOG_LEVEL: 'warn' }));
    metricsRuns.push(await sluice(undefined, [], { LOG_LEVEL: 'warn' }));
    jsonRuns.push(await sluice(undefined, [], { SLUICE_LOG_FORMAT: 'json' }));
    if (i > 0) keylessRuns.push(await sluice());
  }
  const quiet = quietRuns.flat();
  const metricsOnly = metricsRuns.flat();
  const jsonLines = jsonRuns.flat();
  const keylessAll = keylessRuns.flat();
  process.stdout.write(
    JSON.stringify({
      bench: 'ingest',
      ...header,
      engine: 'sqlite',
      durability: 'process',
      baseline: base,
      sluiceKeyless: keyless,
      sluiceKeyed: keyed,
      sluiceKeylessWithoutMetrics: quiet,
      sluiceKeylessWithoutAccessLog: metricsOnly,
      sluiceKeylessJsonAccessLog: jsonLines,
      repeat: REPEAT,
      ratioKeyless: Number((best(keyless) / best(base)).toFixed(3)),
      ratioKeyed: Number((best(keyed) / best(base)).toFixed(3)),
      // Metrics alone (no access lines either way), and metrics with the access log against neither.
      metricsCost: Number((1 - best(metricsOnly) / best(quiet)).toFixed(3)),
      observabilityCost: Number((1 - best(keylessAll) / best(quiet)).toFixed(3)),
      metricsCpuCost: Number((minCpu(metricsOnly) / minCpu(quiet) - 1).toFixed(3)),
      observabilityCpuCost: Number((minCpu(keylessAll) / minCpu(quiet) - 1).toFixed(3)),
      observabilityJsonCost: Number((1 - best(jsonLines) / best(quiet)).toFixed(3)),
    }) + '\n',
  );
}

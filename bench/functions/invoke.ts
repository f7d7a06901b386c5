// bench/functions/invoke: the Lambda Invoke API (RequestResponse) through the gateway — an echo
// function (`async (event) => event`) on the thread runtime, through the real registry — against a
// bare node:http echo server doing the same JSON round trip (parse the body, stringify it back),
// both in this process and measured in the same run, alternately. The clients run in a process of
// their own (invoke-client.ts): plain node:http with keep-alive, then @aws-sdk/client-lambda (SigV4
// signing, its middleware) against both servers. Calls/s, latency p50/p99, the server's CPU per call
// (this process: every thread), and ratios; the overhead of an invocation is the gateway's latency
// less the bare echo's (p50, p99) at the same concurrency. Prints one JSON line.
//   node --import tsx bench/functions/invoke.ts   (env: BENCH_SECONDS 5, BENCH_CONCURRENCY 1,4,10, BENCH_CLIENTS http,sdk)
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { systemClock } from '../../src/clock.js';
import { SqliteEngine } from '../../src/engine/sqlite/index.js';
import { functionsSchema } from '../../src/functions/config.js';
import { Functions } from '../../src/functions/functions.js';
import { processRuntime } from '../../src/functions/runtime/process.js';
import { threadRuntime } from '../../src/functions/runtime/thread.js';
import { Gateway } from '../../src/gateway/gateway.js';
import { Observer } from '../../src/observe/observer.js';
import { cpuSeconds, fixture, round } from './measure.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const CONCURRENCY = (process.env.BENCH_CONCURRENCY ?? '1,4,10').split(',').map(Number);
const CLIENTS = (process.env.BENCH_CLIENTS ?? 'http,sdk').split(',') as ('http' | 'sdk')[];
const FUNCTION = 'echo';
const WARMUP_SECONDS = 3;
const TARGETS = { overheadP99Ms: 0.5 };
const TSX = new URL('../../node_modules/tsx/dist/loader.mjs', import.meta.url).href;
const CLIENT = fileURLToPath(new URL('./invoke-client.ts', import.meta.url));

interface ClientResult {
  calls: number;
  errors: number;
  statuses: Record<string, number>;
  elapsed: number;
  p50Ms: number;
  p99Ms: number;
}

function client(url: string, mode: string, concurrency: number, seconds = SECONDS): Promise<ClientResult> {
  const child = spawn(process.execPath, ['--import', TSX, CLIENT, url, FUNCTION, mode, String(concurrency), String(seconds)], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' }, // (Node 20's end-of-support notice, once per client)
  });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  return new Promise((resolve, reject) => child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out) as ClientResult) : reject(new Error(`invoke-client exited ${code}`)))));
}

/** The baseline: parse the JSON body, answer it stringified, as the echo function does. */
async function echoServer(): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const text = JSON.stringify(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
      res.end(text);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => new Promise((r) => server.close(() => r())) };
}

async function gateway() {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-bench-invoke-'));
  const engine = new SqliteEngine({ dataDir: dir, retentionIntervalMs: 0 });
  const observer = new Observer({ clock: systemClock });
  const gw = new Gateway(engine, { port: 0 }, systemClock, observer);
  await gw.listen();
  const fns = await Functions.start({
    engine, functions: functionsSchema.parse({ [FUNCTION]: { handler: fixture('echo.ts'), concurrency: Math.max(...CONCURRENCY) } }),
    baseDir: dir, gatewayUrl: gw.url, region: 'us-east-1', observer, clock: systemClock,
    runtimes: { thread: threadRuntime, process: processRuntime }, addPrincipal: (p) => gw.addPrincipal(p),
  });
  gw.functions = fns;
  return {
    url: gw.url,
    /** The echo function's workers: how many, and how many were started cold or replaced so far. */
    workers: () => fns.get(FUNCTION).runtime.stats,
    close: async () => {
      await gw.close();
      await fns.close();
      await engine.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

type Workers = { workers: number; coldStarts: number; replaced: number };

/** One client run against one server, with the server's CPU (this process) over it, and the function's worker starts during it. */
async function point(url: string, mode: string, concurrency: number, workers?: () => Workers) {
  const w0 = workers?.();
  const cpu0 = cpuSeconds();
  const r = await client(url, mode, concurrency);
  const cpu1 = cpuSeconds(); // (the client's warm-up second included: per call of both)
  const w1 = workers?.();
  const calls = Math.max(1, r.calls * (1 + 1 / SECONDS));
  return {
    callsPerSecond: Math.round(r.calls / r.elapsed),
    p50Ms: round(r.p50Ms, 3),
    p99Ms: round(r.p99Ms, 3),
    serverCpuUsPerCall: round(((cpu1.process - cpu0.process) / calls) * 1e6),
    serverMainThreadCpuUsPerCall: round(((cpu1.main - cpu0.main) / calls) * 1e6),
    errors: r.errors,
    ...(r.errors > 0 && { statuses: r.statuses }),
    ...(w0 && w1 && { workers: { count: w1.workers, coldStarts: w1.coldStarts - w0.coldStarts, replaced: w1.replaced - w0.replaced } }),
  };
}

const load = loadavg()[0]!;
const echo = await echoServer();
const gw = await gateway();
const results: Record<string, unknown>[] = [];
try {
  // JIT warm-up of both servers (and of every worker the function will use), not measured.
  for (const mode of CLIENTS) for (const url of [echo.url, gw.url]) await client(url, mode, Math.max(...CONCURRENCY), WARMUP_SECONDS);
  for (const mode of CLIENTS) {
    for (const concurrency of CONCURRENCY) {
      const bare = await point(echo.url, mode, concurrency);
      const sluice = await point(gw.url, mode, concurrency, gw.workers);
      const overheadMs = { p50: round(sluice.p50Ms - bare.p50Ms, 3), p99: round(sluice.p99Ms - bare.p99Ms, 3) };
      results.push({ client: mode, concurrency, gateway: sluice, bareEcho: bare, overheadMs, ratio: round(sluice.callsPerSecond / bare.callsPerSecond, 3) });
    }
  }
} finally {
  await gw.close();
  await echo.close();
}
const headline = results.find((r) => r.client === 'http' && r.concurrency === 1); // the keep-alive node:http client, one call at a time
console.log(JSON.stringify({
  bench: 'functions/invoke',
  date: new Date().toISOString(),
  nproc: availableParallelism(),
  node: process.version,
  seconds: SECONDS,
  loadAverage1m: { before: round(load, 2), after: round(loadavg()[0]!, 2) },
  results,
  targets: TARGETS,
  targetsMet: {
    ...(headline && { overheadP99AtConcurrency1: (headline.overheadMs as { p99: number }).p99 < TARGETS.overheadP99Ms }),
  },
}));

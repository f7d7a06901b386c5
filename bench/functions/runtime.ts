// bench/functions/runtime: the thread runtime's cost against calling the same handler directly,
// in the same run. A no-op handler invoked in a loop (1 and 2 in flight): invocations/s and the
// overhead per invocation (p50, p99 µs); cold starts of a new worker (p50 of 20: warm() to ready,
// and the first invocation after), one at a time a second apart (a standby thread ready) and four
// at once (three boot from nothing), for a .ts handler (tsx) and a .mjs one (native); timeout accuracy (ms past
// the deadline of a `while (true) {}`, 10 runs). The runtime is compiled file by file into tmp/
// first (as `npm run build` makes dist/), so its workers start as they do when Sluice is installed;
// cold starts are also measured from the TypeScript sources (workers loading the runtime through
// tsx, as in this repository's tests). Prints one JSON line.
//   node --import tsx bench/functions/runtime.ts        (env: BENCH_INVOCATIONS, BENCH_ROUNDS)
import { buildSync } from 'esbuild';
import { readdirSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { FunctionRuntime, RuntimeFactory, RuntimeSpec } from '../../src/functions/runtime/types.js';

const INVOCATIONS = Number(process.env.BENCH_INVOCATIONS ?? 50_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const COLD_STARTS = 20;
const TIMEOUT_RUNS = 10;
/** Between two cold starts: time for the standby thread (tsx registered, for .ts) to boot. */
const APART_MS = 1000;
const TARGETS = { invocationsPerSecond: 10_000, overheadP99Us: 500, coldStartMs: 50 };

const root = fileURLToPath(new URL('../../', import.meta.url));
const fixture = (name: string) => fileURLToPath(new URL(`../../test/functions/fixtures/${name}`, import.meta.url));
const spec = (file: string, over: Partial<RuntimeSpec> = {}): RuntimeSpec => ({
  name: 'bench-noop', file: fixture(file), exportName: 'handler', timeoutMs: 3000, memoryMB: 128, environment: {}, concurrency: 1, arn: 'arn:aws:lambda:us-east-1:000000000000:function:bench-noop', ...over,
});
const quantile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
};
const round = (n: number, digits = 1) => Number(n.toFixed(digits));
const PAYLOAD = JSON.stringify({ Records: [{ kinesis: { data: 'eyJhIjoxfQ==', partitionKey: 'k', sequenceNumber: '1' } }] });

/** The runtime compiled file by file (as tsc does for dist/), beside nothing but its .js files. */
async function builtRuntime(): Promise<RuntimeFactory> {
  const dir = `${root}src/functions/runtime/`;
  const entryPoints = [...readdirSync(dir).filter((f) => f.endsWith('.ts')).map((f) => dir + f), `${root}src/errors.ts`];
  const outdir = `${root}tmp/bench-functions-runtime`;
  buildSync({ entryPoints, outbase: `${root}src`, outdir, format: 'esm', platform: 'node', target: 'node20', logLevel: 'error' });
  return ((await import(pathToFileURL(`${outdir}/functions/runtime/thread.js`).href)) as { threadRuntime: RuntimeFactory }).threadRuntime;
}
const sourcesRuntime = async (): Promise<RuntimeFactory> => (await import('../../src/functions/runtime/thread.js')).threadRuntime;

/** Per-call latencies (µs) of `calls` sequential calls, `lanes` in flight; and calls per second. */
async function loop(call: (i: number) => Promise<unknown>, lanes: number): Promise<{ perSecond: number; latenciesUs: Float64Array }> {
  const latencies = new Float64Array(INVOCATIONS);
  let next = 0;
  const lane = async () => {
    while (next < INVOCATIONS) {
      const i = next++;
      const t = performance.now();
      await call(i);
      latencies[i] = (performance.now() - t) * 1000;
    }
  };
  const start = performance.now();
  await Promise.all(Array.from({ length: lanes }, lane));
  return { perSecond: INVOCATIONS / ((performance.now() - start) / 1000), latenciesUs: latencies };
}

/** The best round of `ROUNDS`. */
async function best(call: (i: number) => Promise<unknown>, lanes: number) {
  let top: { perSecond: number; p50Us: number; p99Us: number } | undefined;
  for (let r = 0; r < ROUNDS; r++) {
    const { perSecond, latenciesUs } = await loop(call, lanes);
    const xs = Array.from(latenciesUs);
    const m = { perSecond, p50Us: quantile(xs, 0.5), p99Us: quantile(xs, 0.99) };
    if (!top || m.perSecond > top.perSecond) top = m;
  }
  return top!;
}

async function throughput(threadRuntime: RuntimeFactory) {
  const { handler } = (await import(fixture('noop.ts'))) as { handler: (e: unknown, c: unknown) => Promise<unknown> };
  const context = { awsRequestId: 'r', functionName: 'bench-noop' };
  const direct = await best(async () => JSON.stringify((await handler(JSON.parse(PAYLOAD), context)) ?? null), 1);
  const out: Record<string, unknown>[] = [];
  for (const concurrency of [1, 2]) {
    const rt = threadRuntime(spec('noop.ts', { concurrency }));
    await rt.warm(concurrency);
    await loop((i) => rt.invoke({ requestId: `w${i}`, payload: PAYLOAD }), concurrency); // JIT warm-up
    const m = await best(async (i) => {
      const o = await rt.invoke({ requestId: `r${i}`, payload: PAYLOAD });
      if (!o.ok) throw new Error(o.error.errorMessage);
    }, concurrency);
    await rt.close();
    out.push({
      concurrency,
      invocationsPerSecond: Math.round(m.perSecond),
      latencyP50Us: round(m.p50Us),
      latencyP99Us: round(m.p99Us),
      overheadP50Us: round(m.p50Us - direct.p50Us),
      overheadP99Us: round(m.p99Us - direct.p99Us),
    });
  }
  return { direct: { callsPerSecond: Math.round(direct.perSecond), p50Us: round(direct.p50Us, 2), p99Us: round(direct.p99Us, 2) }, runtime: out };
}

/** Cold starts while another runtime of the same profile stays open (standbys are kept while one is). */
async function coldStarts(threadRuntime: RuntimeFactory, file: string) {
  const keeper = threadRuntime(spec(file, { name: 'bench-keeper' }));
  const warm: number[] = [];
  const firstInvoke: number[] = [];
  const burst: number[] = [];
  for (let i = 0; i < COLD_STARTS; i++) {
    await new Promise((r) => setTimeout(r, APART_MS)); // one cold start at a time: the standby has booted
    const rt: FunctionRuntime = threadRuntime(spec(file));
    let t = performance.now();
    await rt.warm(1);
    warm.push(performance.now() - t);
    t = performance.now();
    const o = await rt.invoke({ requestId: 'first', payload: PAYLOAD });
    firstInvoke.push(performance.now() - t);
    if (!o.ok || o.coldStart) throw new Error('expected a warm success');
    await rt.close();
  }
  for (let i = 0; i < COLD_STARTS / 4; i++) {
    await new Promise((r) => setTimeout(r, APART_MS));
    const rt = threadRuntime(spec(file, { concurrency: 4 }));
    const t = performance.now();
    await rt.warm(4);
    burst.push(performance.now() - t);
    await rt.close();
  }
  await keeper.close();
  return {
    warmToReadyP50Ms: round(quantile(warm, 0.5)),
    warmToReadyP90Ms: round(quantile(warm, 0.9)),
    firstInvocationP50Ms: round(quantile(firstInvoke, 0.5), 2),
    fourAtOnceAllReadyP50Ms: round(quantile(burst, 0.5)),
  };
}

async function timeoutAccuracy(threadRuntime: RuntimeFactory) {
  const timeoutMs = 200;
  const rt = threadRuntime(spec('deadline.ts', { timeoutMs }));
  const late: number[] = [];
  for (let i = 0; i < TIMEOUT_RUNS; i++) {
    await rt.warm(1);
    const t = performance.now();
    const o = await rt.invoke({ requestId: `t${i}`, payload: '{"mode":"loop"}' });
    if (o.ok || o.kind !== 'Timeout') throw new Error('expected a timeout');
    late.push(performance.now() - t - timeoutMs);
  }
  await rt.close();
  return { timeoutMs, pastDeadlineP50Ms: round(quantile(late, 0.5), 2), pastDeadlineMaxMs: round(Math.max(...late), 2) };
}

const built = await builtRuntime();
const t = await throughput(built);
const cold = { ts: await coldStarts(built, 'noop.ts'), mjs: await coldStarts(built, 'noop.mjs') };
const sources = await sourcesRuntime();
const coldFromSources = { ts: await coldStarts(sources, 'noop.ts'), mjs: await coldStarts(sources, 'noop.mjs') };
const timeouts = await timeoutAccuracy(built);
const c1 = t.runtime[0]!;
console.log(JSON.stringify({
  bench: 'functions/runtime',
  node: process.version,
  invocations: INVOCATIONS,
  ...t,
  coldStart: cold,
  coldStartFromSources: coldFromSources,
  timeouts,
  targets: TARGETS,
  targetsMet: {
    invocationsPerSecond: (c1.invocationsPerSecond as number) >= TARGETS.invocationsPerSecond,
    overheadP99: (c1.overheadP99Us as number) < TARGETS.overheadP99Us,
    coldStartTs: cold.ts.warmToReadyP50Ms < TARGETS.coldStartMs,
    coldStartMjs: cold.mjs.warmToReadyP50Ms < TARGETS.coldStartMs,
  },
}));

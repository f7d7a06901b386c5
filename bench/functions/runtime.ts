// bench/functions/runtime: the thread runtime's cost against calling the same handler directly,
// in the same run. A no-op handler invoked in a loop (1 and 2 in flight): invocations/s and the
// overhead per invocation (p50, p99 µs); cold starts of a new worker (p50 of 20: warm() to ready,
// and an invocation on an empty pool), for a .ts handler (tsx) and a .mjs one (native); timeout
// accuracy (ms past the deadline of a `while (true) {}`, 10 runs). Prints one JSON line.
//   node --import tsx bench/functions/runtime.ts        (env: BENCH_INVOCATIONS, BENCH_ROUNDS)
import { fileURLToPath } from 'node:url';
import { entryScript } from '../../src/functions/runtime/entry.js';
import { threadRuntime } from '../../src/functions/runtime/thread.js';
import type { FunctionRuntime, RuntimeSpec } from '../../src/functions/runtime/types.js';

const INVOCATIONS = Number(process.env.BENCH_INVOCATIONS ?? 50_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const COLD_STARTS = 20;
const TIMEOUT_RUNS = 10;
const TARGETS = { invocationsPerSecond: 10_000, overheadP99Us: 500, coldStartMs: 50 };

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

async function throughput() {
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

async function coldStarts(file: string) {
  const warm: number[] = [];
  const firstInvoke: number[] = [];
  const coldInvoke: number[] = [];
  for (let i = 0; i < COLD_STARTS; i++) {
    let rt: FunctionRuntime = threadRuntime(spec(file));
    let t = performance.now();
    await rt.warm(1);
    warm.push(performance.now() - t);
    t = performance.now();
    await rt.invoke({ requestId: 'first', payload: PAYLOAD });
    firstInvoke.push(performance.now() - t);
    await rt.close();
    rt = threadRuntime(spec(file));
    t = performance.now();
    const o = await rt.invoke({ requestId: 'cold', payload: PAYLOAD });
    coldInvoke.push(performance.now() - t);
    if (!o.coldStart) throw new Error('expected a cold start');
    await rt.close();
  }
  return { warmToReadyP50Ms: round(quantile(warm, 0.5)), firstInvocationAfterWarmP50Ms: round(quantile(firstInvoke, 0.5), 2), invocationOnEmptyPoolP50Ms: round(quantile(coldInvoke, 0.5)) };
}

async function timeoutAccuracy() {
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

const t = await throughput();
const coldTs = await coldStarts('noop.ts');
const coldJs = await coldStarts('noop.mjs');
const timeouts = await timeoutAccuracy();
const c1 = t.runtime[0]!;
console.log(JSON.stringify({
  bench: 'functions/runtime',
  node: process.version,
  runtimeFrom: entryScript('thread-entry').kind === 'js' ? 'built JavaScript' : 'TypeScript sources through tsx',
  invocations: INVOCATIONS,
  ...t,
  coldStart: { ts: coldTs, mjs: coldJs },
  timeouts,
  targets: TARGETS,
  targetsMet: {
    invocationsPerSecond: (c1.invocationsPerSecond as number) >= TARGETS.invocationsPerSecond,
    overheadP99: (c1.overheadP99Us as number) < TARGETS.overheadP99Us,
    coldStart: Math.min(coldTs.warmToReadyP50Ms, coldJs.warmToReadyP50Ms) < TARGETS.coldStartMs,
  },
}));

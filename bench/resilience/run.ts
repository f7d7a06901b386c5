// bench/resilience: the cost of one call through timeout + retry + breaker + bulkhead + budgets
// (a Dependency with its defaults and the server-wide budget) against a direct call of the same
// function, on the success path, in the same run. Prints one JSON line.
// Points: one call at a time; 8 in flight (under the bulkhead's 10 slots: still the success path);
// 64 in flight (54 wait in the bulkhead's queue: the queueing path, for comparison).
//   node --import tsx bench/resilience/run.ts        (env: BENCH_CALLS, BENCH_ROUNDS)
import { availableParallelism } from 'node:os';
import { Dependencies } from '../../src/resilience/dependencies.js';

const CALLS = Number(process.env.BENCH_CALLS ?? 1_000_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const TARGET_OVERHEAD_NS = 2000;

const work = async (_signal: AbortSignal) => 1;

/** Best ns per call over the rounds: `calls` calls of `run`, `concurrency` in flight at a time. */
async function measure(run: (signal: AbortSignal) => Promise<number>, signal: AbortSignal, concurrency: number): Promise<number> {
  let best = Infinity;
  for (let round = 0; round < ROUNDS; round++) {
    const start = process.hrtime.bigint();
    let sum = 0;
    if (concurrency === 1) {
      for (let i = 0; i < CALLS; i++) {
        const v = await run(signal);
        sum += v;
      }
    } else {
      const lane = async () => {
        for (let i = 0; i < CALLS / concurrency; i++) {
          const v = await run(signal);
          sum += v;
        }
      };
      await Promise.all(Array.from({ length: concurrency }, lane));
    }
    const ns = Number(process.hrtime.bigint() - start) / CALLS;
    if (sum !== CALLS) throw new Error(`lost calls: ${sum} of ${CALLS}`);
    best = Math.min(best, ns);
  }
  return best;
}

async function point(concurrency: number, path: 'success' | 'queued') {
  const deps = new Dependencies();
  const dep = deps.policyFor('bench'); // every policy with its defaults, plus the server budget
  const shutdown = new AbortController(); // a caller's long-lived signal, as a sink has
  const direct = await measure(work, shutdown.signal, concurrency);
  const policies = await measure((s) => dep.execute(work, s), shutdown.signal, concurrency);
  const stats = dep.stats;
  if (stats.failures > 0 || stats.retries > 0) throw new Error(`unexpected failures: ${JSON.stringify(stats)}`);
  deps.dispose();
  return {
    concurrency,
    path,
    directNsPerCall: Number(direct.toFixed(1)),
    policiesNsPerCall: Number(policies.toFixed(1)),
    overheadNsPerCall: Number((policies - direct).toFixed(1)),
    ratio: Number((policies / direct).toFixed(2)),
    ...(path === 'success' ? { targetMet: policies - direct < TARGET_OVERHEAD_NS } : {}),
  };
}

const header = { bench: 'resilience', date: new Date().toISOString(), nproc: availableParallelism(), node: process.version, calls: CALLS, rounds: ROUNDS, targetOverheadNs: TARGET_OVERHEAD_NS };
const points = [await point(1, 'success'), await point(8, 'success'), await point(64, 'queued')];
console.log(JSON.stringify({ ...header, points }));

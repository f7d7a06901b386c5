// runtime: 'thread' — a function's warm pool of worker threads. Memory is V8's heap limit
// (resourceLimits); the deadline ends the thread with Worker.terminate(), which stops even a
// synchronous loop; the worker's environment is exactly the spec's (set when it is given the
// function: a thread may come from the standbys, started before the function was known).
import { Worker } from 'node:worker_threads';
import { entryScript, tsxUrl } from './entry.js';
import { isTypeScript } from './import-handler.js';
import { WorkerPool, type WorkerEvents, type WorkerHandle } from './pool.js';
import { Level, W } from './protocol.js';
import { STACK_SIZE_MB, THREAD_MAX_TIMEOUT_MS, youngGenerationMb } from './spec.js';
import { Standby, type ThreadProfile } from './standby.js';
import type { FunctionRuntime, RuntimeSpec } from './types.js';

const standby = new Standby(bootThread);

/** Makes the thread runtime of a function. */
export function threadRuntime(spec: RuntimeSpec): FunctionRuntime {
  const profile: ThreadProfile = { memoryMB: spec.memoryMB, ts: isTypeScript(spec.file) };
  const pool = new WorkerPool(spec, { maxTimeoutMs: THREAD_MAX_TIMEOUT_MS, memory: 'heap', spawn: (_, events) => spawnThread(profile, events), closed: () => standby.close() });
  standby.open();
  return pool;
}

/** A new thread running the worker script, waiting for its function. */
function bootThread(p: ThreadProfile): Worker {
  const entry = entryScript('thread-entry');
  const script = entry.kind === 'js' ? entry.path : `import(${JSON.stringify(tsxUrl('tsx/esm/api'))}).then((t) => t.tsImport(${JSON.stringify(entry.url)}, ${JSON.stringify(entry.url)}))`;
  return new Worker(script, {
    eval: entry.kind === 'ts',
    workerData: { preloadTs: p.ts },
    env: {},
    // Not the parent's flags: a `--import tsx` of `sluice dev` would load tsx again in every worker.
    execArgv: [],
    resourceLimits: { maxOldGenerationSizeMb: p.memoryMB, maxYoungGenerationSizeMb: youngGenerationMb(p.memoryMB), stackSizeMb: STACK_SIZE_MB },
    // Kept from Sluice's own stdout/stderr; the capture inside sees (nearly) everything first.
    stdout: true,
    stderr: true,
  });
}

function spawnThread(p: ThreadProfile, events: WorkerEvents): WorkerHandle {
  const worker = standby.take(p) ?? bootThread(p);
  let outOfMemory = false;
  let error: unknown;
  worker.on('message', (m) => {
    if (m[0] === W.Ready) standby.prime(p); // after this worker's start, not competing with it
    events.message(m);
  });
  worker.on('error', (e: Error & { code?: string }) => {
    if (e.code === 'ERR_WORKER_OUT_OF_MEMORY') outOfMemory = true;
    else error = e;
  });
  worker.stdout.setEncoding('utf8').on('data', (text: string) => events.output(Level.Info, text));
  worker.stderr.setEncoding('utf8').on('data', (text: string) => events.output(Level.Error, text));
  const exited = new Promise<void>((resolve) =>
    worker.once('exit', (code) => {
      events.exit({ code, signal: null, outOfMemory, error });
      resolve();
    }),
  );
  return {
    send: (m) => worker.postMessage(m),
    kill: () => void worker.terminate(),
    exited,
  };
}

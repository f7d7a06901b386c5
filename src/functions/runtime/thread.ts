// runtime: 'thread' — a function's warm pool of worker threads. Memory is V8's heap limit
// (resourceLimits); the deadline ends the thread with Worker.terminate(), which stops even a
// synchronous loop; the worker's environment is exactly the spec's.
import { Worker } from 'node:worker_threads';
import { entryScript, tsxUrl } from './entry.js';
import { WorkerPool, type WorkerEvents, type WorkerHandle } from './pool.js';
import { Level } from './protocol.js';
import { STACK_SIZE_MB, THREAD_MAX_TIMEOUT_MS, youngGenerationMb } from './spec.js';
import type { FunctionRuntime, RuntimeSpec } from './types.js';

/** Makes the thread runtime of a function. */
export const threadRuntime = (spec: RuntimeSpec): FunctionRuntime => new WorkerPool(spec, { maxTimeoutMs: THREAD_MAX_TIMEOUT_MS, memory: 'heap', spawn: spawnThread });

function spawnThread(spec: RuntimeSpec, events: WorkerEvents): WorkerHandle {
  const entry = entryScript('thread-entry');
  const script = entry.kind === 'js' ? entry.path : `import(${JSON.stringify(tsxUrl('tsx/esm/api'))}).then((t) => t.tsImport(${JSON.stringify(entry.url)}, ${JSON.stringify(entry.url)}))`;
  const worker = new Worker(script, {
    eval: entry.kind === 'ts',
    env: { ...spec.environment },
    // Not the parent's flags: a `--import tsx` of `sluice dev` would load tsx again in every worker.
    execArgv: [],
    resourceLimits: { maxOldGenerationSizeMb: spec.memoryMB, maxYoungGenerationSizeMb: youngGenerationMb(spec.memoryMB), stackSizeMb: STACK_SIZE_MB },
    // Kept from Sluice's own stdout/stderr; the capture inside sees (nearly) everything first.
    stdout: true,
    stderr: true,
  });
  let outOfMemory = false;
  let error: unknown;
  worker.on('message', events.message);
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

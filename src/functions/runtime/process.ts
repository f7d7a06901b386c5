// runtime: 'process' — a function's warm pool of child processes, for long jobs (timeout up to
// 24 h) and heavy native modules: memory is --max-old-space-size, the deadline a SIGKILL, the
// environment exactly the spec's. Node's own fatal output on stderr says when the heap ran out.
import { fork } from 'node:child_process';
import { entryScript, tsxUrl } from './entry.js';
import { eventText } from './payload.js';
import { WorkerPool, type WorkerEvents, type WorkerHandle } from './pool.js';
import { Level, type WorkerMessage } from './protocol.js';
import { PROCESS_MAX_TIMEOUT_MS, youngGenerationMb } from './spec.js';
import type { FunctionRuntime, RuntimeSpec } from './types.js';

/** Makes the child-process runtime of a function. */
export const processRuntime = (spec: RuntimeSpec): FunctionRuntime => new WorkerPool(spec, { maxTimeoutMs: PROCESS_MAX_TIMEOUT_MS, memory: 'rss', spawn: spawnProcess });

/** What V8 prints when a heap limit is reached, before it aborts the process. */
const HEAP_OUT_OF_MEMORY = /JavaScript heap out of memory|Reached heap limit/;

function spawnProcess(spec: RuntimeSpec, events: WorkerEvents): WorkerHandle {
  const entry = entryScript('process-entry');
  // --max-semi-space-size: a third of the young generation (V8 keeps two semi-spaces and one for large objects).
  const execArgv = [`--max-old-space-size=${spec.memoryMB}`, `--max-semi-space-size=${Math.max(1, Math.round(youngGenerationMb(spec.memoryMB) / 3))}`];
  if (entry.kind === 'ts') execArgv.push('--import', tsxUrl('tsx/esm'));
  const child = fork(entry.path, [], { env: { ...spec.environment }, execArgv, stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
  let outOfMemory = false;
  let error: unknown;
  child.on('message', (m) => events.message(m as WorkerMessage));
  child.on('error', (e) => (error ??= e));
  child.stdout!.setEncoding('utf8').on('data', (text: string) => events.output(Level.Info, text));
  child.stderr!.setEncoding('utf8').on('data', (text: string) => {
    if (HEAP_OUT_OF_MEMORY.test(text)) outOfMemory = true;
    events.output(Level.Error, text);
  });
  const exited = new Promise<void>((resolve) =>
    // 'close': after the process ended and its stderr was read to the end (where an OOM says so).
    child.once('close', (code, signal) => {
      events.exit({ code, signal, outOfMemory, error });
      resolve();
    }),
  );
  return {
    send: (m) => {
      // IPC is JSON: a Kinesis batch's bytes go as the event's own JSON text.
      if (Array.isArray(m) && typeof m[1] !== 'string') m = [m[0], eventText(m[1]), m[2], m[3], m[4]];
      if (child.connected) child.send(m);
    },
    kill: () => void child.kill('SIGKILL'),
    exited,
  };
}

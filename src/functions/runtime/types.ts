// The contract between Sluice's function registry (src/functions/functions.ts: config, concurrency,
// durable logs, metrics, the Invoke API, triggers) and a function runtime (thread.ts: a warm pool
// of worker threads; process.ts: child processes). A runtime runs one function's handler, Lambda's
// `handler(event, context[, callback])`, one invocation per worker at a time, and reports each
// invocation's outcome the way Lambda's Node.js runtime would. Both runtimes pass one conformance
// suite (test/functions/runtime-conformance.ts).

import type { Payload } from './payload.js';

/** What a runtime needs to run one function. */
export interface RuntimeSpec {
  /** The function's name (context.functionName, AWS_LAMBDA_FUNCTION_NAME). */
  name: string;
  /** Absolute path of the handler's module (.ts, .mts, .js, .mjs). */
  file: string;
  /** The export to call. Default 'handler'. */
  exportName: string;
  /** Hard deadline of one invocation, ms (Lambda: 3 s default; thread up to 900 s, process up to 24 h). */
  timeoutMs: number;
  /** Memory limit in MB (context.memoryLimitInMB; thread: resourceLimits, process: --max-old-space-size). */
  memoryMB: number;
  /**
   * Environment of the handler: the function's own variables and Lambda's (AWS_REGION, …), given
   * complete by the registry — process.env in the worker is exactly this, nothing of Sluice's own.
   * SLUICE_URL and SLUICE_API_KEY are what context.sluice uses; AWS_LAMBDA_LOG_LEVEL filters console.
   */
  environment: Record<string, string>;
  /** Most invocations in flight at once: the pool grows to this many workers. */
  concurrency: number;
  /** ARN the context reports (invokedFunctionArn). */
  arn: string;
}

/** One invocation. */
export interface InvokeRequest {
  /** context.awsRequestId; every log line of the invocation carries it. */
  requestId: string;
  /**
   * The event: JSON text (parsed once, in the worker; text that is not JSON fails the invocation
   * with a SyntaxError), or a stream mapping's Kinesis batch the worker builds Lambda's event from.
   */
  payload: Payload;
  /** context.clientContext and context.identity, when the caller gave them. */
  clientContext?: unknown;
  identity?: unknown;
}

/**
 * A log line the handler wrote: one console.log/info/warn/error/debug/trace call (formatted by
 * util.format, as Lambda does; newlines inside it kept), or one line written to process.stdout
 * (INFO) or process.stderr (ERROR). Also the runtime's own lines as Lambda writes them
 * ("Invoke Error \t{…}", "Uncaught Exception \t{…}", "Unhandled Promise Rejection \t{…}").
 */
export interface LogLine {
  /** Epoch ms. */
  time: number;
  level: 'INFO' | 'WARN' | 'ERROR' | 'DEBUG' | 'TRACE';
  message: string;
}

/** Lambda's Node.js error shape, as the Invoke API answers it. */
export interface FunctionError {
  errorType: string;
  errorMessage: string;
  trace: string[];
}

/**
 * How an invocation ended. `logs`: its lines in order — after what was written since the worker's
 * previous invocation ended (at init, by timers left running), as Lambda's log stream shows a thawed
 * sandbox's output; at most 256 KB per invocation (and again for what came between), the last line
 * saying when they were cut. `durationMs`: measured in the worker from the handler's call to its
 * end (by the pool for timeouts and crashes). `maxMemoryMB`: threads, the high-water mark of the
 * worker's V8 heap in use, sampled as invocations end; processes, the child's peak RSS; the limit
 * after an OutOfMemory.
 */
export type InvokeOutcome =
  | {
      ok: true;
      /** The handler's result as JSON text ('null' for undefined), as Lambda serialises it. */
      result: string;
      durationMs: number;
      /** Peak memory of the worker during the invocation, MB (REPORT's Max Memory Used). */
      maxMemoryMB: number;
      /** True when this invocation started a new worker (a cold start). */
      coldStart: boolean;
      /** Cold starts only: ms from starting the worker to its module loaded (REPORT's Init Duration). */
      initDurationMs?: number;
      logs: LogLine[];
    }
  | {
      ok: false;
      /**
       * Unhandled: the handler threw, rejected, called back with an error, or had an uncaught
       * exception / unhandled rejection during the invocation. Timeout: it passed its deadline (the
       * worker was terminated and replaced; errorMessage `Task timed out after 3.00 seconds`).
       * OutOfMemory: it passed its memory limit (worker replaced). InitError: the module failed to
       * load or has no such export (errorType Runtime.ImportModuleError / Runtime.HandlerNotFound /
       * Runtime.UserCodeSyntaxError, or the module's own error when it threw). An uncaught
       * exception or unhandled rejection (Runtime.UnhandledPromiseRejection), and an exit
       * (Runtime.ExitError), are Unhandled and replace the worker too.
       */
      kind: 'Unhandled' | 'Timeout' | 'OutOfMemory' | 'InitError';
      error: FunctionError;
      durationMs: number;
      maxMemoryMB: number;
      coldStart: boolean;
      initDurationMs?: number;
      logs: LogLine[];
    };

/** A pool of workers running one function. */
export interface FunctionRuntime {
  /**
   * Runs one invocation on a free worker (starting one, up to `concurrency`, when none is free).
   * Callers keep the number in flight within `concurrency` (the registry throttles above it); one
   * more waits for a worker. Never rejects for what the handler does; rejects only when closed
   * (RuntimeClosedError), or with the signal's reason when it aborts while the invocation waits for
   * a worker — once it runs, it ends by itself or at its deadline (Lambda cannot stop one either).
   */
  invoke(req: InvokeRequest, signal?: AbortSignal): Promise<InvokeOutcome>;
  /**
   * New invocations run the module as it is now (sluice dev reloads a changed file); running ones
   * finish on the old code. Idle workers end at once, busy ones when their invocation does; as many
   * new workers start as there were (at least one). Resolves when they loaded the module; rejects
   * with FunctionInitError when it no longer loads (invocations fail with InitError until it does).
   */
  reload(): Promise<void>;
  /**
   * Starts workers ahead of need (0 .. concurrency); resolves when they loaded the module, or rejects
   * with FunctionInitError (its `error` is Lambda's shape of the import error, its message names the
   * file, its `logs` are what the module wrote while loading).
   */
  warm(workers: number): Promise<void>;
  /** Stops taking invocations, lets running ones finish (up to their deadline), ends the workers. */
  close(): Promise<void>;
  /**
   * workers: alive, starting ones included (never more than concurrency); busy: running an
   * invocation; coldStarts: invocations that waited for their worker to load the module;
   * replaced: workers ended because they could no longer be trusted (timeout, memory, exit,
   * uncaught exception or unhandled rejection).
   */
  readonly stats: { workers: number; busy: number; coldStarts: number; replaced: number };
}

/** Makes a runtime for a function (thread.ts and process.ts each export one). */
export type RuntimeFactory = (spec: RuntimeSpec) => FunctionRuntime;

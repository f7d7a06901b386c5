// Inside a worker (thread or child process): loads the handler, runs one invocation at a time as
// Lambda's Node.js runtime does, and reports over the channel — each log line as it is written (so
// a handler stuck in a loop keeps what it logged before), then the outcome. An uncaught exception
// or unhandled rejection fails the invocation running and retires the worker, as Lambda exits.
import { getHeapStatistics } from 'node:v8';
import { captureOutput } from './console-capture.js';
import { createContext, type LambdaContext } from './context.js';
import { preloadTypeScript } from './import-handler.js';
import { loadHandler, type Handler } from './load-handler.js';
import { eventObject } from './payload.js';
import { formatErrorForLog, intoError, toFunctionError, UnhandledPromiseRejection, unserialisableResult } from './lambda-errors.js';
import { W, type InvokeTuple, type LevelCode, type MainMessage, type WorkerInit, type WorkerMessage } from './protocol.js';
import { sluiceClient } from './sluice-client.js';
import { markLoopBaseline, whenLoopEmpty } from './event-loop.js';
import type { FunctionError } from './types.js';

import { LOG_LIMIT_BYTES } from './spec.js';

export { LOG_LIMIT_BYTES };

export interface WorkerChannel {
  send(message: WorkerMessage): void;
  onMessage(listener: (message: MainMessage) => void): void;
}

interface Invocation {
  start: number;
  /** The first of callback / succeed / fail / done / the promise settling was called: the others are ignored. */
  claimed: boolean;
}

/** Runs a worker on `channel` until it is terminated; `preloadTs`: register tsx before the function is known. */
export function runWorker(channel: WorkerChannel, options: { preloadTs?: boolean } = {}): void {
  let init: WorkerInit | undefined;
  let handler: Handler | undefined;
  let callbackStyle = false;
  let current: Invocation | undefined;
  let phase: 'init' | 'ready' | 'retired' = 'init';
  let budget = LOG_LIMIT_BYTES;
  let peakHeap = 0;
  const sluice = sluiceClient(process.env);

  const log = (level: LevelCode, message: string) => {
    if (budget <= 0) return;
    budget -= Buffer.byteLength(message);
    if (budget < 0) message = `[Sluice] log output cut here: more than ${LOG_LIMIT_BYTES / 1024} KB written`;
    channel.send([W.Log, level, Date.now(), message]);
  };
  const capture = captureOutput(log);
  const flushPartialLines = capture.flush;

  const maxMemoryMB = (): number => {
    if (init?.memory === 'rss') return Math.ceil(process.resourceUsage().maxRSS / 1024);
    peakHeap = Math.max(peakHeap, getHeapStatistics().used_heap_size);
    return Math.ceil(peakHeap / 2 ** 20);
  };

  const end = (inv: Invocation, ok: 0 | 1, value: string | FunctionError, retire: 0 | 1) => {
    flushPartialLines();
    current = undefined;
    budget = LOG_LIMIT_BYTES;
    channel.send([W.Done, ok, value, performance.now() - inv.start, maxMemoryMB(), retire]);
  };
  const fail = (inv: Invocation, error: unknown) => {
    console.error('Invoke Error', formatErrorForLog(intoError(error)));
    end(inv, 0, toFunctionError(error), 0);
  };
  const succeed = (inv: Invocation, result: unknown) => {
    let json: string | undefined;
    try {
      json = JSON.stringify(result === undefined ? null : result);
    } catch {
      return fail(inv, unserialisableResult());
    }
    end(inv, 1, json ?? 'null', 0);
  };
  const settle = (inv: Invocation, error: unknown, result: unknown) => {
    if (inv !== current) return;
    if (error !== undefined && error !== null) fail(inv, error);
    else succeed(inv, result);
  };

  // Over IPC (JSON) an absent clientContext or identity arrives as null: Lambda leaves them undefined.
  const invoke = ([requestId, payload, deadline, clientContext, identity]: InvokeTuple) => {
    const inv: Invocation = { start: performance.now(), claimed: false };
    current = inv;
    budget = LOG_LIMIT_BYTES;
    const once = (error: unknown, result: unknown) => {
      if (inv.claimed) return;
      inv.claimed = true;
      settle(inv, error, result);
    };
    const context = createContext(init!, requestId, deadline, clientContext ?? undefined, identity ?? undefined, sluice, { done: once });
    try {
      const returned = handler!(eventObject(payload), context, callbackStyle ? callbackFor(inv, context) : undefined);
      if (isThenable(returned)) returned.then((v) => once(null, v), (e: unknown) => once(e ?? 'handled', null));
      else if (!callbackStyle) once(null, returned);
      // A callback handler that returned without calling back: Lambda answers null once the loop is empty.
      else whenLoopEmpty(() => inv.claimed || inv !== current, () => once(null, null));
    } catch (e) {
      once(e ?? 'handled', null);
    }
  };

  const callbackFor = (inv: Invocation, context: LambdaContext) => (error?: unknown, result?: unknown) => {
    if (inv.claimed) return;
    inv.claimed = true;
    if (error !== undefined && error !== null) return settle(inv, error, null);
    if (!context.callbackWaitsForEmptyEventLoop) return settle(inv, null, result);
    whenLoopEmpty(() => inv !== current, () => settle(inv, null, result));
  };

  /** Uncaught exception or unhandled rejection: fails what runs, or fails init, then the worker is retired. */
  const fatal = (label: string, error: Error) => {
    console.error(label, formatErrorForLog(error));
    const before = phase;
    phase = 'retired';
    if (before === 'init') return channel.send([W.InitFailed, toFunctionError(error)]);
    if (current) {
      const inv = current;
      flushPartialLines();
      current = undefined;
      return channel.send([W.Done, 0, toFunctionError(error), performance.now() - inv.start, maxMemoryMB(), 1]);
    }
    channel.send([W.Retire]);
  };
  if (options.preloadTs) preloadTypeScript().catch(() => {}); // a failure shows again when the module loads
  process.on('uncaughtException', (e) => fatal('Uncaught Exception', intoError(e)));
  process.on('unhandledRejection', (reason) => fatal('Unhandled Promise Rejection', new UnhandledPromiseRejection(reason)));

  channel.onMessage((m) => {
    if (Array.isArray(m)) {
      if (phase === 'ready') invoke(m);
    } else if (m.t === 'init' && !init) {
      init = m.init;
      if (init.environment) replaceEnvironment(init.environment);
      capture.setLogLevel(process.env.AWS_LAMBDA_LOG_LEVEL);
      void start(m.init);
    }
  });

  const start = async (i: WorkerInit) => {
    markLoopBaseline();
    try {
      const fn = await loadHandler(i.file, i.exportName);
      if (phase !== 'init') return;
      handler = fn;
      callbackStyle = fn.length >= 3;
      phase = 'ready';
      flushPartialLines();
      channel.send([W.Ready]);
    } catch (e) {
      if (phase !== 'init') return;
      phase = 'retired';
      // Lambda logs a failed init as an uncaught exception.
      console.error('Uncaught Exception', formatErrorForLog(intoError(e)));
      flushPartialLines();
      channel.send([W.InitFailed, toFunctionError(e)]);
    }
  };
}

/** Makes process.env exactly `environment` (what Sluice read at startup, such as the log level, was read already). */
function replaceEnvironment(environment: Record<string, string>): void {
  for (const key of Object.keys(process.env)) delete process.env[key];
  Object.assign(process.env, environment);
}

const isThenable = (v: unknown): v is PromiseLike<unknown> => !!v && typeof (v as { then?: unknown }).then === 'function';


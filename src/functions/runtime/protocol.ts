// The messages between a pool (main thread) and one worker (thread or child process). Tuples on the
// wire — an invocation costs two small structured clones, or two short JSON lines over IPC — and
// named shapes on both sides (decoded where they are read).
import type { Payload } from './payload.js';
import type { FunctionError, LogLine } from './types.js';

/** What a worker needs to load the function; the first message it receives. */
export interface WorkerInit {
  name: string;
  file: string;
  exportName: string;
  memoryMB: number;
  arn: string;
  /** This worker's log stream (`2025/01/31/[$LATEST]<32 hex>`). */
  logStreamName: string;
  /** How this worker measures Max Memory Used: its V8 heap (thread) or its peak RSS (process). */
  memory: 'heap' | 'rss';
  /** Threads: the handler's whole environment, set when the function is given (a standby thread starts with none). */
  environment?: Record<string, string>;
}

/** Main → worker. */
export type MainMessage =
  | { t: 'init'; init: WorkerInit }
  /** An invocation: [requestId, payload (JSON text, or a Kinesis batch: threads only), deadline (epoch ms), clientContext, identity]. */
  | InvokeTuple;
export type InvokeTuple = [requestId: string, payload: Payload, deadline: number, clientContext: unknown, identity: unknown];

export const enum W {
  Ready = 0,
  InitFailed = 1,
  Log = 2,
  Done = 3,
  /** An uncaught exception or unhandled rejection between invocations: the worker can no longer be trusted. */
  Retire = 4,
}

/** Worker → main. */
export type WorkerMessage =
  | [W.Ready]
  | [W.InitFailed, error: FunctionError]
  | [W.Log, level: LevelCode, time: number, message: string]
  /** ok=1: value is the result's JSON text; ok=0: value is the error. retire=1: replace this worker. */
  | [W.Done, ok: 0 | 1, value: string | FunctionError, durationMs: number, maxMemoryMB: number, retire: 0 | 1]
  | [W.Retire];

export const LEVELS: LogLine['level'][] = ['INFO', 'WARN', 'ERROR', 'DEBUG', 'TRACE'];
export const enum Level {
  Info = 0,
  Warn = 1,
  Error = 2,
  Debug = 3,
  Trace = 4,
}
export type LevelCode = 0 | 1 | 2 | 3 | 4;

/** A log message decoded into the contract's LogLine. */
export const logLineOf = (level: LevelCode, time: number, message: string): LogLine => ({ time, level: LEVELS[level]!, message });

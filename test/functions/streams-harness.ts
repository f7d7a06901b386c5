// Shared by the stream mapping tests: a mapping over a real engine with a fake `invoke` the test
// controls (no runtime), the calls it saw, and a way to wait while virtual time moves.
import { setTimeout as delay } from 'node:timers/promises';
import { afterEach } from 'vitest';
import { ManualClock, type Clock } from '../../src/clock.js';
import type { Engine } from '../../src/engine/engine.js';
import { createStreamMapping, type StreamMapping } from '../../src/functions/streams/index.js';
import type { StreamMappingOptions } from '../../src/functions/streams/options.js';
import type { InvokeOutcome } from '../../src/functions/runtime/types.js';
import { eventText, type Payload } from '../../src/functions/runtime/payload.js';
import { sqliteFactory, type EngineFactory } from '../support/gateway.js';

export const FUNCTION = 'listener';
export const FUNCTION_ARN = `arn:aws:lambda:us-east-1:000000000000:function:${FUNCTION}`;

/** One invocation the fake saw: the parsed event, when it started and ended (virtual time), and what it answered. */
export interface Call {
  event: any;
  json: string;
  /** Decoded data of each record (JSON), or the record's own data for format 'records'. */
  data: any[];
  keys: string[];
  seqs: string[];
  at: number;
  end?: number;
  outcome?: 'ok' | 'error' | 'report';
}

/** What the fake handler does with one batch: return a value (the result), or throw (a function error). */
export type Handler = (data: any[], call: Call, index: number) => unknown | Promise<unknown>;

export const ok = (result: unknown = null): InvokeOutcome => ({
  ok: true,
  result: JSON.stringify(result ?? null),
  durationMs: 1,
  maxMemoryMB: 1,
  coldStart: false,
  logs: [],
});

export const failed = (message: string): InvokeOutcome => ({
  ok: false,
  kind: 'Unhandled',
  error: { errorType: 'Error', errorMessage: message, trace: [] },
  durationMs: 1,
  maxMemoryMB: 1,
  coldStart: false,
  logs: [],
});

export interface Rig {
  engine: Engine;
  clock: Clock;
  calls: Call[];
  logs: string[];
  mapping: StreamMapping;
  /** A new mapping of the same function over the same engine (a restart), started. */
  restart(handler?: Handler, options?: StreamMappingOptions): Promise<StreamMapping>;
  append(records: { key: string; data: unknown }[], stream?: string): Promise<void>;
  /** Every record of a stream as parsed JSON. */
  contents(stream: string): Promise<any[]>;
  committed(): Promise<Map<number, number>>;
}

const open: { mappings: StreamMapping[]; engines: Engine[] } = { mappings: [], engines: [] };
afterEach(async () => {
  await Promise.all(open.mappings.splice(0).map((m) => m.stop()));
  await Promise.all(open.engines.splice(0).map((e) => e.close()));
});

const parse = (text: string): unknown => {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
};

export function fakeInvoke(handler: Handler, calls: Call[], clock: Clock, format: 'kinesis' | 'records' = 'kinesis') {
  return async (payload: Payload, signal: AbortSignal): Promise<InvokeOutcome> => {
    const json = eventText(payload);
    const event = JSON.parse(json);
    const records: any[] = format === 'records' ? event.records : event.Records;
    const call: Call = {
      event,
      json,
      data: records.map((r) => (format === 'records' ? r.data : parse(Buffer.from(r.kinesis.data, 'base64').toString()))),
      keys: records.map((r) => (format === 'records' ? r.partitionKey : r.kinesis.partitionKey)),
      seqs: records.map((r) => (format === 'records' ? r.sequenceNumber : r.kinesis.sequenceNumber)),
      at: clock.now(),
    };
    calls.push(call);
    let onAbort: () => void = () => undefined;
    try {
      const result = await Promise.race([
        handler(call.data, call, calls.length - 1),
        new Promise((_, reject) => {
          onAbort = () => reject(signal.reason);
          signal.addEventListener('abort', onAbort, { once: true });
        }),
      ]);
      call.end = clock.now();
      call.outcome = result && typeof result === 'object' && 'batchItemFailures' in result ? 'report' : 'ok';
      return ok(result);
    } catch (e) {
      if (signal.aborted) throw e;
      call.end = clock.now();
      call.outcome = 'error';
      return failed((e as Error).message);
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
  };
}

export interface RigOptions {
  engine?: EngineFactory;
  clock?: Clock;
  partitions?: number;
  options?: StreamMappingOptions;
  handler?: Handler;
  /** Records appended before the mapping starts. */
  before?: { key: string; data: unknown }[];
  /** Streams to create besides 'events' (e.g. the onFailure destination). */
  streams?: string[];
  retentionMs?: number;
}

export async function rig(o: RigOptions = {}): Promise<Rig> {
  const clock = o.clock ?? new ManualClock(1_700_000_000_000);
  const engine = await (o.engine ?? sqliteFactory)(clock);
  open.engines.push(engine);
  await engine.createStream('events', { partitions: o.partitions ?? 1, ...(o.retentionMs && { retentionMs: o.retentionMs }) });
  for (const s of o.streams ?? []) await engine.createStream(s, { partitions: 1 });
  const calls: Call[] = [];
  const logs: string[] = [];
  const append = async (records: { key: string; data: unknown }[], stream = 'events') => {
    const results = await engine.append(stream, records.map((r) => ({ key: r.key, value: Buffer.from(JSON.stringify(r.data)) })));
    for (const r of results) if ('error' in r) throw new Error(r.error.message);
  };
  if (o.before) await append(o.before);
  const start = async (handler: Handler, options: StreamMappingOptions) => {
    const mapping = createStreamMapping({
      engine,
      clock,
      functionName: FUNCTION,
      functionArn: FUNCTION_ARN,
      region: 'us-east-1',
      stream: 'events',
      options,
      invoke: fakeInvoke(handler, calls, clock, options.format),
      log: (line, level) => logs.push(`${level}: ${line}`),
    });
    open.mappings.push(mapping);
    await mapping.start();
    return mapping;
  };
  const options = { startingPosition: 'TRIM_HORIZON' as const, ...o.options };
  const handler = o.handler ?? (() => null);
  const mapping = await start(handler, options);
  return {
    engine,
    clock,
    calls,
    logs,
    mapping,
    restart: (h = handler, opts = options) => start(h, opts),
    append,
    contents: async (stream) => {
      const info = await engine.describeStream(stream);
      const out = [];
      for (const p of info.partitionInfo) {
        for (const r of (await engine.read(stream, p.partition, p.earliest, 1_000_000)).records) out.push(JSON.parse(Buffer.from(r.value).toString()));
      }
      return out;
    },
    committed: () => engine.getOffsets(`fn:${FUNCTION}:events`, 'events'),
  };
}

/**
 * Waits (real time, up to `timeoutMs`) until `cond` holds. With a ManualClock, whenever the mapping
 * sleeps (a backoff, a batching window) virtual time moves on by `stepMs`.
 */
export async function until(cond: () => boolean | Promise<boolean>, o: { clock?: Clock; stepMs?: number; timeoutMs?: number } = {}): Promise<void> {
  const deadline = Date.now() + (o.timeoutMs ?? 10_000);
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    if (o.clock instanceof ManualClock && o.stepMs && o.clock.sleeping > 0) o.clock.advance(o.stepMs);
    await delay(1);
  }
}

/** Lets pending work run for a few real milliseconds (to show that something does not happen). */
export const settle = (ms = 50) => delay(ms);

/** `n` records 'k<i % keys>' with data { i }. */
export const records = (n: number, keys = 1, from = 0) => Array.from({ length: n }, (_, j) => ({ key: `k${(from + j) % keys}`, data: { i: from + j } }));

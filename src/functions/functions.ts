// The function registry: every configured function's runtime (a warm pool of threads or
// processes), its concurrency, its own key pair and Lambda environment, its durable logs and
// asynchronous queue, its metrics, and invocation as the Lambda Invoke API defines it.
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, watch, type FSWatcher } from 'node:fs';
import { resolve } from 'node:path';
import type { Clock } from '../clock.js';
import type { Engine } from '../engine/engine.js';
import { StreamExistsError } from '../engine/errors.js';
import { createApiKey } from '../gateway/auth/api-keys.js';
import type { Principal } from '../gateway/auth/scopes.js';
import type { Observer } from '../observe/observer.js';
import { Dependencies, type DependencyStats } from '../resilience/index.js';
import { AsyncQueue, ensureAsyncQueue, type AsyncEvent } from './async-queue.js';
import { DEFAULT_ASYNC_RETRIES, DEFAULT_CONCURRENCY, DEFAULT_MAX_EVENT_AGE_MS, DEFAULT_MEMORY_MB, DEFAULT_TIMEOUT_MS, handlerOf, scheduleNameOf, type ResolvedFunctionConfig, type ScheduleTriggerConfig, type StreamTriggerConfig } from './config.js';
import { Destination, type DestinationKind } from './destinations.js';
import { ASYNC_PAYLOAD_LIMIT, FunctionInitError, FunctionNotFoundError, FunctionThrottledError, InvalidPayloadError, RequestTooLargeError, SYNC_PAYLOAD_LIMIT, SYNC_RESPONSE_LIMIT } from './errors.js';
import { lambdaLines, LOG_RETENTION_MS, logStreamOf, logTail } from './logs.js';
import { functionMetrics, type FunctionMetrics } from './metrics.js';
import type { Payload } from './runtime/payload.js';
import type { FunctionRuntime, InvokeOutcome, RuntimeFactory, RuntimeSpec } from './runtime/types.js';
import { Slots } from './slots.js';
import { createSchedule, type Schedule } from './schedules/index.js';
import { createStreamMapping, type StreamMapping } from './streams/index.js';

export const ACCOUNT = '000000000000';
/** Log records written at once (one engine append per batch of invocations, not per invocation). */
const LOG_FLUSH_MS = 200;

export type InvocationType = 'RequestResponse' | 'Event' | 'DryRun';

/** What a synchronous caller may pass besides the payload. */
export interface InvokeExtras {
  /** context.clientContext (the Invoke API's X-Amz-Client-Context, decoded). */
  clientContext?: unknown;
}

export interface FunctionsOptions {
  engine: Engine;
  functions: Record<string, ResolvedFunctionConfig>;
  /** Handler paths are relative to this (the config file's directory). */
  baseDir: string;
  /** Where functions reach Sluice (AWS_ENDPOINT_URL, SLUICE_URL). */
  gatewayUrl: string;
  region: string;
  observer: Observer;
  clock: Clock;
  runtimes: Record<'thread' | 'process', RuntimeFactory>;
  /** Gives the gateway a function's own credentials (scopes: its permissions). */
  addPrincipal: (p: Principal) => void;
  /** Reload a function whose handler file changed (sluice dev). */
  watch?: boolean;
  /**
   * The process's dependencies: each destination is one (`destination:<function>:<kind>`), drawing
   * on their server-wide retry budget; its maker has the observer watch it (/metrics).
   * Default: a set of the registry's own, on `clock`, which the registry has the observer watch.
   */
  dependencies?: Dependencies;
}

/** One function, running. */
export class FunctionEntry {
  readonly slots: Slots;
  readonly queue: AsyncQueue;
  readonly started: number;
  invocations = 0;
  errors = 0;
  throttles = 0;
  destinationFailures = 0;
  /** How long the first worker took to load the module at start (Init Duration when a runtime reports none of its own). */
  lastInitMs = 0;
  /** The last DURATIONS_KEPT invocations' durations (ms), oldest overwritten first: describe's percentiles. */
  readonly durations: number[] = [];
  private durationAt = 0;
  /** Its stream triggers (event source mappings). */
  readonly mappings: StreamMapping[] = [];
  /** Its schedule triggers. */
  readonly schedules: Schedule[] = [];

  constructor(readonly name: string, readonly config: ResolvedFunctionConfig, readonly spec: RuntimeSpec, readonly runtime: FunctionRuntime, readonly principal: Principal, queue: (entry: FunctionEntry) => AsyncQueue, clock: Clock) {
    this.slots = new Slots(spec.concurrency);
    this.queue = queue(this);
    this.started = clock.now();
  }

  get arn(): string {
    return this.spec.arn;
  }

  ran(durationMs: number): void {
    this.durations[this.durationAt] = durationMs;
    this.durationAt = (this.durationAt + 1) % DURATIONS_KEPT;
  }
}

const DURATIONS_KEPT = 1_000;

/** Lambda's Duration statistics over the invocations kept: average, p50, p99 and maximum (ms), null before any. */
function durationStats(ms: readonly number[]) {
  if (ms.length === 0) return null;
  const sorted = [...ms].sort((a, b) => a - b);
  const at = (q: number) => round(sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!);
  return { invocations: sorted.length, avgMs: round(sorted.reduce((a, b) => a + b, 0) / sorted.length), p50Ms: at(0.5), p99Ms: at(0.99), maxMs: round(sorted.at(-1)!) };
}
const round = (n: number) => Math.round(n * 100) / 100;

/** What a synchronous invocation answers. */
export interface Invocation {
  requestId: string;
  outcome: InvokeOutcome;
  /** The invocation's log lines (Lambda's format). */
  lines: string[];
}

export class Functions {
  private readonly entries = new Map<string, FunctionEntry>();
  private readonly metrics: FunctionMetrics;
  private readonly ac = new AbortController();
  private readonly watchers: FSWatcher[] = [];
  private pendingLogs = new Map<string, Buffer[]>();
  private flushing?: NodeJS.Timeout;
  private readonly running: Promise<void>[] = [];
  private readonly dependencies: Dependencies;
  private readonly destinations: Destination[] = [];

  private constructor(private readonly o: FunctionsOptions) {
    this.metrics = functionMetrics(o.observer.metrics, () => [...this.entries.values()]);
    this.dependencies = o.dependencies ?? new Dependencies({ clock: o.clock });
    // (The process's set is watched as a whole by whoever made it: counted once.)
    if (!o.dependencies) o.observer.watchDependencies(() => this.dependencyStats());
  }

  /** Starts every function (a worker each, so a handler that does not load stops the start, naming its file). */
  static async start(o: FunctionsOptions): Promise<Functions> {
    const fns = new Functions(o);
    try {
      for (const [name, config] of Object.entries(o.functions)) await fns.add(name, config);
    } catch (e) {
      await fns.close();
      throw e;
    }
    return fns;
  }

  names(): string[] {
    return [...this.entries.keys()].sort();
  }

  /** The destinations' dependencies' counters (for /metrics). */
  dependencyStats(): DependencyStats[] {
    return this.destinations.map((d) => d.dependency.stats);
  }

  get(name: string): FunctionEntry {
    const e = this.entries.get(name);
    if (!e) throw new FunctionNotFoundError(name);
    return e;
  }

  /**
   * An invocation as the Invoke API defines it: RequestResponse runs it now (throttled when the
   * function runs `concurrency` invocations already), Event queues it durably, DryRun checks the
   * payload and runs nothing. Resolves `undefined` for Event and DryRun. A RequestResponse result
   * over Lambda's 6 MB is Lambda's Function.ResponseSizeTooLarge error instead.
   */
  async invoke(name: string, payload: string, type: InvocationType = 'RequestResponse', signal?: AbortSignal, extras: InvokeExtras = {}): Promise<Invocation | undefined> {
    const entry = this.get(name);
    const limit = type === 'Event' ? ASYNC_PAYLOAD_LIMIT : SYNC_PAYLOAD_LIMIT;
    if (Buffer.byteLength(payload) > limit) throw new RequestTooLargeError(Buffer.byteLength(payload), limit);
    const text = payload.length === 0 ? '{}' : payload;
    try {
      JSON.parse(text);
    } catch (e) {
      throw new InvalidPayloadError((e as Error).message);
    }
    if (type === 'DryRun') return undefined;
    const requestId = randomUUID();
    if (type === 'Event') {
      await entry.queue.enqueue(requestId, text);
      return undefined;
    }
    if (!entry.slots.tryTake()) {
      entry.throttles++;
      this.metrics.throttles.inc({ function: name });
      throw new FunctionThrottledError(name, entry.spec.concurrency);
    }
    try {
      return await this.run(entry, requestId, text, signal, { ...extras, maxResultBytes: SYNC_RESPONSE_LIMIT });
    } finally {
      entry.slots.give();
    }
  }

  /** An invocation for a trigger (stream mapping, schedule, async queue): waits for a slot instead of being throttled. */
  async invokeForTrigger(name: string, payload: Payload, signal?: AbortSignal, requestId: string = randomUUID()): Promise<Invocation> {
    const entry = this.get(name);
    await entry.slots.take(signal);
    try {
      return await this.run(entry, requestId, payload, signal);
    } finally {
      entry.slots.give();
    }
  }

  /** What `sluice functions describe` shows: configuration, Lambda's metrics, workers, queue and triggers. */
  async describe(name: string) {
    const e = this.get(name);
    const c = e.config;
    const mappings = await Promise.all(e.mappings.map((m) => m.stats()));
    return {
      name, arn: e.arn, runtime: c.runtime ?? 'thread', handler: c.handler, timeoutMs: e.spec.timeoutMs, memoryMB: e.spec.memoryMB, concurrency: e.spec.concurrency,
      permissions: e.principal.scopes, triggers: c.triggers ?? [], destinations: c.destinations ?? {},
      counters: { invocations: e.invocations, errors: e.errors, throttles: e.throttles, concurrentExecutions: e.slots.inFlight },
      /** Lambda's metrics by their names: counts since start, Duration over the last 1,000 invocations, IteratorAge of the oldest stream trigger partition (ms). */
      metrics: {
        Invocations: e.invocations, Errors: e.errors, Throttles: e.throttles, Duration: durationStats(e.durations), ConcurrentExecutions: e.slots.inFlight,
        IteratorAge: mappings.length === 0 ? null : Math.max(0, ...mappings.map((m) => m.iteratorAgeMs)),
        DestinationDeliveryFailures: e.destinationFailures + mappings.reduce((n, m) => n + m.destinationDeliveryFailures, 0),
      },
      workers: e.runtime.stats, asyncQueue: e.queue.stats(), logStream: logStreamOf(name),
      mappings,
      schedules: e.schedules.map((s) => s.stats()),
    };
  }

  async close(): Promise<void> {
    this.ac.abort();
    await Promise.allSettled([...this.entries.values()].flatMap((e) => [...e.mappings.map((m) => m.stop()), ...e.schedules.map((s) => s.stop())]));
    for (const w of this.watchers) w.close();
    await Promise.allSettled(this.running);
    await Promise.allSettled([...this.entries.values()].map((e) => e.runtime.close()));
    clearTimeout(this.flushing);
    await this.flushLogs();
    for (const d of this.destinations.splice(0)) {
      d.dispose();
      d.dependency.dispose();
    }
  }

  private async add(name: string, config: ResolvedFunctionConfig): Promise<void> {
    const o = this.o;
    const { file, exportName } = handlerOf(config.handler);
    const path = resolve(o.baseDir, file);
    if (!existsSync(path)) throw new FunctionInitError(name, path, 'the handler file does not exist');
    const key = createApiKey(`fn-${name}`);
    const principal: Principal = {
      id: `fn-${name}`, apiKeyHash: key.hash, accessKeyId: `AKIASLUICE${randomBytes(5).toString('hex').toUpperCase()}`,
      secretAccessKey: randomBytes(30).toString('base64url'), scopes: config.permissions ?? {},
    };
    const arn = `arn:aws:lambda:${o.region}:${ACCOUNT}:function:${name}`;
    const memoryMB = config.memory ?? DEFAULT_MEMORY_MB;
    const spec: RuntimeSpec = {
      name, file: path, exportName, arn, memoryMB,
      timeoutMs: config.timeout ?? DEFAULT_TIMEOUT_MS,
      concurrency: config.concurrency ?? DEFAULT_CONCURRENCY,
      environment: lambdaEnvironment(name, memoryMB, o, principal, key.key, config.environment ?? {}),
    };
    await ensureStream(o.engine, logStreamOf(name), LOG_RETENTION_MS);
    await ensureAsyncQueue(o.engine, name);
    const runtime = o.runtimes[config.runtime ?? 'thread'](spec);
    const warmed = performance.now();
    try {
      await runtime.warm(1);
    } catch (e) {
      await runtime.close().catch(() => {});
      throw new FunctionInitError(name, path, (e as Error).message);
    }
    o.addPrincipal(principal);
    const entry = new FunctionEntry(name, config, spec, runtime, principal, (en) => this.queueOf(en), o.clock);
    entry.lastInitMs = performance.now() - warmed;
    this.entries.set(name, entry);
    this.running.push(entry.queue.run(this.ac.signal).catch((e: Error) => o.observer.log.error({ fn: name, err: e.message }, `function ${name}: its async queue stopped`)));
    if (o.watch) this.watchFile(entry, path);
    let unnamed = 0;
    for (const [i, t] of (config.triggers ?? []).entries()) {
      // (Object triggers need nothing running here: their events are committed into the async queue with the objects, src/functions/objects.)
      if ('stream' in t) await this.addMapping(entry, t as StreamTriggerConfig, i);
      else if ('schedule' in t) await this.addSchedule(entry, t, i, t.name ?? scheduleNameOf(name, unnamed++));
    }
  }

  /**
   * A schedule trigger: EventBridge's scheduled event, queued as an asynchronous invocation (so it
   * is retried and reaches the destinations as Lambda's are); a run lasts until its first attempt ends.
   */
  private async addSchedule(entry: FunctionEntry, t: ScheduleTriggerConfig, index: number, name: string): Promise<void> {
    const log = this.o.observer.log.child({ fn: entry.name });
    const { schedule: expression, enabled, timezone, missedRuns, detail, input } = t;
    const where = `triggers.${index} (schedule '${expression}')`;
    if (entry.schedules.some((s) => s.name === name)) throw new FunctionInitError(entry.name, where, `another schedule of the function is named '${name}'`);
    const schedule = createSchedule({
      engine: this.o.engine, clock: this.o.clock, functionName: entry.name, region: this.o.region, expression,
      name,
      options: { enabled, timezone, missedRuns, detail, ...('input' in t ? { input } : {}) },
      invoke: (eventJson, signal) => entry.queue.enqueueAndWait(randomUUID(), eventJson, signal),
      log: (line, level) => log[level](line),
    });
    try {
      await schedule.start(this.ac.signal);
    } catch (e) {
      throw new FunctionInitError(entry.name, where, (e as Error).message);
    }
    entry.schedules.push(schedule);
  }

  /** A stream trigger: Lambda's event source mapping, invoking through the function's concurrency. */
  private async addMapping(entry: FunctionEntry, t: StreamTriggerConfig, index: number): Promise<void> {
    const { stream, ...options } = t;
    const log = this.o.observer.log.child({ fn: entry.name, stream });
    const mapping = createStreamMapping({
      engine: this.o.engine, clock: this.o.clock, functionName: entry.name, functionArn: entry.arn, region: this.o.region, stream, options,
      eventsAsText: entry.config.runtime === 'process',
      invoke: async (event, signal) => (await this.invokeForTrigger(entry.name, event, signal)).outcome,
      log: (line, level) => log[level](line),
      destination: (to) => this.destination(entry, `stream.${stream}.onFailure`, to),
    });
    try {
      await mapping.start(this.ac.signal);
    } catch (e) {
      throw new FunctionInitError(entry.name, `triggers.${index} (stream '${stream}')`, (e as Error).message);
    }
    entry.mappings.push(mapping);
  }

  private queueOf(entry: FunctionEntry): AsyncQueue {
    const c = entry.config;
    return new AsyncQueue({
      engine: this.o.engine, clock: this.o.clock, fn: entry.name, arn: entry.spec.arn,
      retries: c.async?.maximumRetryAttempts ?? DEFAULT_ASYNC_RETRIES, maxEventAgeMs: c.async?.maximumEventAge ?? DEFAULT_MAX_EVENT_AGE_MS,
      ...(c.destinations?.onFailure && { onFailure: this.destination(entry, 'onFailure', c.destinations.onFailure.stream) }),
      ...(c.destinations?.onSuccess && { onSuccess: this.destination(entry, 'onSuccess', c.destinations.onSuccess.stream) }),
      invoke: async (e: AsyncEvent, signal) => (await this.invokeForTrigger(entry.name, e.payload, signal, e.requestId)).outcome,
      log: (line, level = 'warn') => this.o.observer.log[level]({ fn: entry.name }, line),
    });
  }

  /** A destination of the function, through its dependency in the process's set; a failed delivery counts in DestinationDeliveryFailures. */
  private destination(entry: FunctionEntry, kind: DestinationKind, stream: string): Destination {
    const log = this.o.observer.log.child({ fn: entry.name });
    const d = Destination.of(this.dependencies, entry.name, kind, stream, {
      clock: this.o.clock,
      log: (line, level) => log[level](`function ${entry.name}: ${line}`),
      ...(!kind.startsWith('stream.') && { onFailure: () => void entry.destinationFailures++ }), // (a stream trigger counts its own)
    });
    this.destinations.push(d);
    return d;
  }

  /** Runs one invocation on a held slot: its log lines are kept, its counters counted. `maxResultBytes`: a larger result fails it, as Lambda's limit does. */
  private async run(entry: FunctionEntry, requestId: string, payload: Payload, signal?: AbortSignal, o: InvokeExtras & { maxResultBytes?: number } = {}): Promise<Invocation> {
    const started = this.o.clock.now();
    let outcome = await entry.runtime.invoke({ requestId, payload, ...(o.clientContext !== undefined && { clientContext: o.clientContext }) }, signal);
    if (outcome.ok && o.maxResultBytes !== undefined && Buffer.byteLength(outcome.result) > o.maxResultBytes) outcome = responseTooLarge(outcome, o.maxResultBytes);
    entry.invocations++;
    this.metrics.invocations.inc({ function: entry.name });
    this.metrics.duration.observe({ function: entry.name }, outcome.durationMs / 1000);
    entry.ran(outcome.durationMs);
    if (!outcome.ok) {
      entry.errors++;
      this.metrics.errors.inc({ function: entry.name });
    }
    const lines = lambdaLines(requestId, started, entry.spec.memoryMB, outcome, outcome.coldStart ? (outcome.initDurationMs ?? entry.lastInitMs) : undefined);
    this.keepLog(entry.name, { requestId, time: started, lines });
    return { requestId, outcome, lines };
  }

  /** Invocation logs are written to their stream in batches, every LOG_FLUSH_MS. */
  private keepLog(fn: string, record: { requestId: string; time: number; lines: string[] }): void {
    let list = this.pendingLogs.get(fn);
    if (!list) this.pendingLogs.set(fn, (list = []));
    list.push(Buffer.from(JSON.stringify(record)));
    this.flushing ??= setTimeout(() => void this.flushLogs(), LOG_FLUSH_MS).unref();
  }

  private async flushLogs(): Promise<void> {
    this.flushing = undefined;
    const batches = this.pendingLogs;
    this.pendingLogs = new Map();
    for (const [fn, values] of batches) {
      await this.o.engine.append(logStreamOf(fn), values.map((value) => ({ value, partition: 0 }))).catch((e: Error) => this.o.observer.log.warn({ fn, err: e.message }, `function ${fn}: could not keep ${values.length} invocation logs`));
    }
  }

  /** Reloads a function whose handler file changed: new invocations run the new code. */
  private watchFile(entry: FunctionEntry, path: string): void {
    let timer: NodeJS.Timeout | undefined;
    const w = watch(path, () => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        void entry.runtime.reload().then(
          () => this.o.observer.log.info({ fn: entry.name }, `function ${entry.name}: reloaded ${path}`),
          (e: Error) => this.o.observer.log.warn({ fn: entry.name, err: e.message }, `function ${entry.name}: could not reload ${path}: ${e.message}`),
        );
      }, 100);
    });
    this.watchers.push(w);
  }
}

/** Lambda's answer for a result over its response limit (the Invoke API's FunctionError Unhandled). */
function responseTooLarge(o: InvokeOutcome & { ok: true }, limit: number): InvokeOutcome {
  const { result: _result, ...rest } = o;
  return { ...rest, ok: false, kind: 'Unhandled', error: { errorType: 'Function.ResponseSizeTooLarge', errorMessage: `Response payload size exceeded maximum allowed payload size (${limit} bytes).`, trace: [] } };
}

/** Lambda's environment for a function (AWS_LAMBDA_*, the region, the function's own keys, the gateway as the AWS endpoint) and the user's variables. */
function lambdaEnvironment(name: string, memoryMB: number, o: FunctionsOptions, principal: Principal, apiKey: string, user: Record<string, string>): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    TZ: ':UTC',
    LANG: 'en_US.UTF-8',
    AWS_LAMBDA_FUNCTION_NAME: name,
    AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(memoryMB),
    AWS_LAMBDA_LOG_GROUP_NAME: `/aws/lambda/${name}`,
    AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs20.x',
    AWS_REGION: o.region,
    AWS_DEFAULT_REGION: o.region,
    AWS_ENDPOINT_URL: o.gatewayUrl,
    AWS_ACCESS_KEY_ID: principal.accessKeyId!,
    AWS_SECRET_ACCESS_KEY: principal.secretAccessKey!,
    LAMBDA_TASK_ROOT: o.baseDir,
    SLUICE_URL: o.gatewayUrl,
    SLUICE_API_KEY: apiKey,
    ...user,
  };
}

async function ensureStream(engine: Engine, name: string, retentionMs: number): Promise<void> {
  try {
    await engine.createStream(name, { partitions: 1, dedupWindowMs: 3_600_000, retentionMs });
  } catch (e) {
    if (!(e instanceof StreamExistsError)) throw e;
  }
}

export { logTail };

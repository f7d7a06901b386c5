// The warm pool both runtimes share: workers (threads or child processes, behind WorkerHandle) that
// run one invocation at a time, started on demand up to `concurrency`, with the hard deadline kept
// here — the worker is ended at it whatever it is doing — and replaced lazily: the next invocation
// that needs a worker starts a fresh one (a cold start, as after a Lambda sandbox is reset).
import { FunctionInitError, RuntimeClosedError } from './errors.js';
import { initTimeoutError, outOfMemoryError, exitError, timeoutError, toFunctionError } from './lambda-errors.js';
import { logLineOf, W, type LevelCode, type MainMessage, type WorkerInit, type WorkerMessage } from './protocol.js';
import { checkSpec, INIT_TIMEOUT_MS, LOG_LIMIT_BYTES, logStreamName } from './spec.js';
import type { FunctionError, FunctionRuntime, InvokeOutcome, InvokeRequest, LogLine, RuntimeSpec } from './types.js';

/** How a worker ended. */
export interface ExitInfo {
  code: number | null;
  signal: string | null;
  /** It passed its memory limit. */
  outOfMemory: boolean;
  /** Why it could not start, when the runtime itself failed (the entry script did not load). */
  error?: unknown;
}

/** What a worker reports to its pool. */
export interface WorkerEvents {
  message(m: WorkerMessage): void;
  /** Raw output the in-worker capture could not see (Node's own fatal messages, native writes). */
  output(level: LevelCode, text: string): void;
  exit(info: ExitInfo): void;
}

/** One thread or child process. */
export interface WorkerHandle {
  send(m: MainMessage): void;
  /** Ends it now (Worker.terminate(), SIGKILL). */
  kill(): void;
  /** Settles once it has ended. */
  readonly exited: Promise<void>;
}

/** Longest close() waits for ended workers to exit. */
export const EXIT_WAIT_MS = 5000;

export interface PoolOptions {
  maxTimeoutMs: number;
  memory: WorkerInit['memory'];
  spawn(spec: RuntimeSpec, events: WorkerEvents): WorkerHandle;
  /** Called once, when close() has ended every worker. */
  closed?(): void;
}

interface Waiter {
  req: InvokeRequest;
  resolve(o: InvokeOutcome): void;
  reject(e: unknown): void;
  enqueuedAt: number;
  signal?: AbortSignal;
  onAbort?: () => void;
}

interface Running {
  waiter: Waiter;
  start: number;
  timer: NodeJS.Timeout;
  logs: LogLine[];
  coldStart: boolean;
  initDurationMs: number | undefined;
}

type SlotState = 'starting' | 'idle' | 'busy' | 'dead';

class Slot {
  state: SlotState = 'starting';
  readonly spawnedAt = performance.now();
  readyAt = Infinity;
  invocations = 0;
  maxMemoryMB = 0;
  /** Log lines written outside an invocation (at init, or after one ended): they go with the next. */
  pending: LogLine[] = [];
  /** Raw output (what the in-worker capture cannot see) still kept in this invocation, or until the next: bytes. */
  outputBudget = LOG_LIMIT_BYTES;
  running: Running | undefined;
  handle!: WorkerHandle;
  initTimer: NodeJS.Timeout | undefined;
  readonly ready: Promise<void>;
  settleReady!: (error?: unknown) => void;

  constructor(readonly generation: number, readonly init: WorkerInit) {
    this.ready = new Promise<void>((resolve, reject) => (this.settleReady = (e) => (e === undefined ? resolve() : reject(e))));
    this.ready.catch(() => {}); // only warm() listens
  }
}

export class WorkerPool implements FunctionRuntime {
  private readonly spec: RuntimeSpec;
  private readonly slots = new Set<Slot>();
  private readonly idle: Slot[] = [];
  private readonly queue: Waiter[] = [];
  private readonly exits = new Set<Promise<void>>();
  /** Lines of workers that ended between invocations: they go with the next invocation. */
  private orphans: LogLine[] = [];
  private generation = 0;
  private starting = 0;
  private busy = 0;
  private coldStarts = 0;
  private replaced = 0;
  private closing: Promise<void> | undefined;
  private drained: (() => void) | undefined;

  constructor(spec: RuntimeSpec, private readonly options: PoolOptions) {
    this.spec = checkSpec(spec, options.maxTimeoutMs);
  }

  get stats() {
    return { workers: this.slots.size, busy: this.busy, coldStarts: this.coldStarts, replaced: this.replaced };
  }

  invoke(req: InvokeRequest, signal?: AbortSignal): Promise<InvokeOutcome> {
    if (this.closing) return Promise.reject(new RuntimeClosedError(this.spec.name));
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise((resolve, reject) => {
      const waiter: Waiter = { req, resolve, reject, enqueuedAt: performance.now() };
      const slot = this.idle.pop();
      if (slot) return this.dispatch(slot, waiter);
      if (signal) {
        waiter.signal = signal;
        waiter.onAbort = () => {
          const at = this.queue.indexOf(waiter);
          if (at >= 0) this.queue.splice(at, 1);
          reject(signal.reason);
        };
        signal.addEventListener('abort', waiter.onAbort, { once: true });
      }
      this.queue.push(waiter);
      this.grow();
    });
  }

  async warm(workers: number): Promise<void> {
    if (this.closing) throw new RuntimeClosedError(this.spec.name);
    const want = Math.min(Math.max(0, Math.floor(workers)), this.spec.concurrency);
    const mine = [...this.slots].filter((s) => s.generation === this.generation);
    while (mine.length < want && this.slots.size < this.spec.concurrency) mine.push(this.spawn());
    await Promise.all(mine.map((s) => s.ready));
  }

  /** Idle workers end now, running ones when their invocation does; as many new ones start as there were (at least one), and it resolves when they loaded the module. */
  async reload(): Promise<void> {
    if (this.closing) throw new RuntimeClosedError(this.spec.name);
    const had = this.slots.size;
    this.generation++;
    for (const slot of this.idle.splice(0)) this.end(slot, false);
    await this.warm(Math.max(1, had));
  }

  close(): Promise<void> {
    this.closing ??= this.shutDown();
    return this.closing;
  }

  private async shutDown(): Promise<void> {
    for (const w of this.queue.splice(0)) this.unqueue(w).reject(new RuntimeClosedError(this.spec.name));
    for (const slot of [...this.slots]) if (slot.state !== 'busy') this.end(slot, false);
    if (this.busy > 0) await new Promise<void>((resolve) => (this.drained = resolve));
    // A thread stuck in native code (a read that never returns) ignores terminate(): don't wait for it forever.
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all(this.exits), new Promise((resolve) => (timer = setTimeout(resolve, EXIT_WAIT_MS)))]);
    clearTimeout(timer);
    this.options.closed?.();
  }

  private spawn(): Slot {
    const init: WorkerInit = { name: this.spec.name, file: this.spec.file, exportName: this.spec.exportName, memoryMB: this.spec.memoryMB, arn: this.spec.arn, logStreamName: logStreamName(), memory: this.options.memory, environment: this.spec.environment };
    const slot = new Slot(this.generation, init);
    this.slots.add(slot);
    this.starting++;
    slot.handle = this.options.spawn(this.spec, {
      message: (m) => this.onMessage(slot, m),
      output: (level, text) => this.onOutput(slot, level, text),
      exit: (info) => this.onExit(slot, info),
    });
    slot.handle.send({ t: 'init', init });
    slot.initTimer = setTimeout(() => this.initFailed(slot, initTimeoutError(INIT_TIMEOUT_MS)), INIT_TIMEOUT_MS);
    return slot;
  }

  /** Starts workers for the waiters no starting worker will serve, within `concurrency`. */
  private grow(): void {
    while (this.queue.length > this.starting && this.slots.size < this.spec.concurrency) this.spawn();
  }

  private onMessage(slot: Slot, m: WorkerMessage): void {
    if (slot.state === 'dead') return;
    switch (m[0]) {
      case W.Log:
        return this.addLog(slot, logLineOf(m[1], m[2], m[3]));
      case W.Done:
        return this.done(slot, m[1] === 1 ? { ok: true, result: m[2] as string } : { ok: false, kind: 'Unhandled', error: m[2] as FunctionError }, m[3], m[4], m[5] === 1);
      case W.Ready:
        return this.ready(slot);
      case W.InitFailed:
        return this.initFailed(slot, m[1]);
      case W.Retire:
        return this.retired(slot);
    }
  }

  /** The worker failed between invocations; one handed to it meanwhile never started there: it goes first in line. */
  private retired(slot: Slot): void {
    this.orphans = this.orphans.concat(slot.pending);
    const run = this.finish(slot);
    this.end(slot, true);
    if (run) {
      if (run.coldStart) this.coldStarts--;
      this.orphans = this.orphans.concat(run.logs);
      if (this.closing) run.waiter.reject(new RuntimeClosedError(this.spec.name));
      else this.queue.unshift(run.waiter);
      this.afterRun();
    }
  }

  private addLog(slot: Slot, line: LogLine): void {
    (slot.running ? slot.running.logs : slot.pending).push(line);
  }

  private onOutput(slot: Slot, level: LevelCode, text: string): void {
    if (slot.outputBudget <= 0) return;
    const time = Date.now();
    const lines = text.split('\n');
    if (lines[lines.length - 1] === '') lines.pop();
    for (let line of lines) {
      if (slot.outputBudget <= 0) break;
      slot.outputBudget -= Buffer.byteLength(line);
      if (slot.outputBudget < 0) line = `[Sluice] log output cut here: more than ${LOG_LIMIT_BYTES / 1024} KB written`;
      if (slot.state === 'dead') this.orphans.push(logLineOf(level, time, line));
      else this.addLog(slot, logLineOf(level, time, line));
    }
  }

  private ready(slot: Slot): void {
    clearTimeout(slot.initTimer);
    this.starting--;
    slot.readyAt = performance.now();
    slot.state = 'idle';
    slot.settleReady();
    if (slot.generation !== this.generation || this.closing) return this.end(slot, false);
    this.release(slot);
  }

  private initFailed(slot: Slot, error: FunctionError): void {
    if (slot.state !== 'starting') return;
    const logs = slot.pending;
    slot.settleReady(new FunctionInitError(this.spec.name, this.spec.file, error, logs));
    this.end(slot, false);
    // Each invocation that finds no worker tries a fresh one, as Lambda retries init on the next.
    const waiter = slot.generation === this.generation ? this.queue.shift() : undefined;
    if (waiter) {
      const initDurationMs = performance.now() - slot.spawnedAt;
      this.coldStarts++;
      this.unqueue(waiter).resolve({ ok: false, kind: 'InitError', error, durationMs: initDurationMs, maxMemoryMB: 0, coldStart: true, initDurationMs, logs: this.takeOrphans(logs) });
    }
    this.grow();
  }

  /** A free worker takes the next waiter, or waits for one. */
  private release(slot: Slot): void {
    const next = this.queue.shift();
    if (next) this.dispatch(slot, this.unqueue(next));
    else this.idle.push(slot);
  }

  private dispatch(slot: Slot, waiter: Waiter): void {
    slot.state = 'busy';
    this.busy++;
    const coldStart = slot.invocations === 0 && waiter.enqueuedAt < slot.readyAt;
    if (coldStart) this.coldStarts++;
    const logs = this.takeOrphans(slot.pending.length ? slot.pending : []);
    if (slot.pending.length) slot.pending = [];
    const { requestId, payload, clientContext, identity } = waiter.req;
    slot.outputBudget = LOG_LIMIT_BYTES;
    slot.running = {
      waiter,
      start: performance.now(),
      timer: setTimeout(() => this.timedOut(slot), this.spec.timeoutMs),
      logs,
      coldStart,
      initDurationMs: coldStart ? slot.readyAt - slot.spawnedAt : undefined,
    };
    slot.handle.send([requestId, payload, Date.now() + this.spec.timeoutMs, clientContext, identity]);
  }

  private done(slot: Slot, result: { ok: true; result: string } | { ok: false; kind: 'Unhandled'; error: FunctionError }, durationMs: number, maxMemoryMB: number, retire: boolean): void {
    const run = this.finish(slot);
    if (!run) return;
    slot.maxMemoryMB = maxMemoryMB;
    if (retire) this.end(slot, true);
    else if (slot.generation !== this.generation || this.closing) this.end(slot, false);
    else this.release(slot);
    run.waiter.resolve(this.outcome(run, result, durationMs, maxMemoryMB));
    this.afterRun();
  }

  private timedOut(slot: Slot): void {
    const run = this.finish(slot);
    if (!run) return;
    this.end(slot, true);
    run.waiter.resolve(this.outcome(run, { ok: false, kind: 'Timeout', error: timeoutError(this.spec.timeoutMs) }, performance.now() - run.start, slot.maxMemoryMB));
    this.afterRun();
  }

  private onExit(slot: Slot, info: ExitInfo): void {
    if (slot.state === 'dead') return;
    if (slot.state === 'starting') {
      return this.initFailed(slot, info.outOfMemory ? outOfMemoryError() : info.error !== undefined ? toFunctionError(info.error) : exitError(info.code, info.signal));
    }
    const run = this.finish(slot);
    this.orphans = this.orphans.concat(slot.pending);
    this.end(slot, true);
    if (run) {
      const failure = info.outOfMemory ? { ok: false as const, kind: 'OutOfMemory' as const, error: outOfMemoryError() } : { ok: false as const, kind: 'Unhandled' as const, error: exitError(info.code, info.signal) };
      run.waiter.resolve(this.outcome(run, failure, performance.now() - run.start, info.outOfMemory ? this.spec.memoryMB : slot.maxMemoryMB));
      this.afterRun();
    }
  }

  /** Detaches the running invocation from its worker (once: a late Done after a timeout is ignored). */
  private finish(slot: Slot): Running | undefined {
    const run = slot.running;
    if (!run) return undefined;
    clearTimeout(run.timer);
    slot.running = undefined;
    slot.outputBudget = LOG_LIMIT_BYTES;
    slot.invocations++;
    slot.state = 'idle';
    this.busy--;
    return run;
  }

  private afterRun(): void {
    if (this.drained && this.busy === 0) this.drained();
    else this.grow();
  }

  private outcome(run: Running, r: { ok: true; result: string } | { ok: false; kind: 'Unhandled' | 'Timeout' | 'OutOfMemory'; error: FunctionError }, durationMs: number, maxMemoryMB: number): InvokeOutcome {
    const common = { durationMs, maxMemoryMB, coldStart: run.coldStart, logs: run.logs };
    const o: InvokeOutcome = r.ok ? { ok: true, result: r.result, ...common } : { ok: false, kind: r.kind, error: r.error, ...common };
    if (run.initDurationMs !== undefined) o.initDurationMs = run.initDurationMs;
    return o;
  }

  /** Ends a worker: `replaced` when it could no longer be trusted (timeout, memory, crash). */
  private end(slot: Slot, replaced: boolean): void {
    if (slot.state === 'dead') return;
    if (slot.state === 'starting') {
      clearTimeout(slot.initTimer);
      this.starting--;
      slot.settleReady(new RuntimeClosedError(this.spec.name));
    }
    if (slot.state === 'idle') {
      const at = this.idle.indexOf(slot);
      if (at >= 0) this.idle.splice(at, 1);
    }
    slot.state = 'dead';
    this.slots.delete(slot);
    if (replaced) this.replaced++;
    slot.handle.kill();
    const exited = slot.handle.exited.finally(() => this.exits.delete(exited));
    this.exits.add(exited);
  }

  private takeOrphans(logs: LogLine[]): LogLine[] {
    if (this.orphans.length === 0) return logs;
    const all = this.orphans.concat(logs);
    this.orphans = [];
    return all;
  }

  private unqueue(w: Waiter): Waiter {
    if (w.onAbort) w.signal!.removeEventListener('abort', w.onAbort);
    return w;
  }
}

// Runs a pipeline on an engine as units of work (decision 005): sets up its internal streams and
// lease, then steps units in a loop — in this thread, or spread over worker threads, each with its
// own engine connection. Units are assigned to workers by a fixed order, so any worker count
// resumes the same committed state (key groups are fixed for a pipeline's life).
import { SluiceError } from '../../errors.js';
import { Worker } from 'node:worker_threads';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { systemClock, type Clock } from '../../clock.js';
import type { Engine, StreamOptions } from '../../engine/engine.js';
import { ConflictError, StreamExistsError } from '../../engine/errors.js';
import type { EngineConfig } from '../../engine/open.js';
import type { Pipeline } from '../dsl.js';
import { SqliteEngine } from '../../engine/sqlite/index.js';
import { errorSinkOf, lateSinkOf } from '../executor.js';
import { DEFAULT_KEY_GROUPS, Layout, leaseKey, metaKey, shuffleStream, tableStream, type UnitSpec } from './layout.js';
import { checkSinkPolicies, SinkSet } from '../../connectors/sinks.js';
import type { Dependencies, DependencyStats } from '../../resilience/index.js';
import { fullJitterBound } from '../../resilience/backoff.js';
import { SinkUnit } from './sink-unit.js';
import { SpillFile } from './spill.js';
import { KeyedUnit } from './keyed-unit.js';
import { SourceUnit } from './source-unit.js';
import type { Unit, UnitContext, UnitStats } from './units.js';
import { decode, encode } from './wire.js';
import type { Histogram } from 'prom-client';
import { Metrics } from '../../observe/metrics.js';

/** Duplicate window of a pipeline's internal streams (decision 006). */
const INTERNAL_DEDUP_WINDOW_MS = 60 * 60 * 1000;
/** Segment size of internal streams on sqlite: trimming frees disk a segment at a time. */
const INTERNAL_SEGMENT_BYTES = 1024 * 1024;

export interface RunOptions {
  /** Key groups of a new pipeline (fixed once it has run). Default 16. */
  keyGroups?: number;
  /** SQLite file of table sinks. Default '.sluice/tables.db'. */
  tablesPath?: string;
  /** Records read per batch. Default DEFAULT_BATCH (1024). */
  batch?: number;
  /** An epoch takes more batches while there are more, for up to this long; 0: one batch. Default 100 ms. */
  epochMs?: number;
  /**
   * Watermark alignment: a source partition more than this far ahead (event time) of the slowest
   * source partition feeding the same keyed steps waits for it; 0: never waits. Default: 1 minute,
   * or twice the longest source idleTimeout if that is more (a quiet partition turns idle first).
   */
  maxDrift?: number;
  /**
   * Values of a keyed step's state kept in memory per key group; the rest spill to a temporary
   * file and come back when their key is used (keys and due times stay in memory). Default 100,000.
   */
  stateKeysInMemory?: number;
  /** Keyed and table units delete their internal input streams below what they committed. Default true (false keeps them, to look at). */
  trimInternalStreams?: boolean;
  /** Told each committed epoch's commit time, in seconds (in this thread; a run collects its workers'). */
  onCommit?: (seconds: number) => void;
  /** Where a run records its commit times (histogram `sluice_pipeline_commit_duration_seconds`). Default: a registry of its own. */
  metrics?: Metrics;
  /** Pause when no unit had work. Default 20 ms. */
  idlePollMs?: number;
  /** Worker threads; 0 runs every unit in this thread. Default 0. */
  workers?: number;
  /** For workers: the module that exports the pipeline, and the engine to open in each. */
  module?: string;
  engineConfig?: EngineConfig;
  /** Where source units start when the pipeline has no state yet. Default 'earliest'. */
  from?: 'earliest' | 'latest' | { timestamp: number };
  clock?: Clock;
  /**
   * The resilience dependencies of the run's sinks (PostgreSQL, webhooks), in this thread; worker
   * threads make their own. Default: the run's own, on the system clock (the sinks' calls are real I/O).
   */
  dependencies?: Dependencies;
  /** What the pipeline's units have to say: failing (warn, once per spell) and recovering (info), input gone, trims that failed. */
  log?: (line: string, level?: 'info' | 'warn') => void;
}

/** What a run decided at start; plain data, so worker threads receive it as it is. */
export interface Prepared {
  keyGroups: number;
  lease: { key: string; version: number };
  /** Partitions of each source stream. */
  partitions: Record<string, number>;
  units: UnitSpec[];
  /** Table rows of windows starting before this are left as they are (set by a replay from a time). */
  floor?: number;
}

/** Creates missing streams, fixes the key-group count, and takes the lease (fencing any older run). */
export async function prepare(engine: Engine, p: Pipeline, o: RunOptions = {}): Promise<Prepared> {
  const meta = await engine.getState(metaKey(p.name));
  let keyGroups = o.keyGroups ?? DEFAULT_KEY_GROUPS;
  let floor: number | undefined;
  if (meta) ({ keyGroups, floor } = decode(meta.value) as { keyGroups: number; floor?: number });
  else await engine.commit({ state: [{ key: metaKey(p.name), value: encode({ keyGroups }), expectedVersion: 0 }] });
  const layout = new Layout(p, keyGroups);
  const ensure = async (name: string, options?: StreamOptions) => {
    try {
      await engine.createStream(name, options);
    } catch (e) {
      if (!(e instanceof StreamExistsError)) throw e;
    }
  };
  for (const s of [...layout.streams, ...layout.sinkStreams, lateSinkOf(p.name), errorSinkOf(p.name)]) await ensure(s);
  // A redone epoch's outputs are dropped as repeats within the stream's duplicate window (nats), so
  // internal streams keep a long one: a run that crashed may restart up to an hour later.
  // Internal streams are trimmed by their one reader once it committed past them (units.ts trimInput).
  const internal = { dedupWindowMs: INTERNAL_DEDUP_WINDOW_MS, segmentBytes: INTERNAL_SEGMENT_BYTES };
  for (const n of layout.keyed) await ensure(shuffleStream(p.name, n.id), { partitions: keyGroups, ...internal });
  for (const t of layout.tables) await ensure(tableStream(p.name, t), { partitions: 1, ...internal });
  const partitions: Record<string, number> = {};
  for (const s of layout.streams) partitions[s] = (await engine.describeStream(s)).partitions;
  const current = await engine.getState(leaseKey(p.name));
  const { versions } = await engine.commit({ state: [{ key: leaseKey(p.name), value: encode({ at: Date.now(), pid: process.pid }), expectedVersion: current?.version ?? 0 }] });
  const units: UnitSpec[] = [
    ...layout.streams.flatMap((stream) => Array.from({ length: partitions[stream]! }, (_, partition) => ({ kind: 'source' as const, stream, partition }))),
    ...layout.keyed.flatMap((n) => Array.from({ length: keyGroups }, (_, group) => ({ kind: 'keyed' as const, node: n.id, group }))),
    ...layout.tables.map((table) => ({ kind: 'table' as const, table })),
  ];
  return { keyGroups, lease: { key: leaseKey(p.name), version: versions[0]! }, partitions, units, floor };
}

/**
 * Records a unit reads per batch. Smaller batches leave less alive when the young-generation
 * collector runs (a batch's records, views and parsed values live until it is sealed). Measured
 * (q8, 1M events, 2 workers, events/s): 4096 → 400k, 2048 → 450k, 1024 → 465k, 512 → 450k,
 * 256 → 420k; q1 and q5 no slower at 1024.
 */
export const DEFAULT_BATCH = 1024;
export const DEFAULT_MAX_DRIFT_MS = 60_000;
export const DEFAULT_STATE_KEYS_IN_MEMORY = 100_000;

/** One minute, or twice the longest idleTimeout of the pipeline's sources: a quiet partition goes idle (and stops holding others back) before anyone waits for it. */
function defaultMaxDrift(p: Pipeline): number {
  const idle = p.nodes.map((n) => (n.kind === 'source' && n.watermark ? n.idleTimeout : 0));
  return Math.max(DEFAULT_MAX_DRIFT_MS, 2 * Math.max(0, ...idle));
}

/** Builds and opens the given units and steps them until stopped. */
export async function startUnits(engine: Engine, p: Pipeline, prepared: Prepared, specs: UnitSpec[], o: RunOptions, sinks?: SinkSet): Promise<UnitLoop> {
  const layout = new Layout(p, prepared.keyGroups);
  let spill: SpillFile | undefined;
  const stopping = new AbortController();
  const ctx: UnitContext = {
    engine, layout, clock: o.clock ?? systemClock, lease: prepared.lease, batch: o.batch ?? DEFAULT_BATCH, epochMs: o.epochMs ?? 100,
    maxDrift: o.maxDrift ?? defaultMaxDrift(p),
    spill: () => (spill ??= new SpillFile()), // opened when a keyed unit first needs it
    stateKeysInMemory: o.stateKeysInMemory ?? DEFAULT_STATE_KEYS_IN_MEMORY,
    trimInternal: o.trimInternalStreams ?? true,
    onCommit: o.onCommit,
    log: o.log,
    signal: stopping.signal,
  };
  const open = async (spec: UnitSpec): Promise<Unit> => {
    let unit: Unit;
    let start: () => Promise<number>;
    switch (spec.kind) {
      case 'source':
        unit = new SourceUnit(spec.stream, spec.partition, prepared.partitions, ctx);
        start = () => engine.resolve(spec.stream, spec.partition, o.from ?? 'earliest');
        break;
      case 'keyed':
        unit = new KeyedUnit(layout.keyed.find((n) => n.id === spec.node)!, spec.group, prepared.partitions, ctx);
        start = () => engine.resolve(shuffleStream(p.name, spec.node), spec.group, 'earliest');
        break;
      case 'table':
        unit = new SinkUnit(spec.table, sinks!.get(spec.table, layout.sinkSpecs.get(spec.table)!), ctx, prepared.floor);
        start = () => engine.resolve(tableStream(p.name, spec.table), 0, 'earliest');
        break;
    }
    await unit.open(start);
    return unit;
  };
  const units: Unit[] = [];
  for (const spec of specs) units.push(await open(spec));
  const loop = new UnitLoop(units, o, (i) => open(specs[i]!), stopping);
  void loop.done.finally(() => spill?.close()).catch(() => {});
  return loop;
}

/**
 * The pause before a failing unit tries again (the others carry on), by processing time: the
 * resilience library's exponential bound (500 ms, doubling with each failure in a row, at most
 * 5 s) with equal jitter, half of it fixed and half random, so units that failed together (an
 * engine outage) come back spread out, none of them at once.
 */
export function retryPauseMs(failures: number, random: () => number = Math.random): number {
  const bound = fullJitterBound(500, 5_000, Math.max(0, failures - 1));
  return bound / 2 + random() * (bound / 2);
}

/** A rebuilt unit goes on counting where the failed one was. */
function carryStats(fresh: UnitStats, old: UnitStats): void {
  const { emitted, lateAt } = fresh; // the new executor's counts (all 0 so far)
  Object.assign(fresh, old);
  old.emitted.forEach((n, node) => (emitted[node] = (emitted[node] ?? 0) + n));
  old.lateAt.forEach((n, node) => (lateAt[node] = (lateAt[node] ?? 0) + n));
  Object.assign(fresh, { emitted, lateAt });
}

/** Steps units until stopped. Resolves when stopped; rejects when the lease is lost. */
export class UnitLoop {
  private stopped = false;
  private idleRounds = 0;
  private wake?: () => void;
  /** Units whose epoch failed: rebuilt before their next step. */
  private readonly stale = new Set<number>();
  /** Failed epochs in a row, per unit failing now, and when (performance.now()) each may try again. */
  private readonly failures = new Map<number, number>();
  private readonly retryAt = new Map<number, number>();
  readonly done: Promise<void>;

  /** Called when the loop turns idle or busy (a worker reports it at once, not at its next stats tick). */
  onIdleChange?: (idle: boolean) => void;

  /** `reopen(i)` builds unit i afresh from its committed state. */
  /** `stopping` is aborted by stop(): units' external calls give up (their work is redone next run). */
  constructor(readonly units: Unit[], private readonly o: RunOptions, private readonly reopen: (i: number) => Promise<Unit>, private readonly stopping?: AbortController) {
    this.done = this.run();
  }

  /** True after a full round in which no unit had anything to do. */
  get idle(): boolean {
    return this.idleRounds > 0;
  }

  /** Rounds completed (every unit stepped once): a round that ends after a moment began after it when this grew by two. */
  rounds = 0;

  stop(): Promise<void> {
    this.stopped = true;
    this.stopping?.abort();
    this.wake?.();
    return this.done.catch(() => {});
  }

  private async run(): Promise<void> {
    const poll = this.o.idlePollMs ?? 20;
    while (!this.stopped) {
      let progressed = false;
      let waiting = false;
      for (let i = 0; i < this.units.length && !this.stopped; i++) {
        if ((this.retryAt.get(i) ?? 0) > performance.now()) {
          waiting = true; // a failing unit waits out its pause; the others go on (and the loop is not idle)
          continue;
        }
        try {
          if (this.stale.has(i)) {
            const fresh = await this.reopen(i);
            carryStats(fresh.stats, this.units[i]!.stats);
            this.units[i] = fresh;
            this.stale.delete(i);
          }
          const unit = this.units[i]!;
          if (await unit.step()) progressed = true;
          if (unit.stats.lastError !== null) {
            this.o.log?.(`unit ${unit.id}: recovered after ${this.failures.get(i)} failed epoch${this.failures.get(i) === 1 ? '' : 's'}`, 'info');
            unit.stats.lastError = null;
            this.failures.delete(i);
          }
          await new Promise((r) => setImmediate(r)); // let timers and I/O in between epochs (the sqlite engine's calls are synchronous)
        } catch (e) {
          const unit = this.units[i]!;
          if (e instanceof ConflictError) throw new LeaseLostError(`pipeline '${unit.pipeline}' (unit ${unit.id}): another run of this pipeline took over (${e.message}); stopping`);
          if (this.stopped) break; // an external call given up at stop: not a failure
          const failures = (this.failures.get(i) ?? 0) + 1;
          this.failures.set(i, failures);
          // Logged when it starts failing (and when it recovers), not at every attempt; the count is in the metrics.
          if (failures === 1) this.o.log?.(`unit ${unit.id}: ${(e as Error).message}; retrying from its last commit`);
          unit.stats.failures++;
          unit.stats.lastError = (e as Error).message;
          // The failed epoch changed the unit in memory: it is rebuilt from its committed state.
          this.stale.add(i);
          this.retryAt.set(i, performance.now() + retryPauseMs(failures));
        }
      }
      const wasIdle = this.idle;
      this.idleRounds = progressed || waiting ? 0 : this.idleRounds + 1;
      this.rounds++;
      if (this.idle !== wasIdle) this.onIdleChange?.(this.idle);
      if (!progressed && !this.stopped) await new Promise<void>((r) => ((this.wake = r), setTimeout(r, poll)));
    }
  }
}

/** What a worker thread is started with. */
export interface WorkerData {
  module: string;
  pipeline: string;
  engineConfig: EngineConfig;
  prepared: Prepared;
  units: UnitSpec[];
  options: RunOptions;
}

/** What a worker thread reports. */
export interface WorkerMessage {
  /** Its units are open (state loaded): it is processing. */
  ready?: boolean;
  stats?: UnitStats[];
  /** Commit times (seconds) since the last report. */
  commits?: number[];
  /** The counters of the worker's sinks' dependencies (PostgreSQL, webhooks). */
  dependencies?: DependencyStats[];
  idle?: boolean;
  log?: string;
  level?: 'info' | 'warn';
}

/** Commit times a run keeps for its percentiles (the histogram has them all). */
const RECENT_COMMITS = 1024;

/** This run's commits are fenced out: another process runs the pipeline now. */
export class LeaseLostError extends SluiceError {
  readonly code = 'LeaseLost';
}

/** A running pipeline: units in this thread, or in worker threads. */
export class PipelineRun {
  /** Worker threads' latest counters and which of them had a round without work. */
  private readonly stats = new Map<string, UnitStats>();
  private commitHistogram?: Histogram<'pipeline'>;
  private readonly recentCommits: number[] = [];
  private commitCount = 0;
  private ended: { error?: string } | undefined;
  private readonly idleWorkers = new Set<number>();
  private readonly workers: Worker[] = [];
  private loop?: UnitLoop;
  private sinks?: SinkSet;
  /** Worker threads' latest dependency counters, by worker. */
  private readonly workerDependencies = new Map<number, DependencyStats[]>();
  /** On sqlite, the workers' connections take turns to commit with the engine the run was given (sqlite/write-lock.ts). */
  private writeLock?: SharedArrayBuffer;
  done: Promise<void> = Promise.resolve();
  /** Resolves once every unit is open (worker threads started, state loaded). */
  ready: Promise<void> = Promise.resolve();

  private constructor(readonly pipeline: Pipeline, readonly prepared: Prepared) {}

  static async start(engine: Engine, p: Pipeline, o: RunOptions = {}): Promise<PipelineRun> {
    checkSinkPolicies(new Layout(p, 1).sinkSpecs);
    const run = new PipelineRun(p, await prepare(engine, p, o));
    run.commitHistogram = (o.metrics ?? new Metrics()).histogram('sluice_pipeline_commit_duration_seconds', 'Time an epoch\'s commit (outputs, state, offsets) took', ['pipeline']);
    const onCommit = o.onCommit;
    o = { ...o, onCommit: (s) => (run.recordCommit(s), onCommit?.(s)) };
    run.workerCount = o.workers ?? 0;
    run.writeLock = engine instanceof SqliteEngine ? engine.writeLockBuffer : new SharedArrayBuffer(4);
    const n = o.workers ?? 0;
    if (n <= 0) {
      run.sinks = run.prepared.units.some((u) => u.kind === 'table') ? new SinkSet({ tablesPath: o.tablesPath, log: o.log, dependencies: o.dependencies }) : undefined;
      run.loop = await startUnits(engine, p, run.prepared, run.prepared.units, o, run.sinks);
      run.done = run.loop.done;
    } else {
      if (!o.module || !o.engineConfig) throw new Error('worker threads need the pipeline module and the engine configuration');
      const ready: Promise<void>[] = [];
      run.done = Promise.all(Array.from({ length: n }, (_, w) => run.spawn(w, n, o, ready))).then(() => {});
      run.ready = Promise.race([Promise.all(ready).then(() => {}), run.done]);
    }
    run.done.then(() => (run.ended = {}), (e: Error) => (run.ended = { error: e.message }));
    return run;
  }

  /** Worker threads the run's units are spread over (0: this thread). */
  workerCount = 0;

  private recordCommit(seconds: number): void {
    this.commitHistogram?.observe({ pipeline: this.pipeline.name }, seconds);
    this.commitCount++;
    this.recentCommits.push(seconds);
    if (this.recentCommits.length > RECENT_COMMITS) this.recentCommits.shift();
  }

  /** Commits so far, and the 50th and 99th percentile of the last RECENT_COMMITS. */
  commitStats(): { count: number; p50Ms: number | null; p99Ms: number | null } {
    const sorted = [...this.recentCommits].sort((a, b) => a - b);
    const at = (q: number) => (sorted.length ? Math.round(sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]! * 1e6) / 1e3 : null);
    return { count: this.commitCount, p50Ms: at(0.5), p99Ms: at(0.99) };
  }

  /** `ok`; `failing` while a unit's epochs fail (with the last failure); `stopped` once the run ended. */
  health(): { health: 'ok' | 'failing' | 'stopped'; lastError: string | null } {
    if (this.ended) return { health: 'stopped', lastError: this.ended.error ?? null };
    const failing = this.unitStats().find((s) => s.lastError !== null);
    return failing ? { health: 'failing', lastError: `unit ${failing.unit}: ${failing.lastError}` } : { health: 'ok', lastError: null };
  }

  /** Starts worker `w` of `n` on its share of the units; resolves when it exits cleanly. */
  private spawn(w: number, n: number, o: RunOptions, ready: Promise<void>[]): Promise<void> {
    const data: WorkerData = {
      module: o.module!,
      pipeline: this.pipeline.name,
      engineConfig: o.engineConfig!.kind === 'sqlite' ? { ...o.engineConfig!, writeLock: this.writeLock } : o.engineConfig!,
      prepared: this.prepared,
      units: this.prepared.units.filter((_, i) => i % n === w),
      options: { tablesPath: o.tablesPath, batch: o.batch, epochMs: o.epochMs, maxDrift: o.maxDrift, stateKeysInMemory: o.stateKeysInMemory, trimInternalStreams: o.trimInternalStreams, idlePollMs: o.idlePollMs, from: o.from },
    };
    const [entry, evalOption] = workerEntry();
    const worker = new Worker(entry, { ...evalOption, workerData: data });
    this.workers.push(worker);
    ready.push(new Promise((resolve) => worker.on('message', (m: WorkerMessage) => m.ready && resolve())));
    worker.on('message', (m: WorkerMessage) => {
      for (const s of m.stats ?? []) this.stats.set(s.unit, s);
      for (const c of m.commits ?? []) this.recordCommit(c);
      if (m.dependencies) this.workerDependencies.set(w, m.dependencies);
      if (m.idle) this.idleWorkers.add(w);
      else if (m.idle === false) this.idleWorkers.delete(w);
      if (m.log) o.log?.(m.log, m.level);
    });
    return new Promise((resolve, reject) => {
      worker.on('error', reject);
      worker.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`pipeline worker ${w} exited with code ${code}`))));
    });
  }

  /** Per-unit counters (records, epochs, late). */
  unitStats(): UnitStats[] {
    if (this.loop) return this.loop.units.map((u) => ({ ...u.stats }));
    return [...this.stats.values()];
  }

  /** The counters of the run's sink dependencies (PostgreSQL, webhooks), one entry per dependency and thread. */
  dependencyStats(): DependencyStats[] {
    if (this.sinks) return this.sinks.dependencyStats();
    return [...this.workerDependencies.values()].flat();
  }

  /** Rounds the units of this thread completed (0 with worker threads). */
  get rounds(): number {
    return this.loop?.rounds ?? 0;
  }

  /** True after a round in which no unit had work (every worker). */
  get idle(): boolean {
    return this.loop ? this.loop.idle : this.idleWorkers.size === this.workers.length;
  }

  async stop(): Promise<void> {
    if (this.loop) await this.loop.stop();
    for (const w of this.workers) w.postMessage('stop');
    await this.done.catch(() => {});
    await this.sinks?.close();
  }
}

/** The worker script: built JavaScript, or (running from TypeScript sources) worker.ts through tsx. */
function workerEntry(): [URL] | [string, { eval: true }] {
  const js = new URL('./worker.js', import.meta.url);
  if (existsSync(fileURLToPath(js))) return [js];
  const ts = new URL('./worker.ts', import.meta.url).href;
  const api = import.meta.resolve('tsx/esm/api');
  return [`import(${JSON.stringify(api)}).then((t) => t.tsImport(${JSON.stringify(ts)}, ${JSON.stringify(ts)}))`, { eval: true }];
}

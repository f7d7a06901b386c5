// Units of work of a running pipeline. Each unit owns one input partition and one state key; one
// step = one epoch: read a batch, process it, and commit outputs, state and input offset together
// (engine `commit`, fenced by the pipeline's lease). A restart resumes from the last commit.
// The kinds: SourceUnit (source-unit.ts), KeyedUnit (keyed-unit.ts), SinkUnit (sink-unit.ts).
import type { Clock } from '../../clock.js';
import type { CommitUnit, Engine, StateWrite, StoredRecord } from '../../engine/engine.js';
import { intentKey, stateKey, type Layout } from './layout.js';
import type { SpillFile } from './spill.js';
import { decode, encode } from './wire.js';

export interface UnitContext {
  engine: Engine;
  layout: Layout;
  clock: Clock;
  /** The lease this run holds: every commit is fenced on it. */
  lease: { key: string; version: number };
  /** Records read per batch. */
  batch: number;
  /** A unit keeps reading batches into one epoch while there are more, for up to this long (ms). */
  epochMs: number;
  /** How far (event time, ms) a source unit may run ahead of the slowest source feeding the same keyed steps; 0: no limit. */
  maxDrift: number;
  /** Where keyed state values go past `stateKeysInMemory` per operator of a unit (decision 010). */
  spill: () => SpillFile;
  stateKeysInMemory: number;
  /** Whether keyed and table units trim their internal input streams (default true; false keeps them to look at). */
  trimInternal: boolean;
  /** Told how long each committed epoch's commit took, in seconds. */
  onCommit?: (seconds: number) => void;
  log?: (line: string, level?: 'info' | 'warn') => void;
  /** Aborted when the run stops: a sink unit gives up its external call (the batch is written again next run). */
  signal?: AbortSignal;
}

export interface UnitStats {
  unit: string;
  /** Input records processed (shuffle records count one each: a partial stands for many). */
  records: number;
  epochs: number;
  late: number;
  clampedFuture: number;
  /** Steps a source unit sat out because it was maxDrift ahead of a peer (watermark alignment). */
  paused: number;
  /** Keyed units: keys held in state, how many of their values are in memory (the rest spilled to disk), and values spilled so far. */
  stateKeys: number;
  inMemory: number;
  spilled: number;
  /** Records sent to '<pipeline>-errors'. */
  errors: number;
  /** Epochs that failed and were redone from the last commit. */
  failures: number;
  /** The unit's watermark (event time, ms), or null before it has one. */
  watermark: number | null;
  /** Records each plan node emitted in this unit, by node id (the dashboard's edge rates). */
  emitted: number[];
  /** Records too late for each keyed plan node, by node id: a source unit judges its records against each step they reach (decision 015). */
  lateAt: number[];
  /** Source units: the next offset of their partition to read, and how many records are left to read. */
  offset?: number;
  lagRecords?: number;
  /** While its epochs fail: the last failure's message (null when its last epoch committed). */
  lastError: string | null;
}

/**
 * An epoch as it was read, written ahead of its outputs when the engine's commit is not atomic
 * (decision 006): a retry after a crash between the outputs and the state redoes exactly this
 * epoch — same input range, same batches, same clock — so its outputs get the same message ids.
 */
interface Intent {
  epoch: number;
  from: number;
  to: number;
  now: number;
  batch: number;
}

/**
 * A keyed or table unit trims its internal input stream below its committed offset every this many
 * epochs: it is the partition's only reader, and replays recompute from the sources.
 */
export const TRIM_EVERY_EPOCHS = 16;

export abstract class Unit {
  readonly stats: UnitStats;
  protected offset = 0;
  /** The clock reading of the current epoch (the interrupted epoch's when redoing it). */
  protected now = 0;
  /** Version of the unit's state key: one write per committed epoch, so it also numbers epochs. */
  protected version = 0;
  /** Stream records per read (a keyed unit's are messages of many records: decision 008). */
  protected readMax: number;
  private redo?: Intent;

  constructor(readonly id: string, protected readonly ctx: UnitContext) {
    this.stats = { unit: id, records: 0, epochs: 0, late: 0, clampedFuture: 0, paused: 0, stateKeys: 0, inMemory: 0, spilled: 0, errors: 0, failures: 0, watermark: null, emitted: [], lateAt: [], lastError: null };
    this.readMax = ctx.batch;
  }

  get pipeline(): string {
    return this.ctx.layout.p.name;
  }

  protected get key(): string {
    return stateKey(this.pipeline, this.id);
  }

  /** Loads the last committed state; `fresh` gives the start offset when there is none. */
  async open(fresh: () => Promise<number>): Promise<void> {
    const { engine, layout } = this.ctx;
    const entry = await engine.getState(this.key);
    if (entry) {
      this.version = entry.version;
      const s = decode(entry.value) as { offset: number };
      this.offset = s.offset;
      await this.restore(s);
    }
    const intent = engine.atomicCommit ? undefined : await engine.getState(intentKey(layout.p.name, this.id));
    const i = intent && (decode(intent.value) as Intent);
    if (i && i.epoch === this.version + 1) {
      this.redo = i;
      this.offset = i.from;
    } else if (!entry) this.offset = await fresh();
  }

  /** One epoch; false when there was nothing to do. */
  abstract step(): Promise<boolean>;

  protected abstract restore(state: unknown): void | Promise<void>;

  /** True while redoing an interrupted epoch (it must read exactly what that one read). */
  protected get redoing(): boolean {
    return this.redo !== undefined;
  }

  /** Starts an epoch: fixes its clock reading. */
  protected begin(): void {
    this.now = this.redo?.now ?? this.ctx.clock.now();
  }

  /**
   * Reads the epoch's next batch. The epoch goes on (`more`) while batches are full, for up to
   * epochMs; when redoing an interrupted epoch, exactly up to where that one ended.
   */
  protected async read(stream: string, partition: number, offset: number, started: number): Promise<{ records: StoredRecord[]; next: number; more: boolean }> {
    let redo = this.redo;
    const batch = redo?.batch ?? this.readMax;
    const { records, next } = await this.ctx.engine.read(stream, partition, offset, batch);
    if (redo && offset === redo.from && redo.from < redo.to && (records[0]?.offset ?? next) >= redo.to) {
      // Nothing of [from, to) is left: retention deleted the interrupted epoch's input while the
      // pipeline was down, so it cannot be redone. Its outputs (if published) stay; the unit goes on.
      this.ctx.log?.(`unit ${this.id}: the input of its interrupted epoch (offsets ${redo.from}-${redo.to}) is gone (retention); moving on from ${next}`);
      this.redo = redo = undefined;
    }
    if (!redo) return { records, next, more: records.length === batch && performance.now() - started < this.ctx.epochMs };
    const cut = records.findIndex((r) => r.offset >= redo.to);
    if (cut >= 0 || next >= redo.to) return { records: cut >= 0 ? records.slice(0, cut) : records, next: redo.to, more: false };
    return { records, next, more: records.length > 0 };
  }

  /**
   * Deletes this unit's internal input partition below its committed offset, now and then (Kafka
   * Streams purges its repartition topics the same way). A failure costs only disk: it is logged.
   */
  protected async trimInput(stream: string, partition: number): Promise<void> {
    if (!this.ctx.trimInternal || this.stats.epochs % TRIM_EVERY_EPOCHS !== 0) return;
    await this.ctx.engine.trim(stream, partition, this.offset).catch((e: Error) => this.ctx.log?.(`unit ${this.id}: could not trim ${stream} partition ${partition}: ${e.message}`));
  }

  /** Commits the epoch: outputs, the unit's state with its offset, and other state written before and after it. */
  protected async commit(outputs: NonNullable<CommitUnit['appends']>, state: object, from: number, writes: { before: StateWrite[]; after: StateWrite[] } = { before: [], after: [] }): Promise<void> {
    const { engine, layout, lease } = this.ctx;
    const epoch = this.version + 1;
    if (!engine.atomicCommit && outputs.length > 0 && !this.redo) {
      const intent: Intent = { epoch, from, to: this.offset, now: this.now, batch: this.readMax };
      await engine.commit({ state: [{ key: intentKey(layout.p.name, this.id), value: encode(intent) }], fences: [lease] });
    }
    const started = performance.now();
    const { versions } = await engine.commit({
      // Deterministic per input range: a redone epoch's outputs are dropped as repeats (nats).
      id: `${layout.p.name}/${this.id}/${from}-${this.offset}`,
      appends: outputs,
      state: [...writes.before, { key: this.key, value: encode({ ...state, offset: this.offset }), expectedVersion: this.version }, ...writes.after],
      fences: [lease],
    });
    this.version = versions[writes.before.length]!;
    this.redo = undefined;
    this.stats.epochs++;
    this.ctx.onCommit?.((performance.now() - started) / 1000);
  }
}

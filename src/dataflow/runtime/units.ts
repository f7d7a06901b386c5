// Units of work of a running pipeline. Each unit owns one input partition and one state key; one
// step = one epoch: read a batch, process it, and commit outputs, state and input offset together
// (engine `commit`, fenced by the pipeline's lease). A restart resumes from the last commit.
//   SourceUnit: a partition of a source stream → stateless steps → keyed shuffles, sinks.
//   KeyedUnit: a key group of a keyed node (its shuffle partition) → operator → downstream.
import type { Clock } from '../../clock.js';
import type { AppendRecord, Engine, StateWrite, StoredRecord } from '../../engine/engine.js';
import type { KeyedNode } from '../dsl.js';
import { Executor } from '../executor.js';
import { combineMarks, Watermarks, type Mark } from '../watermarks.js';
import type { WindowOperator } from '../window-operator.js';
import { intentKey, keyedUnit, shuffleStream, sourceUnit, stateKey, type Layout } from './layout.js';
import { Outbox } from './outbox.js';
import type { SpillFile } from './spill.js';
import { EMPTY_STORE, loadState, saveState, type StoreRef } from './state-store.js';
import { decode, encode, unpackShuffle, type ShuffleRecord } from './wire.js';

/** A keyed unit reads batch / this messages at a time (each holds up to MESSAGE_BYTES of records). */
const MESSAGES_PER_BATCH = 64;

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
    this.stats = { unit: id, records: 0, epochs: 0, late: 0, clampedFuture: 0, paused: 0, stateKeys: 0, inMemory: 0, spilled: 0 };
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
    const redo = this.redo;
    const batch = redo?.batch ?? this.readMax;
    const { records, next } = await this.ctx.engine.read(stream, partition, offset, batch);
    if (!redo) return { records, next, more: records.length === batch && performance.now() - started < this.ctx.epochMs };
    const cut = records.findIndex((r) => r.offset >= redo.to);
    if (cut >= 0 || next >= redo.to) return { records: cut >= 0 ? records.slice(0, cut) : records, next: redo.to, more: false };
    return { records, next, more: records.length > 0 };
  }

  /** Commits the epoch: outputs, the unit's state with its offset, and other state written before and after it. */
  protected async commit(outputs: { stream: string; records: AppendRecord[] }[], state: object, from: number, writes: { before: StateWrite[]; after: StateWrite[] } = { before: [], after: [] }): Promise<void> {
    const { engine, layout, lease } = this.ctx;
    const epoch = this.version + 1;
    if (!engine.atomicCommit && outputs.length > 0 && !this.redo) {
      const intent: Intent = { epoch, from, to: this.offset, now: this.now, batch: this.readMax };
      await engine.commit({ state: [{ key: intentKey(layout.p.name, this.id), value: encode(intent) }], fences: [lease] });
    }
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
  }
}

export class SourceUnit extends Unit {
  private readonly executor: Executor;
  private readonly marks: Watermarks;
  private readonly targets: number[];
  private readonly outbox: Outbox;
  private sent: { w: number | null; idle: boolean } = { w: null, idle: false };
  /** The watermark at the start of the epoch: at most what this unit sent downstream before. */
  private ownMark = -Infinity;
  /** State keys of the source units feeding the same keyed steps (watermark alignment). */
  private readonly peers: string[];
  /** The lowest watermark a peer was last seen sending (peers' watermarks only grow). */
  private peersMark = -Infinity;

  constructor(readonly stream: string, readonly partition: number, partitionsOf: Record<string, number>, ctx: UnitContext) {
    super(sourceUnit(stream, partition), ctx);
    const { layout } = ctx;
    this.peers = layout.alignedWith(stream).flatMap((s) => Array.from({ length: partitionsOf[s]! }, (_, p) => stateKey(layout.p.name, sourceUnit(s, p)))).filter((k) => k !== this.key);
    this.outbox = new Outbox(layout);
    this.executor = new Executor(layout.p, { runs: () => false, exit: (n, port, key, value, t, s) => this.outbox.record(n, port, key, value, t, s, this.ownMark) });
    this.marks = new Watermarks(this.executor.sources.filter((s) => s.stream === stream && s.watermark), ctx.clock.now());
    this.targets = layout.downstreamKeyed(layout.sourcesOf(stream));
  }

  protected restore(s: { marks: ReturnType<Watermarks['snapshot']>; sent: { w: number | null; idle: boolean } }): void {
    this.marks.restore(s.marks);
    this.sent = s.sent;
  }

  /** Whether a watermark is more than maxDrift ahead of the slowest peer last seen. */
  private beyond(w: number): boolean {
    return this.ctx.maxDrift > 0 && this.peers.length > 0 && Number.isFinite(w) && w > this.peersMark + this.ctx.maxDrift;
  }

  /**
   * Watermark alignment: whether this unit already sent a watermark maxDrift ahead of its slowest
   * peer (heard from, not idle, with input left to read), so reading on would only grow the state
   * keyed steps buffer.
   * Peers' state keys are read only once this unit is maxDrift past what it last saw (peers'
   * watermarks only grow); with no peer behind it, it looks again maxDrift further on.
   */
  private async ahead(): Promise<boolean> {
    const own = this.sent.w;
    if (own === null || !this.beyond(own)) return false;
    let min = Infinity;
    for (const key of this.peers) {
      const e = await this.ctx.engine.getState(key);
      const peer = e && (decode(e.value) as { sent?: { w: number | null; idle: boolean }; caughtUp?: boolean });
      if (peer?.sent && !peer.sent.idle && peer.sent.w !== null && !peer.caughtUp) min = Math.min(min, peer.sent.w);
    }
    this.peersMark = Math.min(min, own);
    return this.beyond(own);
  }

  async step(): Promise<boolean> {
    const { layout } = this.ctx;
    const from = this.offset;
    this.begin();
    const now = this.now;
    if (!this.redoing && (await this.ahead())) {
      this.stats.paused++;
      return false;
    }
    const started = performance.now();
    let { records, next, more } = await this.read(this.stream, this.partition, from, started);
    this.ownMark = this.marks.current(now);
    const any = records.length > 0;
    while (records.length > 0) {
      const before = this.executor.metrics.clampedFuture;
      const inputs = [];
      for (const r of records) {
        try {
          inputs.push({ value: decode(r.value), arrival: r.timestamp });
        } catch {
          this.executor.error(this.stream, new Error(`record at offset ${r.offset} of partition ${r.partition} is not JSON`), Buffer.from(r.value).toString('base64'));
        }
      }
      this.executor.ingest(this.stream, this.partition, inputs, now, this.marks);
      this.stats.clampedFuture += this.executor.metrics.clampedFuture - before;
      this.stats.records += records.length;
      this.outbox.outputs(this.executor.drain());
      this.outbox.seal();
      if (!more || (!this.redoing && Number.isFinite(this.peersMark) && this.beyond(this.marks.current(now)))) break;
      ({ records, next, more } = await this.read(this.stream, this.partition, next, started));
    }
    const w = this.marks.current(now);
    const idle = !any && this.marks.idle(now);
    const wire = Number.isFinite(w) ? w : null;
    const markerChanged = layout.watermarkStreams.has(this.stream) && (wire !== this.sent.w || idle !== this.sent.idle);
    if (markerChanged) {
      this.outbox.markers(this.targets, this.id, w, idle);
      this.sent = { w: wire, idle };
    }
    if (!any && !markerChanged) return false;
    this.offset = next;
    // Whether it read all there was: a peer that has nothing left to read never holds others back.
    const caughtUp = records.length < this.readMax;
    await this.commit(this.outbox.take(), { marks: this.marks.snapshot(), sent: this.sent, caughtUp }, from);
    return true;
  }
}

/** A keyed unit's own state key; its operators' state is in the segments `store` names. */
interface KeyedUnitState {
  watermark: number | null;
  /** Missing in states written whole, before decision 007. */
  store?: StoreRef;
  marks: [string, { w: number | null; idle: boolean }][];
  sent: number | null;
}

export class KeyedUnit extends Unit {
  private readonly executor: Executor;
  private readonly producers: string[];
  private readonly targets: number[];
  private marks = new Map<string, { w: number | null; idle: boolean }>();
  private readonly outbox: Outbox;
  /** The watermark this unit last sent downstream. */
  private sent: number | null = null;
  private store: StoreRef = EMPTY_STORE;

  constructor(readonly node: KeyedNode, readonly group: number, partitionsOf: Record<string, number>, ctx: UnitContext) {
    super(keyedUnit(node.id, group), ctx);
    const { layout } = ctx;
    this.readMax = Math.max(1, Math.ceil(ctx.batch / MESSAGES_PER_BATCH));
    this.outbox = new Outbox(layout);
    this.executor = new Executor(layout.p, { runs: (n) => n.id === node.id, exit: (n, port, key, value, t, s) => this.outbox.record(n, port, key, value, t, s, this.sent ?? -Infinity) });
    for (const [id, op] of this.executor.operators) op.state.spillTo(ctx.spill().store(this.id, id), ctx.stateKeysInMemory);
    const { streams, keyed } = layout.producers(node.id);
    this.producers = [
      ...streams.flatMap((s) => Array.from({ length: partitionsOf[s]! }, (_, p) => sourceUnit(s, p))),
      ...keyed.flatMap((k) => Array.from({ length: layout.keyGroups }, (_, g) => keyedUnit(k, g))),
    ];
    this.targets = layout.downstreamKeyed([node.id]);
  }

  private get stream(): string {
    return shuffleStream(this.ctx.layout.p.name, this.node.id);
  }

  protected async restore(s: KeyedUnitState): Promise<void> {
    if (!s.store) throw new Error(`unit ${this.id}: its state was written by an older Sluice; recompute it with: sluice replay ${this.pipeline} --from earliest`);
    const { base, deltas } = await loadState(this.ctx.engine, this.key, s.store);
    this.executor.loadState(s.watermark, base, deltas);
    this.spillOut();
    this.store = s.store;
    this.marks = new Map(s.marks);
    this.sent = s.sent;
  }

  async step(): Promise<boolean> {
    const { layout } = this.ctx;
    const from = this.offset;
    this.begin();
    // An epoch takes several batches while there are more (up to epochMs): the state snapshot is
    // written once per epoch, so fewer, larger epochs cost less.
    const started = performance.now();
    let { records, next, more } = await this.read(this.stream, this.group, from, started);
    if (records.length === 0) return false;
    const lateBefore = this.executor.metrics.late;
    for (;;) {
      for (const r of records) {
        const message = unpackShuffle(r.value);
        for (const x of message) this.apply(x);
        this.stats.records += message.length;
      }
      this.outbox.outputs(this.executor.drain());
      this.outbox.seal();
      this.spillOut();
      if (!more) break;
      ({ records, next, more } = await this.read(this.stream, this.group, next, started));
      if (records.length === 0) break;
    }
    this.stats.late += this.executor.metrics.late - lateBefore;
    const w = this.executor.currentWatermark;
    const wire = Number.isFinite(w) ? w : null;
    if (wire !== this.sent && this.targets.length > 0) {
      this.outbox.markers(this.targets, this.id, w, false);
      this.sent = wire;
    }
    this.offset = next;
    // Only the keys that changed are written (or, now and then, a new base: see state-store.ts).
    const saved = saveState(this.key, this.store, this.version + 1, this.executor.stateChanges(), () => this.executor.stateEntries());
    const state: KeyedUnitState = { watermark: wire, store: saved.ref, marks: [...this.marks], sent: this.sent };
    await this.commit(this.outbox.take(), state, from, saved);
    this.store = saved.ref;
    return true;
  }

  /** Moves values past stateKeysInMemory to the spill file (between batches: operators hold no values across them). */
  private spillOut(): void {
    let keys = 0;
    let inMemory = 0;
    let spilled = 0;
    for (const op of this.executor.operators.values()) {
      op.state.evict();
      keys += op.state.size;
      inMemory += op.state.residentSize;
      spilled += op.state.spilled;
    }
    this.stats.stateKeys = keys;
    this.stats.inMemory = inMemory;
    this.stats.spilled = spilled;
  }

  private apply(r: ShuffleRecord): void {
    switch (r[0]) {
      case 0:
        // The source stream, by its index in the layout (by name in messages written before 008).
        this.executor.keyed(this.node.id, r[1], r[2], r[5], r[3], typeof r[4] === 'number' ? this.ctx.layout.streams[r[4]] : (r[4] ?? undefined));
        break;
      case 1: {
        const op = this.executor.operators.get(this.node.id) as WindowOperator;
        if (!op.addPartial(r[1], r[2], r[3], r[4], this.executor.currentWatermark)) {
          // Only when a producer came back from idle behind the watermark: reported, not dropped.
          this.executor.late({ partial: true, key: r[1], windowStart: r[2], windowEnd: r[3], acc: r[4] }, r[3] - 1);
        }
        break;
      }
      case 2:
        this.marks.set(r[1], { w: r[2], idle: r[3] === 1 });
        this.executor.advanceTo(this.watermark());
        break;
    }
  }

  /** The producers' marks combined; a producer not heard from holds it back. */
  private watermark(): number {
    const marks: Mark[] = [];
    for (const p of this.producers) {
      const m = this.marks.get(p);
      if (!m) return -Infinity;
      marks.push({ w: m.w ?? -Infinity, idle: m.idle });
    }
    return combineMarks(marks);
  }
}

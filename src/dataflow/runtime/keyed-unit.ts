// A unit running one key group of a keyed step (window, join, lookup) from its shuffle partition:
// watermarks from its producers' in-band markers, the operator, its state saved by change
// (decision 007) and spilled to disk past a cap (decision 010), outputs to the next shuffle.
import type { StoredRecord } from '../../engine/engine.js';
import { Executor } from '../executor.js';
import { combineMarks, type Mark } from '../watermarks.js';
import { inputsOf, type KeyedNode } from '../dsl.js';
import { WindowOperator } from '../window-operator.js';
import { keyedUnit, shuffleStream, sourceUnit } from './layout.js';
import { Outbox } from './outbox.js';
import { EMPTY_STORE, loadState, saveState, type StoreRef } from './state-store.js';
import { Unit, type UnitContext } from './units.js';
import { unpackShuffle, type ShuffleRecord } from './wire.js';

/** A keyed unit reads batch / this messages at a time (each holds up to MESSAGE_BYTES of records). */
const MESSAGES_PER_BATCH = 64;

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
  private readonly producerSet: Set<string>;
  /** Input ports of the node. */
  private readonly ports: number;
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
    this.executor = new Executor(layout.p, { runs: (n) => n.id === node.id, emitted: this.stats.emitted, lateAt: this.stats.lateAt, exit: (n, port, key, value, t, s) => this.outbox.record(n, port, key, value, t, s, this.sent ?? -Infinity) });
    for (const [id, op] of this.executor.operators) op.state.spillTo(ctx.spill().store(this.id, id), ctx.stateKeysInMemory);
    const { streams, keyed } = layout.producers(node.id);
    this.producers = [
      ...streams.flatMap((s) => Array.from({ length: partitionsOf[s]! }, (_, p) => sourceUnit(s, p))),
      ...keyed.flatMap((k) => Array.from({ length: layout.keyGroups }, (_, g) => keyedUnit(k, g))),
    ];
    this.producerSet = new Set(this.producers);
    this.ports = inputsOf(node).length;
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
    const errorsBefore = this.executor.metrics.errors;
    for (;;) {
      this.consume(records);
      this.outbox.outputs(this.executor.drain());
      this.outbox.seal();
      this.spillOut();
      if (!more) break;
      ({ records, next, more } = await this.read(this.stream, this.group, next, started));
      if (records.length === 0) break;
    }
    this.stats.late += this.executor.metrics.late - lateBefore;
    this.stats.errors += this.executor.metrics.errors - errorsBefore;
    const w = this.executor.currentWatermark;
    const wire = Number.isFinite(w) ? w : null;
    if (wire !== this.sent && this.targets.length > 0) {
      this.outbox.markers(this.targets, this.id, w, false);
      this.sent = wire;
    }
    this.offset = next;
    this.stats.watermark = wire;
    // Only the keys that changed are written (or, now and then, a new base: see state-store.ts).
    const saved = saveState(this.key, this.store, this.version + 1, this.executor.stateChanges(), () => this.executor.stateEntries());
    const state: KeyedUnitState = { watermark: wire, store: saved.ref, marks: [...this.marks], sent: this.sent };
    await this.commit(this.outbox.take(), state, from, saved);
    this.store = saved.ref;
    await this.trimInput(this.stream, this.group);
    return true;
  }

  /**
   * Applies a batch's messages. (Kept out of the async step, like the source unit's batch: small hot
   * functions are optimised sooner and cost the compiler less than one big one.)
   */
  private consume(records: StoredRecord[]): void {
    for (const r of records) {
      let message: ShuffleRecord[];
      try {
        message = unpackShuffle(r.value);
      } catch (e) {
        // Not written by Sluice (an internal stream is a stream like any other): reported, skipped.
        this.executor.error(this.stream, new Error(`message at offset ${r.offset} of partition ${this.group}: ${(e as Error).message}`), Buffer.from(r.value).toString('base64'));
        continue;
      }
      for (const x of message) this.apply(x);
      this.stats.records += message.length;
    }
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
        if (r[1] < 0 || r[1] >= this.ports) return this.bad(r, `port ${r[1]} does not exist`);
        // The source stream, by its index in the layout (by name in messages written before 008).
        this.executor.keyed(this.node.id, r[1], r[2], r[5], r[3], typeof r[4] === 'number' ? this.ctx.layout.streams[r[4]] : (r[4] ?? undefined));
        break;
      case 1: {
        const op = this.executor.operators.get(this.node.id);
        if (!(op instanceof WindowOperator)) return this.bad(r, 'a partial for a step that is not a window');
        let merged: boolean;
        try {
          merged = op.addPartial(r[1], r[2], r[3], r[4], this.executor.currentWatermark);
        } catch (e) {
          return this.bad(r, `its accumulator does not merge: ${(e as Error).message}`);
        }
        // Only when a producer came back from idle behind the watermark: reported, not dropped.
        if (!merged) this.executor.late(this.node.id, { partial: true, key: r[1], windowStart: r[2], windowEnd: r[3], acc: r[4] }, r[3] - 1);
        break;
      }
      case 2:
        if (!this.producerSet.has(r[1])) return this.bad(r, `'${r[1]}' does not feed this step`);
        this.marks.set(r[1], { w: r[2], idle: r[3] === 1 });
        this.executor.advanceTo(this.watermark());
        break;
    }
  }

  /** A shuffle record of the right shape that this step cannot take: to '<pipeline>-errors'. */
  private bad(r: ShuffleRecord, why: string): void {
    this.executor.error(this.stream, new Error(`shuffle record of partition ${this.group}: ${why}`), r);
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

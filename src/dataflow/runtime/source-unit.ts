// A unit reading a partition of a source stream: event time, stateless steps, pre-aggregation of
// windows, its watermark (with alignment against its peers: decision 009), then the keyed shuffles
// and sinks, committed as one epoch.
import type { StoredRecord } from '../../engine/engine.js';
import { MAX_JSON_DEPTH, tooDeep } from '../../json-depth.js';
import { Executor } from '../executor.js';
import { Watermarks } from '../watermarks.js';
import { sourceUnit, stateKey } from './layout.js';
import { Outbox } from './outbox.js';
import { Unit, type UnitContext } from './units.js';
import { decode } from './wire.js';

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
    this.executor = new Executor(layout.p, { runs: () => false, emitted: this.stats.emitted, lateAt: this.stats.lateAt, exit: (n, port, key, value, t, s, raw) => this.outbox.record(n, port, key, value, t, s, this.ownMark, raw) });
    this.marks = new Watermarks(this.executor.sources.filter((s) => s.stream === stream && s.watermark), ctx.clock.now());
    this.targets = layout.downstreamKeyed(layout.sourcesOf(stream));
  }

  protected restore(s: { marks: ReturnType<Watermarks['snapshot']>; sent: { w: number | null; idle: boolean } }): void {
    this.marks.restore(s.marks);
    this.sent = s.sent;
  }

  /**
   * Whether this unit keeps pace with peers (decision 009). Until it has seen where they are, its
   * epochs are one batch each: a first epoch of epochMs used to read a whole partition of one
   * stream before its peers had read anything, and the keyed steps buffered all of it.
   */
  private get aligning(): boolean {
    return this.ctx.maxDrift > 0 && this.peers.length > 0;
  }

  /** Whether a watermark is more than maxDrift ahead of the slowest peer last seen. */
  private beyond(w: number): boolean {
    return this.aligning && Number.isFinite(w) && w > this.peersMark + this.ctx.maxDrift;
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

  /**
   * A batch through the executor to the outbox. (Kept out of the async step: small hot functions
   * are optimised sooner and cost the compiler less than one big one.)
   */
  private ingest(records: StoredRecord[], now: number): void {
    const m = this.executor.metrics;
    const before = { clamped: m.clampedFuture, errors: m.errors, late: m.late };
    const inputs = [];
    for (const r of records) {
      if (tooDeep(r.value)) {
        // (The gateway refuses such records; raw Kinesis data or another writer may hold one.) Its state would not stringify.
        this.executor.error(this.stream, new Error(`record at offset ${r.offset} of partition ${r.partition} nests deeper than ${MAX_JSON_DEPTH} levels`), Buffer.from(r.value).toString('base64'));
        continue;
      }
      try {
        inputs.push({ value: decode(r.value), arrival: r.timestamp, batch: r.batch, raw: r.value });
      } catch {
        this.executor.error(this.stream, new Error(`record at offset ${r.offset} of partition ${r.partition} is not JSON`), Buffer.from(r.value).toString('base64'));
      }
    }
    this.executor.ingest(this.stream, this.partition, inputs, now, this.marks);
    this.stats.clampedFuture += m.clampedFuture - before.clamped;
    this.stats.records += records.length;
    this.stats.errors += m.errors - before.errors;
    this.stats.late += m.late - before.late;
    this.outbox.outputs(this.executor.drain());
    this.outbox.seal();
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
      this.ingest(records, now);
      if (!more || (!this.redoing && this.aligning && (!Number.isFinite(this.peersMark) || this.beyond(this.marks.current(now))))) break;
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
    this.stats.offset = next;
    this.stats.watermark = wire;
    // Whether it read all there was: a peer that has nothing left to read never holds others back.
    const caughtUp = records.length < this.readMax;
    await this.commit(this.outbox.take(), { marks: this.marks.snapshot(), sent: this.sent, caughtUp }, from);
    return true;
  }
}

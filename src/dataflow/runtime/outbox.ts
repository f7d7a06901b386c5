// An epoch's outputs until they are committed. Sink records are stream records, one per value:
// keyless ones encoded straight into stored batches (decision 011), ones with a `key` field routed by it.
// Records for internal streams (keyed shuffles, table streams) are collected per partition and
// packed into messages (decision 008). Records for a window node are pre-aggregated per key and
// window when they cannot be late downstream (decision 005).
import { encodeTexts } from '../../engine/batch-codec.js';
import type { AppendRecord, EncodedBatch } from '../../engine/engine.js';
import type { Key, KeyedNode } from '../dsl.js';
import type { Output } from '../executor.js';
import { WindowOperator } from '../window-operator.js';
import { firstEnd } from '../windows.js';
import { keyGroupOf, shuffleStream, tableStream, type Layout } from './layout.js';
import { MESSAGE_BYTES, pack, rawRecord, type ShuffleRecord } from './wire.js';

interface SinkValues {
  /** Texts of keyless values: stored as encoded batches in partition 0 (decision 011). */
  texts: string[];
  /** Values with a `key` field: partitioned by it. */
  keyed: AppendRecord[];
  /** Keyless values already encoded (by `seal`). */
  batches: EncodedBatch[];
}

interface InternalPartition {
  items: unknown[];
  /** Items already packed (by `seal`). */
  messages: Buffer[];
}

export class Outbox {
  /** Items per internal stream, per partition, in order. */
  private readonly internal = new Map<string, InternalPartition[]>();
  /** The same, by keyed node (records are added per node: no stream name to build for each). */
  private readonly shuffles = new Map<number, InternalPartition[]>();
  private readonly sinks = new Map<string, SinkValues>();
  /** Per window node: this epoch's records merged per key and window. */
  private readonly partials = new Map<number, WindowOperator>();

  constructor(private readonly layout: Layout) {}

  /**
   * A record for keyed node `n`. `mark` is the watermark this producer last sent downstream: a
   * record whose windows all end (plus allowed lateness) above it cannot be late there, so it is
   * merged into a partial; one that may be late travels alone for the keyed unit to judge, as its
   * `raw` text when it has it.
   */
  record(n: KeyedNode, port: number, key: Key, value: unknown, t: number, stream: string | undefined, mark: number, raw?: Uint8Array): void {
    if (n.kind === 'window' && firstEnd(n.spec, t) + n.allowedLateness > mark) {
      let op = this.partials.get(n.id);
      if (!op) this.partials.set(n.id, (op = new WindowOperator(n, () => {}, false)));
      op.add(0, key, value, t, -Infinity);
      return;
    }
    const s = stream === undefined ? null : this.layout.streams.indexOf(stream);
    const r = raw === undefined ? ([0, port, key, t, s, value] satisfies ShuffleRecord) : rawRecord(port, key, t, s, raw);
    let partitions = this.shuffles.get(n.id);
    if (!partitions) this.shuffles.set(n.id, (partitions = this.partitionsOf(shuffleStream(this.layout.p.name, n.id))));
    const g = keyGroupOf(key, this.layout.keyGroups);
    (partitions[g] ??= { items: [], messages: [] }).items.push(r);
  }

  /** A producer's watermark to every key group of the keyed nodes it feeds, after its records. */
  markers(targets: number[], producer: string, w: number, idle: boolean): void {
    this.flushPartials();
    const marker: ShuffleRecord = [2, producer, Number.isFinite(w) ? w : null, idle ? 1 : 0];
    for (const node of targets) {
      const stream = shuffleStream(this.layout.p.name, node);
      for (let g = 0; g < this.layout.keyGroups; g++) this.add(stream, g, marker);
    }
  }

  /** An executor's outputs: sink streams, table sinks, late and error records. */
  outputs(outputs: Output[]): void {
    for (const o of outputs) {
      if (o.tableKey) {
        this.add(tableStream(this.layout.p.name, o.sink), 0, o.retract ? [o.tableKey, o.value, 1] : [o.tableKey, o.value]);
        continue;
      }
      let s = this.sinks.get(o.sink);
      if (!s) this.sinks.set(o.sink, (s = { texts: [], keyed: [], batches: [] }));
      const text = o.text ?? JSON.stringify(o.value);
      const k = (o.value as { key?: unknown } | null)?.key;
      if (typeof k === 'string' || typeof k === 'number') s.keyed.push({ value: Buffer.from(text), key: String(k) });
      else s.texts.push(text);
    }
  }

  /**
   * Encodes what was added so far (not partials: they merge until the epoch ends). Called after
   * each batch of an epoch, so records are encoded while young: holding a whole epoch's values
   * and texts until its end made the garbage collector copy them.
   */
  seal(): void {
    for (const s of this.sinks.values()) {
      if (s.texts.length === 0) continue;
      s.batches.push(...encodeTexts(s.texts, 0, MESSAGE_BYTES));
      s.texts = [];
    }
    for (const partitions of this.internal.values()) {
      for (const p of partitions) {
        if (p && p.items.length > 0) {
          p.messages.push(...pack(p.items));
          p.items = [];
        }
      }
    }
  }

  /** The epoch's appends, by stream; the outbox is empty afterwards. */
  take(): { stream: string; records: AppendRecord[]; batches?: EncodedBatch[] }[] {
    this.flushPartials();
    this.seal();
    const out: { stream: string; records: AppendRecord[]; batches?: EncodedBatch[] }[] = [];
    for (const [stream, s] of this.sinks) if (s.keyed.length + s.batches.length > 0) out.push({ stream, records: s.keyed, batches: s.batches });
    for (const [stream, partitions] of this.internal) {
      const records: AppendRecord[] = [];
      partitions.forEach((p, partition) => {
        for (const value of p.messages) records.push({ value, partition });
      });
      if (records.length > 0) out.push({ stream, records });
    }
    this.sinks.clear();
    this.internal.clear();
    this.shuffles.clear();
    return out;
  }

  private add(stream: string, partition: number, item: unknown): void {
    (this.partitionsOf(stream)[partition] ??= { items: [], messages: [] }).items.push(item);
  }

  private partitionsOf(stream: string): InternalPartition[] {
    let partitions = this.internal.get(stream);
    if (!partitions) this.internal.set(stream, (partitions = []));
    return partitions;
  }

  private flushPartials(): void {
    for (const [node, op] of this.partials) {
      const stream = shuffleStream(this.layout.p.name, node);
      for (const { key, window: w } of op.takeAll()) {
        const r: ShuffleRecord = [1, key, w.start, w.end, w.acc];
        this.add(stream, keyGroupOf(key, this.layout.keyGroups), r);
      }
    }
  }
}

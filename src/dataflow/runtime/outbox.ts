// An epoch's outputs until they are committed. Sink records are stream records, one per value.
// Records for internal streams (keyed shuffles, table streams) are collected per partition and
// packed into messages (decision 008). Records for a window node are pre-aggregated per key and
// window when they cannot be late downstream (decision 005).
import type { AppendRecord } from '../../engine/engine.js';
import type { Key, KeyedNode } from '../dsl.js';
import type { Output } from '../executor.js';
import { WindowOperator } from '../window-operator.js';
import { firstEnd } from '../windows.js';
import { keyGroupOf, shuffleStream, tableStream, type Layout } from './layout.js';
import { encodeEach, pack, type ShuffleRecord } from './wire.js';

interface SinkValues {
  values: unknown[];
  keys: (string | undefined)[];
}

export class Outbox {
  /** Items per internal stream, per partition, in order. */
  private readonly internal = new Map<string, unknown[][]>();
  private readonly sinks = new Map<string, SinkValues>();
  /** Per window node: this epoch's records merged per key and window. */
  private readonly partials = new Map<number, WindowOperator>();

  constructor(private readonly layout: Layout) {}

  /**
   * A record for keyed node `n`. `mark` is the watermark this producer last sent downstream: a
   * record whose windows all end (plus allowed lateness) above it cannot be late there, so it is
   * merged into a partial; one that may be late travels alone for the keyed unit to judge.
   */
  record(n: KeyedNode, port: number, key: Key, value: unknown, t: number, stream: string | undefined, mark: number): void {
    if (n.kind === 'window' && firstEnd(n.spec, t) + n.allowedLateness > mark) {
      let op = this.partials.get(n.id);
      if (!op) this.partials.set(n.id, (op = new WindowOperator(n, () => {}, false)));
      op.add(0, key, value, t, -Infinity);
      return;
    }
    const r: ShuffleRecord = [0, port, key, t, stream ?? null, value];
    this.add(shuffleStream(this.layout.p.name, n.id), keyGroupOf(key, this.layout.keyGroups), r);
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
        this.add(tableStream(this.layout.p.name, o.sink), 0, [o.tableKey, o.value]);
        continue;
      }
      let s = this.sinks.get(o.sink);
      if (!s) this.sinks.set(o.sink, (s = { values: [], keys: [] }));
      const k = (o.value as { key?: unknown } | null)?.key;
      s.values.push(o.value);
      s.keys.push(typeof k === 'string' || typeof k === 'number' ? String(k) : undefined);
    }
  }

  /** The epoch's appends, by stream; the outbox is empty afterwards. */
  take(): { stream: string; records: AppendRecord[] }[] {
    this.flushPartials();
    const out: { stream: string; records: AppendRecord[] }[] = [];
    for (const [stream, { values, keys }] of this.sinks) {
      const encoded = encodeEach(values);
      out.push({ stream, records: encoded.map((value, i) => (keys[i] === undefined ? { value, partition: 0 } : { value, key: keys[i] })) });
    }
    for (const [stream, partitions] of this.internal) {
      const records: AppendRecord[] = [];
      partitions.forEach((items, partition) => {
        if (items.length > 0) for (const value of pack(items)) records.push({ value, partition });
      });
      out.push({ stream, records });
    }
    this.sinks.clear();
    this.internal.clear();
    return out;
  }

  private add(stream: string, partition: number, item: unknown): void {
    let partitions = this.internal.get(stream);
    if (!partitions) this.internal.set(stream, (partitions = []));
    (partitions[partition] ??= []).push(item);
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

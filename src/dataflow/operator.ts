// What every keyed, stateful operator (windows, joins, table lookups) offers a runtime: records in
// on an input port, the watermark, and a JSON snapshot of its state for exactly-once epochs.
import type { Key } from './dsl.js';

/** Emits a value downstream at an event time. */
export type Emit = (value: unknown, eventTime: number) => void;

export interface KeyedOperator {
  /** Adds a record on input `port`; false when it is too late for any result (it goes to late()). */
  add(port: number, key: Key, value: unknown, t: number, watermark: number): boolean;
  /** The watermark moved: fire and forget what it closed. */
  advance(watermark: number): void;
  /** JSON-able state; `restore` of it rebuilds the operator exactly. */
  snapshot(): unknown;
  restore(snapshot: unknown): void;
  /** Entries held (windows, buffered records, table rows), for metrics. */
  readonly size: number;
}

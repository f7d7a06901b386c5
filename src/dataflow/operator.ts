// What every keyed, stateful operator (windows, joins, table lookups) offers a runtime: records in
// on an input port, the watermark, and its per-key state (JSON values) for exactly-once epochs.
import type { Key } from './dsl.js';
import type { KeyedState } from './keyed-state.js';

/**
 * Emits a value downstream at an event time. `retract`: a result emitted before no longer holds
 * (a session merged into another): table sinks delete its row.
 */
export type Emit = (value: unknown, eventTime: number, retract?: boolean) => void;

export interface KeyedOperator {
  /** Adds a record on input `port`; false when it is too late for any result (it goes to late()). */
  add(port: number, key: Key, value: unknown, t: number, watermark: number): boolean;
  /** The watermark moved: fire and forget what it closed. */
  advance(watermark: number): void;
  /** All of its state: JSON-able values per key, with what changed since it was last saved and when each key is next due. */
  readonly state: KeyedState<unknown>;
}

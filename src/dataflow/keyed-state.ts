// Per-key state of a keyed operator that remembers what changed since it was last saved, so a
// runtime writes only the changed keys each epoch (decision 007). The iteration order is part of
// the state (operators fire keys in this order): changes say which keys moved to the end, and
// `load` rebuilds exactly the order the live operator had.
import type { Key } from './dsl.js';

/** A key updated in place (1), deleted (0), or (re)inserted at the end of the order (2). */
export type Change = [key: Key, kind: 0 | 1 | 2, value?: unknown];

export class KeyedState<V> {
  private map = new Map<Key, V>();
  /** Keys updated in place or deleted since the last `changes()`. */
  private readonly changed = new Set<Key>();
  /** Keys (re)inserted since the last `changes()`, in the order they now sit at the end. */
  private readonly moved = new Set<Key>();

  get(k: Key): V | undefined {
    return this.map.get(k);
  }

  set(k: Key, v: V): void {
    if (this.map.has(k)) {
      this.map.set(k, v);
      if (!this.moved.has(k)) this.changed.add(k);
      return;
    }
    this.map.set(k, v);
    this.changed.delete(k);
    this.moved.add(k);
  }

  /** The value of `k` was changed in place. */
  touch(k: Key): void {
    if (!this.moved.has(k)) this.changed.add(k);
  }

  delete(k: Key): void {
    if (!this.map.delete(k)) return;
    this.moved.delete(k);
    this.changed.add(k);
  }

  get size(): number {
    return this.map.size;
  }

  [Symbol.iterator](): IterableIterator<[Key, V]> {
    return this.map[Symbol.iterator]();
  }

  values(): IterableIterator<V> {
    return this.map.values();
  }

  /** Every key, in order (a full snapshot). */
  entries(): [Key, V][] {
    return [...this.map];
  }

  /** What changed since the last call (or load): applying it to the state then gives the state now. */
  changes(): Change[] {
    const out: Change[] = [];
    for (const k of this.changed) out.push(this.map.has(k) ? [k, 1, this.map.get(k)] : [k, 0]);
    for (const k of this.moved) out.push([k, 2, this.map.get(k)]);
    this.changed.clear();
    this.moved.clear();
    return out;
  }

  /** A full snapshot and the changes after it, in order. */
  load(base: [Key, V][], deltas: Change[][] = []): void {
    this.map = new Map(base);
    for (const d of deltas) {
      for (const [k, kind, v] of d) {
        if (kind === 0) this.map.delete(k);
        else if (kind === 1) this.map.set(k, v as V);
        else {
          this.map.delete(k);
          this.map.set(k, v as V);
        }
      }
    }
    this.changed.clear();
    this.moved.clear();
  }
}

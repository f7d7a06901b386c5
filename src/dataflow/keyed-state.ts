// Per-key state of a keyed operator that remembers what changed since it was last saved, so a
// runtime writes only the changed keys each epoch (decision 007). The iteration order is part of
// the state (operators fire keys in this order): changes say which keys moved to the end, and
// `load` rebuilds exactly the order the live operator had. A value that grows by items (a join's
// buffered records) may be saved by its new items alone: `appended` instead of `touch`.
import type { Key } from './dsl.js';

/** A key updated in place (1), deleted (0), (re)inserted at the end of the order (2), or given items (3: value = the items). */
export type Change = [key: Key, kind: 0 | 1 | 2 | 3, value?: unknown];

/** Adds an item to a value (or creates it). A method type, so a KeyedState<X> is still a KeyedState<unknown>. */
type AppendTo<V> = { add(value: V | undefined, item: unknown): V }['add'];

export class KeyedState<V> {
  private map = new Map<Key, V>();
  /** Keys updated in place or deleted since the last `changes()`. */
  private readonly changed = new Set<Key>();
  /** Keys (re)inserted since the last `changes()`, in the order they now sit at the end. */
  private readonly moved = new Set<Key>();
  /** Items added to keys' values (keys not otherwise changed) since the last `changes()`. */
  private readonly appends = new Map<Key, unknown[]>();

  /** `appendTo` adds an item to a value (or creates it) as the live operator did: needed to load items. */
  constructor(private readonly appendTo?: AppendTo<V>) {}

  get(k: Key): V | undefined {
    return this.map.get(k);
  }

  set(k: Key, v: V): void {
    this.appends.delete(k);
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
    this.appends.delete(k);
    if (!this.moved.has(k)) this.changed.add(k);
  }

  /** `item` was added to the value of `k` in place, as `appendTo` would add it: saved as the item alone. */
  appended(k: Key, item: unknown): void {
    if (!this.appendTo) throw new Error('this state has no appendTo: use touch');
    if (this.moved.has(k) || this.changed.has(k)) return; // its whole value is saved anyway
    const items = this.appends.get(k);
    if (items) items.push(item);
    else this.appends.set(k, [item]);
  }

  delete(k: Key): void {
    if (!this.map.delete(k)) return;
    this.appends.delete(k);
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
    for (const [k, items] of this.appends) out.push([k, 3, items]);
    this.changed.clear();
    this.moved.clear();
    this.appends.clear();
    return out;
  }

  /** A full snapshot and the changes after it, in order. Takes over their values (appended items go into them). */
  load(base: [Key, V][], deltas: Change[][] = []): void {
    this.map = new Map(base);
    for (const d of deltas) {
      for (const [k, kind, v] of d) {
        if (kind === 0) this.map.delete(k);
        else if (kind === 1) this.map.set(k, v as V);
        else if (kind === 3) {
          let value = this.map.get(k);
          for (const item of v as unknown[]) value = this.appendTo!(value, item);
          this.map.set(k, value as V);
        } else {
          this.map.delete(k);
          this.map.set(k, v as V);
        }
      }
    }
    this.changed.clear();
    this.moved.clear();
    this.appends.clear();
  }
}

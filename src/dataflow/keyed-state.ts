// Per-key state of a keyed operator. It remembers what changed since it was last saved, so a
// runtime writes only the changed keys each epoch (decision 007); a value that grows by items (a
// join's buffered records) may be saved by its new items alone (`appended`). Every key carries the
// event time at which its operator next needs it (a window to fire, a record to expire): `visitDue`
// visits only keys that are due. Values may spill to disk (decision 010): keys and their due times
// stay in memory, values past `maxResident` go to a spill store and come back on `get`.
// The key order is part of the state (operators visit keys in it): changes say which keys moved to
// the end, and `load` rebuilds exactly the order the live operator had.
import type { Key } from './dsl.js';

/** A key updated in place (1), deleted (0), (re)inserted at the end of the order (2), or given items (3: value = the items). */
export type Change = [key: Key, kind: 0 | 1 | 2 | 3, value?: unknown];

/** Adds an item to a value (or creates it). Method types, so a KeyedState<X> is still a KeyedState<unknown>. */
type AppendTo<V> = { add(value: V | undefined, item: unknown): V }['add'];
type DueOf<V> = { due(value: V): number }['due'];
type FromSaved<V> = { whole(value: V): V }['whole'];

export interface KeyedStateOptions<V> {
  /** Adds an item to a value as the live operator did: needed to load appended items. */
  appendTo?: AppendTo<V>;
  /** The event time at which a value next needs its operator; default: never (Infinity). */
  dueOf?: DueOf<V>;
  /** The due time an appended item brings (at most its value's); default: that of the whole value. */
  dueOfItem?: (item: unknown) => number;
  /** Makes a value saved by an earlier version what the operator keeps now (applied when a whole value is loaded). */
  fromSaved?: FromSaved<V>;
  /**
   * For operators that add records without building an item for each (`grew`): the items a value
   * gained since they were last listed, in the order `appendTo` must apply them; `all` marks what
   * the value holds as listed (it is saved whole, or was just loaded) and lists nothing.
   */
  itemsSince?: { items(value: V, all: boolean): unknown[] }['items'];
}

/** Where values go when they leave memory: text by key (a scratch store; the engine holds the durable copy). */
export interface SpillStore {
  get(key: Key): string | undefined;
  put(entries: [Key, string][]): void;
  delete(key: Key): void;
  /** Forgets everything (before a load). */
  clear(): void;
}

const never = () => Infinity;

export class KeyedState<V> {
  /** Every key, in order, with its due time. */
  private keys = new Map<Key, number>();
  /** Values in memory, least recently used first (when spilling). */
  private resident = new Map<Key, V>();
  private spill?: SpillStore;
  private maxResident = Infinity;
  /** Keys with a row in the spill store (current if the key is not resident). */
  private readonly onDisk = new Set<Key>();
  /** Resident keys whose value changed since it was last read from or written to the spill store (when spilling). */
  private readonly dirty = new Set<Key>();
  /** No key is due before this (a lower bound). */
  private minDue = Infinity;
  /** Keys updated in place or deleted since the last `changes()`. */
  private readonly changed = new Set<Key>();
  /** Keys (re)inserted since the last `changes()`, in the order they now sit at the end. */
  private readonly moved = new Set<Key>();
  /** Items added to keys' values (keys not otherwise changed) since the last `changes()`. */
  private readonly appends = new Map<Key, unknown[]>();
  /** Keys whose values gained items the operator lists itself (`grew`; keys not otherwise changed). */
  private readonly grown = new Set<Key>();
  /** Keys inserted since the last `changes()` that the state then did not have: deleting one leaves nothing to save. */
  private readonly fresh = new Set<Key>();
  private readonly dueOf: DueOf<V>;
  private spills = 0;
  private saved = false;

  constructor(readonly options: KeyedStateOptions<V> = {}) {
    this.dueOf = options.dueOf ?? never;
  }

  /** Keeps at most `maxResident` values in memory (after `evict`), the rest in `store`. */
  spillTo(store: SpillStore, maxResident: number): void {
    store.clear();
    this.spill = store;
    this.maxResident = maxResident;
  }

  get(k: Key): V | undefined {
    const v = this.resident.get(k);
    if (v !== undefined) {
      if (this.spill && this.resident.size >= this.maxResident) {
        this.resident.delete(k); // most recently used last (below the cap nothing leaves memory: no need)
        this.resident.set(k, v);
      }
      return v;
    }
    if (!this.spill || !this.keys.has(k)) return undefined;
    const text = this.spill.get(k);
    if (text === undefined) throw new Error(`state of key ${JSON.stringify(k)} is missing from the spill store`);
    const loaded = JSON.parse(text) as V;
    this.resident.set(k, loaded);
    return loaded;
  }

  has(k: Key): boolean {
    return this.keys.has(k);
  }

  set(k: Key, v: V): void {
    if (this.spill) this.dirty.add(k);
    const existed = this.keys.has(k);
    if (existed) {
      // (a key not in the state has no items, value or place in memory to drop)
      this.appends.delete(k);
      this.grown.delete(k);
      this.resident.delete(k);
    }
    this.resident.set(k, v);
    this.setDue(k, this.dueOf(v));
    if (existed) {
      if (!this.moved.has(k)) this.changed.add(k);
      return;
    }
    if (!this.changed.delete(k)) this.fresh.add(k); // (a key deleted since: the saved state has it)
    this.moved.add(k);
  }

  /** The value of `k` (just read with `get`) was changed in place. */
  touch(k: Key): void {
    if (this.spill) this.dirty.add(k);
    this.appends.delete(k);
    this.grown.delete(k);
    if (!this.moved.has(k)) this.changed.add(k);
    const v = this.resident.get(k);
    if (v !== undefined) this.setDue(k, this.dueOf(v));
  }

  /** `item` was added to the value of `k` in place, as `appendTo` would add it: saved as the item alone. */
  appended(k: Key, item: unknown): void {
    if (!this.options.appendTo) throw new Error('this state has no appendTo: use touch');
    if (this.spill) this.dirty.add(k);
    const due = this.options.dueOfItem ? this.options.dueOfItem(item) : this.dueOf(this.resident.get(k)!);
    this.setDue(k, Math.min(this.keys.get(k) ?? Infinity, due));
    if (this.moved.has(k) || this.changed.has(k)) return; // its whole value is saved anyway
    const items = this.appends.get(k);
    if (items) items.push(item);
    else this.appends.set(k, [item]);
  }

  /**
   * The value of `k` gained items in place that `itemsSince` lists (no item built per record);
   * `due`: the due time they bring. An operator uses either this or `appended`, not both.
   */
  grew(k: Key, due: number): void {
    if (this.spill) this.dirty.add(k);
    const d = this.keys.get(k);
    if (d === undefined || due < d) this.setDue(k, due);
    if (!this.moved.has(k) && !this.changed.has(k)) this.grown.add(k); // (else its whole value is saved anyway)
  }

  delete(k: Key): void {
    if (!this.keys.delete(k)) return;
    this.resident.delete(k);
    if (this.spill) {
      if (this.onDisk.delete(k)) this.spill.delete(k);
      this.dirty.delete(k);
    }
    this.appends.delete(k);
    this.grown.delete(k);
    this.moved.delete(k);
    if (!this.fresh.delete(k)) this.changed.add(k);
  }

  /** Whether the state is saved by change: `changes()` or `load()` was called (a state only ever held in memory, as the test driver's, is not). */
  get saving(): boolean {
    return this.saved;
  }

  /** Number of keys. */
  get size(): number {
    return this.keys.size;
  }

  /** Number of values in memory. */
  get residentSize(): number {
    return this.resident.size;
  }

  /** Values written to the spill store so far. */
  get spilled(): number {
    return this.spills;
  }

  /**
   * Calls `fn` for each key due at `watermark` (in key order), which fires, expires, touches, sets
   * or deletes it; the key's due time is then taken again from its value.
   */
  visitDue(watermark: number, fn: (k: Key, v: V) => void): void {
    if (watermark < this.minDue) return;
    const due: Key[] = [];
    let min = Infinity;
    for (const [k, d] of this.keys) {
      if (d <= watermark) due.push(k);
      else if (d < min) min = d;
    }
    this.minDue = min;
    for (const k of due) {
      const v = this.get(k);
      if (v === undefined) continue;
      fn(k, v);
      const after = this.keys.has(k) ? this.get(k) : undefined;
      if (after !== undefined) this.setDue(k, this.dueOf(after));
    }
  }

  /** Every key and value, in order (a full snapshot; spilled values are read back one by one). */
  *entries(): IterableIterator<[Key, V]> {
    for (const k of this.keys.keys()) {
      const v = this.resident.get(k) ?? (JSON.parse(this.spill!.get(k)!) as V);
      yield [k, v];
    }
  }

  /**
   * Moves the least recently used values past `maxResident` to the spill store. Call between
   * batches: values handed out before may leave memory. A value unchanged since it was read from
   * the store leaves memory without being written again.
   */
  evict(): void {
    const over = this.resident.size - this.maxResident;
    if (!this.spill || over <= 0) return;
    const leaving: Key[] = [];
    const out: [Key, string][] = [];
    for (const [k, v] of this.resident) {
      if (leaving.length >= over) break;
      leaving.push(k);
      if (this.dirty.has(k) || !this.onDisk.has(k)) out.push([k, JSON.stringify(v)]);
    }
    if (out.length > 0) this.spill.put(out);
    this.spills += out.length;
    for (const k of leaving) {
      this.resident.delete(k);
      this.onDisk.add(k);
      this.dirty.delete(k);
    }
  }

  /** What changed since the last call (or load): applying it to the state then gives the state now. */
  changes(): Change[] {
    this.saved = true;
    const out: Change[] = [];
    const list = this.options.itemsSince;
    const whole = (k: Key): V => {
      const v = this.get(k)!;
      list?.(v, true);
      return v;
    };
    for (const k of this.changed) out.push(this.keys.has(k) ? [k, 1, whole(k)] : [k, 0]);
    for (const k of this.moved) out.push([k, 2, whole(k)]);
    for (const [k, items] of this.appends) out.push([k, 3, items]);
    for (const k of this.grown) {
      const items = list!(this.get(k)!, false);
      if (items.length > 0) out.push([k, 3, items]);
    }
    this.changed.clear();
    this.moved.clear();
    this.appends.clear();
    this.grown.clear();
    this.fresh.clear();
    return out;
  }

  /** A full snapshot and the changes after it, in order. Takes over their values (appended items go into them). */
  load(base: [Key, V][], deltas: Change[][] = []): void {
    this.saved = true;
    const whole = this.options.fromSaved ?? ((v: V) => v);
    const map = new Map<Key, V>();
    for (const [k, v] of base) map.set(k, whole(v));
    for (const d of deltas) {
      for (const [k, kind, v] of d) {
        if (kind === 0) map.delete(k);
        else if (kind === 1) map.set(k, whole(v as V));
        else if (kind === 3) {
          let value = map.get(k);
          for (const item of v as unknown[]) value = this.options.appendTo!(value, item);
          map.set(k, value as V);
        } else {
          map.delete(k);
          map.set(k, whole(v as V));
        }
      }
    }
    this.keys = new Map();
    this.resident = map;
    this.onDisk.clear();
    this.dirty.clear();
    this.spill?.clear();
    this.minDue = Infinity;
    for (const [k, v] of map) {
      this.options.itemsSince?.(v, true); // everything loaded is saved
      this.setDue(k, this.dueOf(v));
    }
    this.changed.clear();
    this.moved.clear();
    this.appends.clear();
    this.grown.clear();
    this.fresh.clear();
  }

  private setDue(k: Key, due: number): void {
    this.keys.set(k, due);
    if (due < this.minDue) this.minDue = due;
  }
}

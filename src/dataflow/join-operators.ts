// Joins on a key: windowed (both sides in the same window), interval (the right side's time
// within [left + lower, left + upper]) and stream–table lookups (the table built from a
// changelog). Inner joins emit pairs; left joins also emit (left, null) for a left record that
// found no match once nothing can match it any more. State is JSON per key, for exactly-once epochs.
import type { Key } from './dsl.js';
import { KeyedState } from './keyed-state.js';
import type { Emit, KeyedOperator } from './operator.js';
import { latestStart, slideOf, windowsDue, type WindowSpec } from './windows.js';

type Select = (left: any, right: any) => unknown;

/** A record a windowed join holds: its value (its time is its window's; states saved before carry a `t`, unused). */
interface Held {
  v: unknown;
  /** Left records of left joins only: matched at least once. */
  m?: boolean;
}

/** A record an interval join holds: its time decides what it pairs with and when it is dropped. */
interface Side extends Held {
  t: number;
}

interface JoinWindow {
  start: number;
  end: number;
  l: Held[];
  r: Held[];
  fired: boolean;
  /** How many of `l` and `r` the saved state holds (the rest are listed as items at the next save; set again when loaded). */
  sl: number;
  sr: number;
}

export interface WindowJoinConfig {
  spec: WindowSpec;
  allowedLateness: number;
  outer: boolean;
  select: Select;
}

/** The records a key's windows gained since last listed, as state items [start, end, port, side]; `all`: marks everything listed. */
function itemsSince(windows: JoinWindow[], all: boolean): unknown[] {
  const items: unknown[] = [];
  for (const w of windows) {
    if (!all) {
      for (let i = w.sl; i < w.l.length; i++) items.push([w.start, w.end, 0, w.l[i]]);
      for (let i = w.sr; i < w.r.length; i++) items.push([w.start, w.end, 1, w.r[i]]);
    }
    w.sl = w.l.length;
    w.sr = w.r.length;
  }
  return items;
}

/** Adds a record to its window of a key's windows (creating the window), as `add` does: state items are [start, end, port, side]. */
function addToWindow(windows: JoinWindow[] | undefined, item: unknown): JoinWindow[] {
  const [start, end, port, side] = item as [number, number, number, Held];
  const list = windows ?? [];
  const w = windowOf(list, start, end);
  (port === 0 ? w.l : w.r).push(side);
  return list;
}

/** The window of a key's list that starts at `start`, added when missing. */
function windowOf(list: JoinWindow[], start: number, end: number): JoinWindow {
  for (const x of list) if (x.start === start) return x;
  const w: JoinWindow = { start, end, l: [], r: [], fired: false, sl: 0, sr: 0 }; // (all fields from the start: one hidden class)
  list.push(w);
  return w;
}

/**
 * Records of both sides in the same window and key pair up when the window fires (watermark at its
 * end); a record up to allowedLateness late pairs at once with what the window holds. Left joins
 * emit (left, null) for unmatched left records when the window is dropped (end + allowedLateness).
 */
export class WindowJoinOperator implements KeyedOperator {
  readonly state: KeyedState<JoinWindow[]>;
  private readonly spec: Exclude<WindowSpec, { kind: 'session' }>;

  constructor(private readonly c: WindowJoinConfig, private readonly emit: Emit) {
    if (c.spec.kind === 'session') throw new Error('a windowed join needs tumbling or sliding windows');
    this.spec = c.spec;
    this.state = new KeyedState<JoinWindow[]>({
      appendTo: addToWindow,
      dueOf: (windows) => windowsDue(windows, c.allowedLateness),
      itemsSince,
    });
  }

  add(port: number, key: Key, v: unknown, t: number, watermark: number): boolean {
    let windows: JoinWindow[] | undefined;
    const { spec } = this;
    const step = slideOf(spec);
    const last = latestStart(spec, t);
    for (let start = last - spec.size + step; start <= last; start += step) {
      const end = start + spec.size;
      if (end + this.c.allowedLateness <= watermark) continue;
      windows ??= this.state.get(key);
      if (!windows) this.state.set(key, (windows = []));
      const side: Held = port === 0 && this.c.outer ? { v, m: false } : { v };
      const w = windowOf(windows, start, end);
      (port === 0 ? w.l : w.r).push(side); // as addToWindow does when the state is loaded
      this.state.grew(key, end);
      if (w.fired || w.end <= watermark) {
        // Late but allowed: pair with what the window holds now.
        if (port === 0) for (const r of w.r) this.pair(key, side, r, w.end - 1);
        else for (const l of w.l) this.pair(key, l, side, w.end - 1);
        if (!w.fired) {
          w.fired = true;
          this.state.touch(key);
        } // (already fired: the record's own item is all that changed)
      }
    }
    return windows !== undefined;
  }

  advance(watermark: number): void {
    this.state.visitDue(watermark, (key, windows) => {
      let fired = false;
      let dropped = 0;
      for (const w of windows) {
        if (!w.fired && w.end <= watermark) {
          w.fired = fired = true;
          for (const l of w.l) for (const r of w.r) this.pair(key, l, r, w.end - 1);
        }
        if (w.end + this.c.allowedLateness <= watermark) {
          dropped++;
          if (this.c.outer) for (const l of w.l) if (!l.m) this.emit(this.c.select(l.v, null), w.end - 1);
        }
      }
      // (A key whose windows are all dropped is deleted: nothing else about it needs saving.)
      if (dropped === windows.length) this.state.delete(key);
      else if (dropped > 0) this.state.set(key, windows.filter((w) => w.end + this.c.allowedLateness > watermark));
      else if (fired) this.state.touch(key);
    });
  }

  private pair(key: Key, l: Held, r: Held, t: number): void {
    if (this.c.outer && !l.m) {
      l.m = true; // kept for left joins only
      this.state.touch(key);
    }
    this.emit(this.c.select(l.v, r.v), t);
  }
}

export interface IntervalJoinConfig {
  lower: number;
  upper: number;
  allowedLateness: number;
  outer: boolean;
  select: Select;
}

interface IntervalKey {
  l: Side[];
  r: Side[];
}

/**
 * A state item of an interval join: a record added on port 0 or 1, the records dropped at a
 * watermark ([2, watermark − allowedLateness]), or a left join's left record that matched for the
 * first time ([3, its index in the key's left buffer]).
 */
type IntervalItem = [port: 0 | 1, side: Side] | [drop: 2, below: number] | [matched: 3, index: number];
const DROP = 2;
const MATCHED = 3;

/**
 * The first index of a buffer sorted by time whose record has `t + shift >= min` (`> min` when
 * `after`), by bisection. A bound, not a predicate, so no function is made per record.
 */
function firstFrom(buf: readonly Side[], shift: number, min: number, after = false): number {
  let lo = 0;
  let hi = buf.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const x = buf[mid]!.t + shift;
    if (after ? x > min : x >= min) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** Inserts a record into a buffer sorted by time, after those of the same time (arrival order among equals). */
function insertByTime(buf: Side[], side: Side): void {
  const i = firstFrom(buf, 0, side.t, true);
  if (i === buf.length) buf.push(side);
  else buf.splice(i, 0, side);
}

const byTime = (a: Side, b: Side) => a.t - b.t;

/**
 * A left record at tl pairs with every right record at tr in [tl + lower, tl + upper], as soon as
 * both are there; the pair's time is max(tl, tr). A record older than watermark − allowedLateness
 * is late (what it could have matched may be gone). A left record is kept until the watermark
 * passes tl + upper + allowedLateness (then a left join emits (left, null) if it never matched); a
 * right record until tr − lower + allowedLateness.
 */
export class IntervalJoinOperator implements KeyedOperator {
  readonly state: KeyedState<IntervalKey>;

  constructor(private readonly c: IntervalJoinConfig, private readonly emit: Emit) {
    if (c.lower > c.upper) throw new Error('an interval join needs lower <= upper');
    // A key is due when its first record is dropped: its buffers are sorted by time.
    const dueOf = (k: IntervalKey) => Math.min(k.l.length > 0 ? this.dropsAt(0, k.l[0]!.t) : Infinity, k.r.length > 0 ? this.dropsAt(1, k.r[0]!.t) : Infinity);
    // (A drop leaves the key's due time to be taken again from its value: visitDue does.)
    const dueOfItem = (item: unknown) => {
      const x = item as IntervalItem;
      return x[0] === DROP || x[0] === MATCHED ? Infinity : this.dropsAt(x[0], x[1].t);
    };
    // Buffers saved before they were kept sorted (2026-11-25) are sorted when loaded (stably: arrival order among equals).
    const fromSaved = (k: IntervalKey) => {
      k.l.sort(byTime);
      k.r.sort(byTime);
      return k;
    };
    this.state = new KeyedState<IntervalKey>({ appendTo: (k, item) => this.apply(k, item as IntervalItem), dueOf, dueOfItem, fromSaved });
  }

  /** Applies a state item to a key's buffers, as `add` and `advance` do (appendTo, when state is loaded). */
  private apply(k: IntervalKey | undefined, item: IntervalItem): IntervalKey {
    const value = k ?? { l: [], r: [] };
    if (item[0] === DROP) this.drop(value, item[1]);
    else if (item[0] === MATCHED) {
      const l = value.l[item[1]];
      if (l) l.m = true;
    } else insertByTime(item[0] === 0 ? value.l : value.r, item[1]);
    return value;
  }

  add(port: number, key: Key, v: unknown, t: number, watermark: number): boolean {
    if (t + this.c.allowedLateness < watermark) return false;
    let k = this.state.get(key);
    if (!k) this.state.set(key, (k = { l: [], r: [] }));
    // Buffers are sorted by time: a record pairs with a range of the other side's, found by bisection.
    let side: Side;
    if (port === 0) {
      side = this.c.outer ? { v, t, m: false } : { v, t };
      for (let i = firstFrom(k.r, 0, t + this.c.lower); i < k.r.length && k.r[i]!.t <= t + this.c.upper; i++) this.pair(key, side, k.r[i]!, -1);
    } else {
      side = { v, t };
      for (let i = firstFrom(k.l, this.c.upper, t); i < k.l.length && t >= k.l[i]!.t + this.c.lower; i++) this.pair(key, k.l[i]!, side, i);
    }
    const item: IntervalItem = [port as 0 | 1, side];
    this.apply(k, item);
    this.state.appended(key, item);
    return true;
  }

  /**
   * Drops the records `w` (the watermark − allowedLateness) has passed — prefixes of both buffers,
   * which are sorted by time — and returns the left ones.
   */
  private drop(k: IntervalKey, w: number): Side[] {
    k.r.splice(0, firstFrom(k.r, -this.c.lower, w));
    return k.l.splice(0, firstFrom(k.l, this.c.upper, w));
  }

  /** The watermark past which a record is dropped (left: t + upper, right: t − lower; plus lateness). */
  private dropsAt(port: number, t: number): number {
    return (port === 0 ? t + this.c.upper : t - this.c.lower) + this.c.allowedLateness + 1;
  }

  advance(watermark: number): void {
    const w = watermark - this.c.allowedLateness;
    this.state.visitDue(watermark, (key, k) => {
      const held = k.l.length + k.r.length;
      for (const l of this.drop(k, w)) if (this.c.outer && !l.m) this.emit(this.c.select(l.v, null), l.t);
      // What was dropped is saved as the drop (a few bytes), not as the key's whole buffer again:
      // a hot key holding many records would rewrite all of them at every watermark step.
      if (k.l.length === 0 && k.r.length === 0) this.state.delete(key);
      else if (k.l.length + k.r.length < held) this.state.appended(key, [DROP, w] satisfies IntervalItem);
    });
  }

  /**
   * Emits a pair. A left join marks the left record matched: saved as [3, index] when it is in the
   * buffer at `index` (not the key's whole buffer); a record being added (-1) is saved with its mark.
   */
  private pair(key: Key, l: Side, r: Side, index: number): void {
    if (this.c.outer && !l.m) {
      l.m = true; // kept for left joins only
      if (index >= 0) this.state.appended(key, [MATCHED, index] satisfies IntervalItem);
    }
    this.emit(this.c.select(l.v, r.v), Math.max(l.t, r.t));
  }
}

export interface LookupConfig {
  outer: boolean;
  select: Select;
  /** A changelog record that deletes its key. */
  isDelete?: (v: any) => boolean;
}

/**
 * Enrichment: port 1 is a changelog (latest value per key is the table), port 0 records are joined
 * with the table row of their key as it is when they are processed. Never late.
 */
export class LookupOperator implements KeyedOperator {
  readonly state = new KeyedState<unknown>();

  constructor(private readonly c: LookupConfig, private readonly emit: Emit) {}

  add(port: number, key: Key, v: unknown, t: number): boolean {
    if (port === 1) {
      if (this.c.isDelete?.(v)) this.state.delete(key);
      else this.state.set(key, v);
      return true;
    }
    const row = this.state.get(key);
    if (row !== undefined) this.emit(this.c.select(v, row), t);
    else if (this.c.outer) this.emit(this.c.select(v, null), t);
    return true;
  }

  advance(): void {}
}

// Keyed windows: accumulators per key and window, fired when the watermark reaches a window's
// end, updated (and emitted again) by records up to allowedLateness late, then dropped. A record
// later than that for all its windows is reported as late, never silently dropped.
// Partial accumulators (pre-aggregated before a shuffle) merge in with `addPartial`.
import type { Aggregator } from './aggregators.js';
import type { Key } from './dsl.js';
import { KeyedState } from './keyed-state.js';
import type { Emit, KeyedOperator } from './operator.js';
import { assign, firstEnd, type WindowSpec } from './windows.js';

export interface WindowState {
  start: number;
  end: number;
  acc: unknown;
  fired: boolean;
}

export interface WindowOperatorConfig {
  spec: WindowSpec;
  allowedLateness: number;
  agg: Aggregator<any, any, any>;
}

export class WindowOperator implements KeyedOperator {
  readonly state = new KeyedState<WindowState[]>();
  private nextFire = Infinity;
  private nextPurge = Infinity;

  /** `fires: false` collects without ever emitting (pre-aggregation before a shuffle). */
  constructor(private readonly c: WindowOperatorConfig, private readonly emit: Emit, private readonly fires = true) {}

  /** Adds a record; returns false when every window it belongs to is past allowed lateness. */
  add(_port: number, key: Key, value: unknown, t: number, watermark: number): boolean {
    const spec = this.c.spec;
    if (spec.kind === 'tumbling') {
      // The common case, without building the window list.
      const end = firstEnd(spec, t);
      if (end + this.c.allowedLateness <= watermark) return false;
      this.merge(key, end - spec.size, end, undefined, watermark, true, value);
      return true;
    }
    const live = assign(spec, t).filter((w) => w.end + this.c.allowedLateness > watermark);
    if (live.length === 0) return false;
    const session = this.c.spec.kind === 'session';
    for (const w of live) this.merge(key, w.start, w.end, session ? this.c.agg.add(this.c.agg.create(), value) : undefined, watermark, !session, value);
    return true;
  }

  /** Merges a partial accumulator of one window; false when that window is past allowed lateness. */
  addPartial(key: Key, start: number, end: number, acc: unknown, watermark: number): boolean {
    if (end + this.c.allowedLateness <= watermark) return false;
    this.merge(key, start, end, acc, watermark, false);
    return true;
  }

  private merge(key: Key, start: number, end: number, acc: unknown, watermark: number, isRecord: boolean, value?: unknown): void {
    let windows = this.state.get(key);
    if (!windows) this.state.set(key, (windows = []));
    let w = this.c.spec.kind === 'session' ? this.mergeSession(key, windows, start, end) : undefined;
    if (this.c.spec.kind !== 'session') for (const x of windows) if (x.start === start) w = x;
    if (!w) {
      windows.push((w = { start, end, acc: this.c.agg.create(), fired: false }));
    }
    this.state.touch(key);
    // A single record is added (cheaper than merging a one-record accumulator); partials merge.
    w.acc = isRecord ? this.c.agg.add(w.acc, value) : this.c.agg.merge(w.acc, acc);
    if (!this.fires) return;
    if (w.fired || w.end <= watermark) this.fire(key, w); // late but allowed: the result changes
    else this.nextFire = Math.min(this.nextFire, w.end);
    this.nextPurge = Math.min(this.nextPurge, w.end + this.c.allowedLateness);
  }

  /** Fires windows the watermark has reached and forgets those past allowed lateness. */
  advance(watermark: number): void {
    if (watermark >= this.nextFire) {
      this.nextFire = Infinity;
      for (const [key, windows] of this.state) {
        for (const w of windows) {
          if (w.fired) continue;
          if (w.end <= watermark) this.fire(key, w);
          else this.nextFire = Math.min(this.nextFire, w.end);
        }
      }
    }
    if (watermark >= this.nextPurge) {
      this.nextPurge = Infinity;
      for (const [key, windows] of this.state) {
        const kept = windows.filter((w) => w.end + this.c.allowedLateness > watermark);
        for (const w of kept) this.nextPurge = Math.min(this.nextPurge, w.end + this.c.allowedLateness);
        if (kept.length === 0) this.state.delete(key);
        else if (kept.length < windows.length) this.state.set(key, kept);
      }
    }
  }

  /** Takes every window held (pre-aggregation: the partials of one epoch). */
  takeAll(): { key: Key; window: WindowState }[] {
    const out: { key: Key; window: WindowState }[] = [];
    for (const [key, windows] of this.state) for (const window of windows) out.push({ key, window });
    this.state.load([]);
    return out;
  }

  /** Number of windows held (for metrics and tests). */
  get size(): number {
    let n = 0;
    for (const windows of this.state.values()) n += windows.length;
    return n;
  }

  restored(): void {
    this.nextFire = Infinity;
    this.nextPurge = Infinity;
    for (const windows of this.state.values()) {
      for (const w of windows) {
        if (!w.fired) this.nextFire = Math.min(this.nextFire, w.end);
        this.nextPurge = Math.min(this.nextPurge, w.end + this.c.allowedLateness);
      }
    }
  }

  private fire(key: Key, w: WindowState): void {
    w.fired = true;
    this.state.touch(key);
    const result = this.c.agg.result(w.acc) as Record<string, unknown>;
    this.emit({ key, windowStart: w.start, windowEnd: w.end, ...result }, w.end - 1);
  }

  /** A session [start, end) absorbs every session of the key it overlaps. */
  private mergeSession(key: Key, windows: WindowState[], start: number, end: number): WindowState | undefined {
    const overlapping = windows.filter((w) => w.start < end && start < w.end);
    if (overlapping.length === 0) return undefined;
    const merged: WindowState = {
      start: Math.min(start, ...overlapping.map((w) => w.start)),
      end: Math.max(end, ...overlapping.map((w) => w.end)),
      acc: overlapping.map((w) => w.acc).reduce((a, b) => this.c.agg.merge(a, b)),
      fired: overlapping.some((w) => w.fired),
    };
    this.state.set(key, [...windows.filter((w) => !overlapping.includes(w)), merged]);
    return merged;
  }
}

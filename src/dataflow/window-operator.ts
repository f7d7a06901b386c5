// Keyed windows: accumulators per key and window, fired when the watermark reaches a window's
// end, updated (and emitted again) by records up to allowedLateness late, then dropped. A record
// later than that for all its windows is reported as late, never silently dropped.
// Partial accumulators (pre-aggregated before a shuffle) merge in with `addPartial`.
import type { Aggregator } from './aggregators.js';
import type { Key } from './dsl.js';
import { KeyedState } from './keyed-state.js';
import type { Emit, KeyedOperator } from './operator.js';
import { assign, firstEnd, windowsDue, type WindowSpec } from './windows.js';

export interface WindowState {
  start: number;
  end: number;
  acc: unknown;
  fired: boolean;
  /** Growing accumulators only: an accumulator of the records added since the last save (saved as an item, not with `acc`). */
  delta?: unknown;
}

/** A window's records since the last save, as a state item: [start, end, accumulator]. */
type DeltaItem = [start: number, end: number, acc: unknown];

export interface WindowOperatorConfig {
  spec: WindowSpec;
  allowedLateness: number;
  agg: Aggregator<any, any, any>;
}

export class WindowOperator implements KeyedOperator {
  readonly state: KeyedState<WindowState[]>;

  /** Whether windows save their growing accumulators by epoch deltas (aggregator `grows`; not when pre-aggregating). */
  private readonly deltas: boolean;

  /** `fires: false` collects without ever emitting (pre-aggregation before a shuffle). */
  constructor(private readonly c: WindowOperatorConfig, private readonly emit: Emit, private readonly fires = true) {
    this.deltas = fires && c.agg.grows === true;
    const dueOf = (windows: WindowState[]) => windowsDue(windows, c.allowedLateness);
    this.state = new KeyedState<WindowState[]>(!fires ? {} : this.deltas ? { dueOf, appendTo: (windows, item) => this.addDelta(windows, item as DeltaItem), itemsSince: deltasSince } : { dueOf });
  }

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
    let w: WindowState | undefined;
    if (this.c.spec.kind === 'session') w = this.mergeSession(key, windows, start, end);
    else for (const x of windows) if (x.start === start) w = x;
    if (!w) windows.push((w = { start, end, acc: this.c.agg.create(), fired: false }));
    // A single record is added (cheaper than merging a one-record accumulator); partials merge.
    const agg = this.c.agg;
    w.acc = isRecord ? agg.add(w.acc, value) : agg.merge(w.acc, acc);
    // (Deltas only once the state is saved: before the first save every key is saved whole anyway.)
    const deltas = this.deltas && this.state.saving;
    if (deltas) w.delta = isRecord ? agg.add(w.delta ?? agg.create(), value) : agg.merge(w.delta ?? agg.create(), acc);
    if (this.fires && (w.fired || w.end <= watermark)) this.fire(key, w); // late but allowed: the result changes
    if (deltas) this.state.grew(key, w.fired ? w.end + this.c.allowedLateness : w.end);
    else this.state.touch(key);
  }

  /** Merges a saved delta into its window (appendTo, when the state is loaded). */
  private addDelta(windows: WindowState[] | undefined, [start, end, acc]: DeltaItem): WindowState[] {
    const list = windows ?? [];
    const w = list.find((x) => x.start === start);
    if (w) w.acc = this.c.agg.merge(w.acc, acc);
    else list.push({ start, end, acc, fired: false });
    return list;
  }

  /** Fires windows the watermark has reached and forgets those past allowed lateness. */
  advance(watermark: number): void {
    this.state.visitDue(watermark, (key, windows) => {
      for (const w of windows) if (!w.fired && w.end <= watermark) this.fire(key, w);
      const kept = windows.filter((w) => w.end + this.c.allowedLateness > watermark);
      if (kept.length === 0) this.state.delete(key);
      else if (kept.length < windows.length) this.state.set(key, kept);
    });
  }

  /** Takes every window held (pre-aggregation: the partials of one epoch). */
  takeAll(): { key: Key; window: WindowState }[] {
    const out: { key: Key; window: WindowState }[] = [];
    for (const [key, windows] of this.state.entries()) for (const window of windows) out.push({ key, window });
    this.state.load([]);
    return out;
  }

  private fire(key: Key, w: WindowState): void {
    if (!w.fired) this.state.touch(key);
    w.fired = true;
    this.emit(this.resultOf(key, w), w.end - 1);
  }

  private resultOf(key: Key, w: WindowState): Record<string, unknown> {
    return { key, windowStart: w.start, windowEnd: w.end, ...(this.c.agg.result(w.acc) as Record<string, unknown>) };
  }

  /**
   * A session [start, end) absorbs every session of the key it overlaps. The results of those that
   * fired no longer hold: they are retracted (a table deletes their rows) before the merged one fires.
   */
  private mergeSession(key: Key, windows: WindowState[], start: number, end: number): WindowState | undefined {
    const overlapping = windows.filter((w) => w.start < end && start < w.end);
    if (overlapping.length === 0) return undefined;
    if (this.fires) for (const w of overlapping) if (w.fired) this.emit(this.resultOf(key, w), w.end - 1, true);
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

/** The deltas of a key's windows since the last save, as items; `all`: the windows are saved whole (or were just loaded). */
function deltasSince(windows: WindowState[], all: boolean): unknown[] {
  const items: DeltaItem[] = [];
  for (const w of windows) {
    if (w.delta === undefined) continue;
    if (!all) items.push([w.start, w.end, w.delta]);
    w.delta = undefined;
  }
  return items;
}

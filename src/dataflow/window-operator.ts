// Keyed windows: accumulators per key and window, fired when the watermark reaches a window's
// end, updated (and emitted again) by records up to allowedLateness late, then dropped. A record
// later than that for all its windows is reported as late, never silently dropped.
import type { Aggregator } from './aggregators.js';
import type { Key } from './dsl.js';
import { assign, type WindowSpec } from './windows.js';

interface WindowState {
  start: number;
  end: number;
  acc: unknown;
  fired: boolean;
}

interface KeyState {
  key: Key;
  windows: WindowState[];
}

export interface WindowOperatorConfig {
  key: (v: any) => Key;
  spec: WindowSpec;
  allowedLateness: number;
  agg: Aggregator<any, any, any>;
}

export type Emit = (value: unknown, eventTime: number) => void;

export class WindowOperator {
  private readonly keys = new Map<Key, KeyState>();
  private nextFire = Infinity;
  private nextPurge = Infinity;

  constructor(private readonly c: WindowOperatorConfig, private readonly emit: Emit) {}

  /** Adds a record; returns false when every window it belongs to is past allowed lateness. */
  add(value: unknown, t: number, watermark: number): boolean {
    const live = assign(this.c.spec, t).filter((w) => w.end + this.c.allowedLateness > watermark);
    if (live.length === 0) return false;
    const key = this.c.key(value);
    let ks = this.keys.get(key);
    if (!ks) this.keys.set(key, (ks = { key, windows: [] }));
    for (const w of live) {
      let state = this.c.spec.kind === 'session' ? this.mergeSession(ks, w.start, w.end) : ks.windows.find((x) => x.start === w.start);
      if (!state) ks.windows.push((state = { start: w.start, end: w.end, acc: this.c.agg.create(), fired: false }));
      state.acc = this.c.agg.add(state.acc, value);
      if (state.fired || state.end <= watermark) this.fire(ks, state); // late but allowed: the result changes
      else this.nextFire = Math.min(this.nextFire, state.end);
      this.nextPurge = Math.min(this.nextPurge, state.end + this.c.allowedLateness);
    }
    return true;
  }

  /** Fires windows the watermark has reached and forgets those past allowed lateness. */
  advance(watermark: number): void {
    if (watermark >= this.nextFire) {
      this.nextFire = Infinity;
      for (const ks of this.keys.values()) {
        for (const w of ks.windows) {
          if (w.fired) continue;
          if (w.end <= watermark) this.fire(ks, w);
          else this.nextFire = Math.min(this.nextFire, w.end);
        }
      }
    }
    if (watermark >= this.nextPurge) {
      this.nextPurge = Infinity;
      for (const [key, ks] of this.keys) {
        ks.windows = ks.windows.filter((w) => w.end + this.c.allowedLateness > watermark);
        for (const w of ks.windows) this.nextPurge = Math.min(this.nextPurge, w.end + this.c.allowedLateness);
        if (ks.windows.length === 0) this.keys.delete(key);
      }
    }
  }

  /** Number of windows held (for metrics and tests). */
  get size(): number {
    let n = 0;
    for (const ks of this.keys.values()) n += ks.windows.length;
    return n;
  }

  private fire(ks: KeyState, w: WindowState): void {
    w.fired = true;
    const result = this.c.agg.result(w.acc) as Record<string, unknown>;
    this.emit({ key: ks.key, windowStart: w.start, windowEnd: w.end, ...result }, w.end - 1);
  }

  /** A session [start, end) absorbs every session of the key it overlaps. */
  private mergeSession(ks: KeyState, start: number, end: number): WindowState | undefined {
    const overlapping = ks.windows.filter((w) => w.start < end && start < w.end);
    if (overlapping.length === 0) return undefined;
    const merged: WindowState = {
      start: Math.min(start, ...overlapping.map((w) => w.start)),
      end: Math.max(end, ...overlapping.map((w) => w.end)),
      acc: overlapping.map((w) => w.acc).reduce((a, b) => this.c.agg.merge(a, b)),
      fired: overlapping.some((w) => w.fired),
    };
    ks.windows = [...ks.windows.filter((w) => !overlapping.includes(w)), merged];
    return merged;
  }
}

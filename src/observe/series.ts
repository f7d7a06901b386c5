// Time series kept in memory for the dashboard: every SERIES_INTERVAL_MS a sampler reads named
// values (a counter's total, a gauge), and each series keeps the last SERIES_POINTS points: for a
// counter, its rate per second over the interval; for a gauge, its value.
import type { Clock } from '../clock.js';

export const SERIES_INTERVAL_MS = 5_000;
export const SERIES_POINTS = 180; // 15 minutes

/** What a sample reads: per name, a counter total (`rate`: shown per second) or a gauge value. */
export type Reading = Map<string, { value: number; rate: boolean }>;

export class Series {
  private readonly points = new Map<string, [number, number][]>();
  private readonly last = new Map<string, { at: number; value: number }>();

  constructor(private readonly interval = SERIES_INTERVAL_MS, private readonly keep = SERIES_POINTS) {}

  get intervalMs(): number {
    return this.interval;
  }

  /** Adds a sample taken at `at` (epoch ms). A counter's first reading only sets where its rate starts. */
  add(at: number, reading: Reading): void {
    for (const [name, { value, rate }] of reading) {
      let point: number | undefined = value;
      if (rate) {
        const before = this.last.get(name);
        this.last.set(name, { at, value });
        point = before && at > before.at ? Math.max(0, ((value - before.value) * 1000) / (at - before.at)) : undefined;
      }
      if (point === undefined) continue;
      let list = this.points.get(name);
      if (!list) this.points.set(name, (list = []));
      list.push([at, Math.round(point * 100) / 100]);
      if (list.length > this.keep) list.splice(0, list.length - this.keep);
    }
  }

  /** The latest point of a series (a rate or a value), or undefined. */
  latest(name: string): number | undefined {
    return this.points.get(name)?.at(-1)?.[1];
  }

  get(name: string): [number, number][] {
    return this.points.get(name) ?? [];
  }

  get names(): string[] {
    return [...this.points.keys()].sort();
  }
}

/** Samples `read()` into `series` every interval on the clock until the signal aborts. */
export async function sample(series: Series, read: () => Promise<Reading>, clock: Clock, signal: AbortSignal, onError: (e: unknown) => void): Promise<void> {
  while (!signal.aborted) {
    try {
      series.add(clock.now(), await read());
    } catch (e) {
      onError(e);
    }
    await clock.sleep(series.intervalMs, signal).catch(() => {}); // (aborted: the loop ends)
  }
}

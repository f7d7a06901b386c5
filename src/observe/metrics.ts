// Metrics: one prom-client registry, metrics defined once by name (a component asks for its
// counters, and a second instance gets the same ones). Pipeline worker threads report their units'
// counters and commit times to the main thread, which sets them here (decision 017).
// Names follow Prometheus' conventions: base units, `_total` counters, `_seconds` histograms.
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/** Seconds buckets for request and commit durations: 0.5 ms to 10 s. */
export const DURATION_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10];
/** Records per stored batch: 1 to 64k. */
export const BATCH_BUCKETS = [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536];

export class Metrics {
  readonly registry = new Registry();
  private readonly made = new Map<string, Counter | Gauge | Histogram>();
  /** False for metrics that count nothing (`Metrics.off()`: to measure what metrics cost). */
  readonly enabled: boolean;

  /** `process`: also Node's process metrics (CPU, memory, event loop lag, GC) — once per process, on the main thread. */
  constructor(options: { process?: boolean; enabled?: boolean } = {}) {
    this.enabled = options.enabled ?? true;
    if (options.process && this.enabled) collectDefaultMetrics({ register: this.registry, prefix: 'sluice_' });
  }

  /** Metrics whose counters, gauges and histograms do nothing (benchmarks measure against them). */
  static off(): Metrics {
    return new Metrics({ enabled: false });
  }

  /** A counter; `collect` (for totals kept elsewhere, such as units' stats) sets it when it is scraped. */
  counter<L extends string>(name: string, help: string, labelNames: readonly L[] = [], collect?: (c: Counter<L>) => void | Promise<void>): Counter<L> {
    return this.once(name, () => new Counter({ name, help, labelNames, registers: [this.registry], ...(collect ? { collect(this: Counter<L>) { return collect(this); } } : {}) })) as Counter<L>;
  }

  /** A gauge; `collect` sets it when it is scraped. */
  gauge<L extends string>(name: string, help: string, labelNames: readonly L[] = [], collect?: (g: Gauge<L>) => void | Promise<void>): Gauge<L> {
    return this.once(name, () => new Gauge({ name, help, labelNames, registers: [this.registry], ...(collect ? { collect(this: Gauge<L>) { return collect(this); } } : {}) })) as Gauge<L>;
  }

  histogram<L extends string>(name: string, help: string, labelNames: readonly L[] = [], buckets: number[] = DURATION_BUCKETS): Histogram<L> {
    return this.once(name, () => new Histogram({ name, help, labelNames, buckets, registers: [this.registry] })) as Histogram<L>;
  }

  /** The metric of that name, when a component made it (none in a disabled Metrics). */
  registered(name: string): Counter | Gauge | Histogram | undefined {
    return this.enabled ? this.made.get(name) : undefined;
  }

  /** Prometheus text format. */
  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  private once(name: string, make: () => Counter | Gauge | Histogram): Counter | Gauge | Histogram {
    let m = this.made.get(name);
    if (!m) this.made.set(name, (m = this.enabled ? make() : (NOOP as unknown as Counter)));
    return m;
  }
}

/** A counter's total over all its label sets (for rates and the overview). */
export async function total(c: Counter, match: (labels: Record<string, string | number>) => boolean = () => true): Promise<number> {
  return (await c.get()).values.reduce((n, v) => (match(v.labels as Record<string, string | number>) ? n + v.value : n), 0);
}

/** What a disabled Metrics hands out: every method a component calls, doing nothing. */
const NOOP = { inc() {}, observe() {}, set() {}, reset() {}, get: async () => ({ values: [] }) };

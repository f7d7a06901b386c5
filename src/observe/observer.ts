// What a Sluice process knows about itself: its metrics registry, its logger, the pipelines it
// runs, and the time series the dashboard draws. One per process (`sluice dev/start`); a gateway
// made without one gets its own, logging nothing.
import { systemClock, type Clock } from '../clock.js';
import type { PipelineRun } from '../dataflow/runtime/runner.js';
import type { DependencyStats } from '../resilience/index.js';
import { silentLogger, type Logger } from './log.js';
import { Metrics, total } from './metrics.js';
import { emittedBy, pipelineMetrics } from './pipeline-metrics.js';
import { dependencyMetrics } from './dependency-metrics.js';
import { unitSeries } from './pipelines.js';
import { Counter } from 'prom-client';
import { sample, Series, type Reading } from './series.js';

export interface ObserverOptions {
  /** Default: a registry of its own (without Node's process metrics). */
  metrics?: Metrics;
  /** Default: a logger that writes nothing. */
  log?: Logger;
  clock?: Clock;
  /** The Sluice version shown by the overview. */
  version?: string;
}

export class Observer {
  readonly metrics: Metrics;
  readonly log: Logger;
  readonly clock: Clock;
  readonly version: string;
  readonly startedAt: number;
  readonly series = new Series();
  private readonly pipelines: PipelineRun[] = [];
  /** Dependencies called outside the pipelines (function destinations). */
  private readonly dependencySources: (() => DependencyStats[])[] = [];
  private sampling?: AbortController;

  constructor(o: ObserverOptions = {}) {
    this.metrics = o.metrics ?? new Metrics();
    this.log = o.log ?? silentLogger();
    this.clock = o.clock ?? systemClock;
    this.version = o.version ?? '0.0.0';
    this.startedAt = this.clock.now();
    pipelineMetrics(this.metrics, () => this.pipelines);
    dependencyMetrics(this.metrics, () => this.dependencyStats());
  }

  /** Pipelines this process runs: their units' counters reach /metrics, the overview and the dashboard. */
  watch(runs: PipelineRun[]): void {
    for (const r of runs) if (!this.pipelines.includes(r)) this.pipelines.push(r);
  }

  /** Dependencies called outside the pipelines (function destinations): their counters reach /metrics. */
  watchDependencies(source: () => DependencyStats[]): void {
    this.dependencySources.push(source);
  }

  /** Every dependency's counters: the pipelines' sinks (one entry per thread) and the other sources'. */
  dependencyStats(): DependencyStats[] {
    return [...this.pipelines.flatMap((r) => r.dependencyStats()), ...this.dependencySources.flatMap((s) => s())];
  }

  get runs(): readonly PipelineRun[] {
    return this.pipelines;
  }

  run(name: string): PipelineRun | undefined {
    return this.pipelines.find((r) => r.pipeline.name === name);
  }

  /** Prometheus text (pipeline worker threads report their counters and commit times to this thread). */
  metricsText(): Promise<string> {
    return this.metrics.text();
  }

  /** Starts sampling the series every interval (idempotent); stop() ends it. */
  start(): void {
    if (this.sampling) return;
    this.sampling = new AbortController();
    void sample(this.series, () => this.reading(), this.clock, this.sampling.signal, (e) => this.log.warn({ err: (e as Error).message }, 'could not sample the dashboard series'));
  }

  stop(): void {
    this.sampling?.abort();
    this.sampling = undefined;
  }

  /** One sample of every series (decision 017 names them). */
  async reading(): Promise<Reading> {
    const r: Reading = new Map();
    const ingest = this.metrics.counter('sluice_ingest_records_total', '', ['stream', 'api', 'result']);
    const bytes = this.metrics.counter('sluice_ingest_bytes_total', '', ['stream', 'api']);
    const rejected = this.metrics.counter('sluice_http_rejections_total', '', ['code', 'status']);
    r.set('ingest.records', { value: await total(ingest, (l) => l.result !== 'failed'), rate: true });
    r.set('ingest.bytes', { value: await total(bytes), rate: true });
    r.set('ingest.rejected', { value: await total(rejected, (l) => !THROTTLES.has(String(l.code))), rate: true });
    r.set('ingest.throttled', { value: await total(rejected, (l) => THROTTLES.has(String(l.code))), rate: true });
    const perStream = new Map<string, number>();
    for (const v of (await ingest.get()).values) {
      if (v.labels.result === 'failed') continue;
      perStream.set(String(v.labels.stream), (perStream.get(String(v.labels.stream)) ?? 0) + v.value);
    }
    for (const [stream, n] of perStream) r.set(`stream.${stream}.records`, { value: n, rate: true });
    await this.perLabel(r, 'sluice_function_invocations_total', 'function', (f) => `function.${f}.invocations`);
    await this.perLabel(r, 'sluice_function_errors_total', 'function', (f) => `function.${f}.errors`);
    await this.perLabel(r, 'sluice_function_throttles_total', 'function', (f) => `function.${f}.throttles`);
    await this.perLabel(r, 'sluice_dependency_attempts_total', 'dependency', (d) => `dependency.${d}.attempts`);
    await this.perLabel(r, 'sluice_dependency_retries_total', 'dependency', (d) => `dependency.${d}.retries`);
    await this.perLabel(r, 'sluice_dependency_failures_total', 'dependency', (d) => `dependency.${d}.failures`);
    const now = this.clock.now();
    for (const run of this.pipelines) {
      const p = run.pipeline.name;
      const stats = run.unitStats();
      const sources = stats.filter((s) => s.unit.startsWith('s.'));
      r.set(`pipeline.${p}.records`, { value: sources.reduce((n, s) => n + s.records, 0), rate: true });
      r.set(`pipeline.${p}.late`, { value: stats.reduce((n, s) => n + s.late, 0), rate: true });
      r.set(`pipeline.${p}.errors`, { value: stats.reduce((n, s) => n + s.errors, 0), rate: true });
      const marks = stats.filter((s) => !s.unit.startsWith('s.') && !s.unit.startsWith('t.')).map((s) => s.watermark).filter((w): w is number => w !== null);
      if (marks.length) r.set(`pipeline.${p}.watermarkLag`, { value: Math.max(0, (now - Math.min(...marks)) / 1000), rate: false });
      for (const [node, n] of emittedBy(run)) r.set(`pipeline.${p}.node.${node}`, { value: n, rate: true });
      for (const s of stats) r.set(unitSeries(p, s.unit), { value: s.records, rate: true });
    }
    return r;
  }

  /** A rate series per value of `label` of the counter `metric` (summed over its other labels), when the counter is registered. */
  private async perLabel(r: Reading, metric: string, label: string, name: (value: string) => string): Promise<void> {
    const counter = this.metrics.registered(metric);
    if (!(counter instanceof Counter)) return;
    const sums = new Map<string, number>();
    for (const v of (await counter.get()).values) {
      const key = String(v.labels[label]);
      sums.set(key, (sums.get(key) ?? 0) + v.value);
    }
    for (const [key, n] of sums) r.set(name(key), { value: n, rate: true });
  }
}

/** Refusals that mean "later", not "no" (429s, 503s and Kinesis' throttling). */
export const THROTTLES = new Set(['TooManyRequests', 'RateLimited', 'Overloaded', 'ShuttingDown', 'Unavailable', 'TooManyConnections', 'ProvisionedThroughputExceededException', 'ServiceUnavailable']);

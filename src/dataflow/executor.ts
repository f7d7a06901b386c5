// Executes a pipeline plan on batches of records: event time (with the future clamp),
// watermarks, stateless operators, keyed windows, sinks and the late-records output.
// Processing time comes from the caller, so the same code runs under the test driver's virtual
// clock and under engine tasks.
import type { LateRecord, Pipeline, PlanNode } from './dsl.js';
import { Watermarks } from './watermarks.js';
import { WindowOperator } from './window-operator.js';

export interface InputRecord {
  value: unknown;
  /** Arrival time (engine timestamp), ms. */
  arrival: number;
}

export interface Output {
  sink: string;
  value: unknown;
}

export interface ExecutorMetrics {
  records: number;
  late: number;
  clampedFuture: number;
}

type Source = Extract<PlanNode, { kind: 'source' }>;

export class Executor {
  readonly metrics: ExecutorMetrics = { records: 0, late: 0, clampedFuture: 0 };
  private readonly consumers = new Map<number, PlanNode[]>();
  private readonly windows = new Map<number, WindowOperator>();
  private readonly sources: Source[];
  private readonly watermarks: Watermarks;
  private readonly lateNode?: number;
  private outputs: Output[] = [];
  private watermark = -Infinity;

  constructor(private readonly p: Pipeline, now: number) {
    for (const n of p.nodes) {
      const inputs = n.kind === 'union' ? n.inputs : 'input' in n ? [n.input] : [];
      for (const i of inputs) {
        if (!this.consumers.has(i)) this.consumers.set(i, []);
        this.consumers.get(i)!.push(n);
      }
      if (n.kind === 'window') this.windows.set(n.id, new WindowOperator(n, (value, t) => this.push(n.id, value, t)));
      if (n.kind === 'late') this.lateNode = n.id;
    }
    this.sources = p.nodes.filter((n): n is Source => n.kind === 'source');
    this.watermarks = new Watermarks(this.sources, now);
  }

  /** The streams the pipeline reads. */
  get inputs(): string[] {
    return [...new Set(this.sources.map((s) => s.stream))];
  }

  get currentWatermark(): number {
    return this.watermark;
  }

  /** Processes records of one stream partition, then moves the watermark and fires windows. */
  ingest(stream: string, partition: number, records: readonly InputRecord[], now: number): void {
    for (const s of this.sources) {
      if (s.stream !== stream) continue;
      const ceiling = now + s.maxFutureSkew;
      for (const r of records) {
        let t = s.eventTime ? s.eventTime(r.value, r.arrival) : r.arrival;
        if (!Number.isFinite(t)) t = r.arrival;
        if (t > ceiling) {
          t = ceiling; // a clock far in the future must not close everyone's windows
          this.metrics.clampedFuture++;
        }
        this.metrics.records++;
        this.watermarks.observe(s.id, partition, t, now);
        this.push(s.id, r.value, t, s.stream);
      }
    }
    this.tick(now);
  }

  /** Moves the watermark as processing time passes (idle partitions) and fires windows. */
  tick(now: number): void {
    this.advanceTo(this.watermarks.current(now));
  }

  /** End of input: fires every window. */
  finish(): void {
    this.advanceTo(this.watermarks.finish());
  }

  /** Takes the outputs produced since the last call. */
  drain(): Output[] {
    const out = this.outputs;
    this.outputs = [];
    return out;
  }

  private advanceTo(w: number): void {
    if (w <= this.watermark) return;
    this.watermark = w;
    for (const op of this.windows.values()) op.advance(w);
  }

  private push(from: number, value: unknown, t: number, stream?: string): void {
    for (const n of this.consumers.get(from) ?? []) {
      switch (n.kind) {
        case 'filter':
          if (n.fn(value)) this.push(n.id, value, t, stream);
          break;
        case 'map':
          this.push(n.id, n.fn(value), t, stream);
          break;
        case 'flatMap':
          for (const v of n.fn(value) as Iterable<unknown>) this.push(n.id, v, t, stream);
          break;
        case 'union':
          this.push(n.id, value, t, stream);
          break;
        case 'window':
          if (!this.windows.get(n.id)!.add(value, t, this.watermark)) this.late(value, t, stream);
          break;
        case 'sink':
          this.outputs.push({ sink: n.name, value });
          break;
      }
    }
  }

  private late(value: unknown, t: number, stream = '(derived)'): void {
    this.metrics.late++;
    const record: LateRecord = { source: stream, value, eventTime: t, watermark: this.watermark };
    // Without a late() route of its own, a pipeline's late records go to '<pipeline>-late'.
    if (this.lateNode === undefined) this.outputs.push({ sink: lateSinkOf(this.p.name), value: record });
    else this.push(this.lateNode, record, t);
  }
}

/** The output stream that receives late records when the pipeline does not route late() itself. */
export const lateSinkOf = (pipeline: string) => `${pipeline}-late`;

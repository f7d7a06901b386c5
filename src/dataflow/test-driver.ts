// The deterministic test driver: feed records, move virtual processing time, read outputs.
// No sleeps, no real clock: users test their own pipelines with it.
import type { Pipeline } from './dsl.js';
import { errorSinkOf, Executor, lateSinkOf, type ExecutorMetrics } from './executor.js';
import { Watermarks } from './watermarks.js';

export interface SendOptions {
  /** Source partition the records arrive on. Default 0. */
  partition?: number;
  /** Arrival time; default: the driver's current processing time. */
  arrival?: number;
}

export class TestDriver {
  private now: number;
  private readonly executor: Executor;
  private readonly marks: Watermarks;
  /** Per output, what reached it in order; `deleted`: a table row that no longer holds (a merged session's part). */
  private readonly emitted = new Map<string, { value: unknown; deleted: boolean }[]>();
  private batches = 0;

  constructor(readonly pipeline: Pipeline, options: { startTime?: number } = {}) {
    this.now = options.startTime ?? 0;
    this.executor = new Executor(pipeline);
    this.marks = new Watermarks(this.executor.sources.filter((s) => s.watermark), this.now);
  }

  /** Delivers records of a source stream, as one batch of one partition. */
  send<T>(stream: string, values: T[], options: SendOptions = {}): this {
    const arrival = options.arrival ?? this.now;
    const batch = this.batches++; // one send is one stored batch: its records are judged late against the sends before
    this.executor.ingest(stream, options.partition ?? 0, values.map((value) => ({ value, arrival, batch })), this.now, this.marks);
    this.executor.advanceTo(this.marks.current(this.now));
    return this.collect();
  }

  /** Moves processing time forward (idle partitions stop holding the watermark back). */
  advanceTime(ms: number): this {
    this.now += ms;
    this.executor.advanceTo(this.marks.current(this.now));
    return this.collect();
  }

  /** Ends the input: every open window fires. */
  finish(): this {
    this.executor.advanceTo(this.marks.finish());
    return this.collect();
  }

  /** Everything written to an output stream (or upserted into a table) so far, in order. */
  output<T = any>(sink: string): T[] {
    return (this.emitted.get(sink) ?? []).filter((o) => !o.deleted).map((o) => o.value as T);
  }

  /**
   * The latest row per key of an output, as an upserting table sink holds it: for a table sink,
   * without the rows that no longer hold (sessions merged into another after they fired).
   */
  table<T = any>(sink: string, key: (row: T) => unknown = defaultRowKey): Map<string, T> {
    const rows = new Map<string, T>();
    for (const { value, deleted } of this.emitted.get(sink) ?? []) {
      if (deleted) rows.delete(JSON.stringify(key(value as T)));
      else rows.set(JSON.stringify(key(value as T)), value as T);
    }
    return rows;
  }

  /** Late records when the pipeline does not route late() itself. */
  late<T = any>(): T[] {
    return this.output<T>(lateSinkOf(this.pipeline.name));
  }

  /** Records a user function threw on, with the reason. */
  errors<T = any>(): T[] {
    return this.output<T>(errorSinkOf(this.pipeline.name));
  }

  get watermark(): number {
    return this.executor.currentWatermark;
  }

  get metrics(): ExecutorMetrics {
    return this.executor.metrics;
  }

  get time(): number {
    return this.now;
  }

  private collect(): this {
    for (const o of this.executor.drain()) {
      if (!this.emitted.has(o.sink)) this.emitted.set(o.sink, []);
      this.emitted.get(o.sink)!.push({ value: o.value, deleted: o.retract === true });
    }
    return this;
  }
}

/** Window results are keyed by key and window start. */
const defaultRowKey = (row: any) => [row?.key, row?.windowStart];

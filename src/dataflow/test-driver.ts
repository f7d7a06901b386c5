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
  private readonly emitted = new Map<string, unknown[]>();
  /** Per table sink, its rows in order; `deleted`: a row that no longer holds (a merged session's part). */
  private readonly rows = new Map<string, { row: unknown; deleted: boolean }[]>();

  constructor(readonly pipeline: Pipeline, options: { startTime?: number } = {}) {
    this.now = options.startTime ?? 0;
    this.executor = new Executor(pipeline);
    this.marks = new Watermarks(this.executor.sources.filter((s) => s.watermark), this.now);
  }

  /** Delivers records of a source stream, as one batch of one partition. */
  send<T>(stream: string, values: T[], options: SendOptions = {}): this {
    const arrival = options.arrival ?? this.now;
    this.executor.ingest(stream, options.partition ?? 0, values.map((value) => ({ value, arrival })), this.now, this.marks);
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
    return (this.emitted.get(sink) ?? []) as T[];
  }

  /**
   * The latest row per key of an output, as an upserting table sink holds it: for a table sink,
   * without the rows that no longer hold (sessions merged into another after they fired).
   */
  table<T = any>(sink: string, key: (row: T) => unknown = defaultRowKey): Map<string, T> {
    const rows = new Map<string, T>();
    const changes = this.rows.get(sink) ?? this.output<T>(sink).map((row) => ({ row, deleted: false }));
    for (const { row, deleted } of changes) {
      if (deleted) rows.delete(JSON.stringify(key(row as T)));
      else rows.set(JSON.stringify(key(row as T)), row as T);
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
      if (o.tableKey) {
        if (!this.rows.has(o.sink)) this.rows.set(o.sink, []);
        this.rows.get(o.sink)!.push({ row: o.value, deleted: o.retract === true });
      }
      if (o.retract) continue;
      if (!this.emitted.has(o.sink)) this.emitted.set(o.sink, []);
      this.emitted.get(o.sink)!.push(o.value);
    }
    return this;
  }
}

/** Window results are keyed by key and window start. */
const defaultRowKey = (row: any) => [row?.key, row?.windowStart];

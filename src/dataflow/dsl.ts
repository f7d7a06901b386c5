// The pipeline DSL: a typed, fluent definition that records a plan (a graph of nodes). Nothing
// runs here; runtimes (the test driver, engine tasks) execute the plan. See decision 004.
import { combine, type Aggregator, type OutputOf } from './aggregators.js';
import { ms, type WindowSpec } from './windows.js';

export type Key = string | number;
export type Duration = number | string;

export const DEFAULT_IDLE_TIMEOUT_MS = 30_000; // a partition quiet this long stops holding the watermark
export const DEFAULT_MAX_FUTURE_SKEW_MS = 60 * 60 * 1000; // 1 hour

export interface SourceOptions<T> {
  /** Event time of a record (ms). Default: its arrival time. */
  eventTime?: (value: T, arrival: number) => number;
  /** How far out of order records may arrive; the watermark trails the max event time by this. Default 0. */
  outOfOrderness?: Duration;
  /** A partition without records for this long (processing time) stops holding the watermark back. Default 30 s. */
  idleTimeout?: Duration;
  /** Event times further than this past processing time are clamped to it, and counted. Default 1 h. */
  maxFutureSkew?: Duration;
}

export interface WindowOptions {
  /** How long after a window fires late records still update it. Default 0. */
  allowedLateness?: Duration;
}

/** A window's result: its key and bounds, and the aggregates. */
export type WindowResult<K, V> = { key: K; windowStart: number; windowEnd: number } & V;

/** A record that came later than its windows' allowed lateness. */
export interface LateRecord {
  source: string;
  value: unknown;
  eventTime: number;
  watermark: number;
}

type Fn = (v: any) => any;

export type PlanNode =
  | { kind: 'source'; id: number; stream: string; eventTime?: (v: any, arrival: number) => number; outOfOrderness: number; idleTimeout: number; maxFutureSkew: number }
  | { kind: 'late'; id: number }
  | { kind: 'filter' | 'map' | 'flatMap'; id: number; input: number; fn: Fn }
  | { kind: 'union'; id: number; inputs: number[] }
  | { kind: 'window'; id: number; input: number; key: Fn; spec: WindowSpec; allowedLateness: number; agg: Aggregator<any, any, any> }
  | { kind: 'sink'; id: number; input: number; name: string };

/** Starts a pipeline definition. */
export function pipeline(name: string): Pipeline {
  return new Pipeline(name);
}

export class Pipeline {
  readonly nodes: PlanNode[] = [];
  private lateId?: number;

  constructor(readonly name: string) {}

  /** Reads a stream; each record's value is JSON-decoded as T. */
  source<T>(stream: string, options: SourceOptions<T> = {}): DataStream<T> {
    return new DataStream<T>(this, this.add({
      kind: 'source',
      id: 0,
      stream,
      eventTime: options.eventTime,
      outOfOrderness: ms(options.outOfOrderness ?? 0, 'outOfOrderness'),
      idleTimeout: ms(options.idleTimeout ?? DEFAULT_IDLE_TIMEOUT_MS, 'idleTimeout'),
      maxFutureSkew: ms(options.maxFutureSkew ?? DEFAULT_MAX_FUTURE_SKEW_MS, 'maxFutureSkew'),
    }));
  }

  /** Records later than allowed lateness, from every window of the pipeline. */
  late(): DataStream<LateRecord> {
    this.lateId ??= this.add({ kind: 'late', id: 0 });
    return new DataStream<LateRecord>(this, this.lateId);
  }

  /** @internal */
  add(node: PlanNode): number {
    const id = this.nodes.length;
    this.nodes.push({ ...node, id });
    return id;
  }

  get sinks(): string[] {
    return this.nodes.flatMap((n) => (n.kind === 'sink' ? [n.name] : []));
  }
}

export class DataStream<T> {
  constructor(protected readonly p: Pipeline, readonly id: number) {}

  filter(predicate: (value: T) => boolean): DataStream<T> {
    return new DataStream<T>(this.p, this.p.add({ kind: 'filter', id: 0, input: this.id, fn: predicate }));
  }

  map<U>(fn: (value: T) => U): DataStream<U> {
    return new DataStream<U>(this.p, this.p.add({ kind: 'map', id: 0, input: this.id, fn }));
  }

  flatMap<U>(fn: (value: T) => Iterable<U>): DataStream<U> {
    return new DataStream<U>(this.p, this.p.add({ kind: 'flatMap', id: 0, input: this.id, fn }));
  }

  union(...others: DataStream<T>[]): DataStream<T> {
    return new DataStream<T>(this.p, this.p.add({ kind: 'union', id: 0, inputs: [this.id, ...others.map((o) => o.id)] }));
  }

  keyBy<K extends Key>(key: (value: T) => K): KeyedStream<K, T> {
    return new KeyedStream<K, T>(this.p, this.id, key);
  }

  /** Writes each value to an output stream (or table) named `name`. */
  to(name: string): void {
    this.p.add({ kind: 'sink', id: 0, input: this.id, name });
  }
}

export class KeyedStream<K extends Key, T> {
  constructor(private readonly p: Pipeline, private readonly input: number, private readonly key: (value: T) => K) {}

  window(spec: WindowSpec, options: WindowOptions = {}): WindowedStream<K, T> {
    return new WindowedStream<K, T>(this.p, this.input, this.key, spec, ms(options.allowedLateness ?? 0, 'allowedLateness'));
  }
}

export class WindowedStream<K extends Key, T> {
  constructor(
    private readonly p: Pipeline,
    private readonly input: number,
    private readonly key: (value: T) => K,
    private readonly spec: WindowSpec,
    private readonly allowedLateness: number,
  ) {}

  /** Named aggregates per key and window: `{ views: count(), spend: sum((v) => v.cost) }`. */
  aggregate<A extends Record<string, Aggregator<T, any, any>>>(aggs: A): DataStream<WindowResult<K, { [N in keyof A]: OutputOf<A[N]> }>> {
    return this.with(combine(aggs));
  }

  /** Folds the records of each key and window with `fn`; the result is `{ value }`. */
  reduce(fn: (a: T, b: T) => T): DataStream<WindowResult<K, { value: T }>> {
    return this.with<{ value: T }>({
      create: () => null,
      add: (acc: T | null, v: T) => (acc === null ? v : fn(acc, v)),
      merge: (a: T | null, b: T | null) => (a === null ? b : b === null ? a : fn(a, b)),
      result: (acc: T | null) => ({ value: acc as T }),
    });
  }

  private with<V>(agg: Aggregator<T, any, V>): DataStream<WindowResult<K, V>> {
    const id = this.p.add({ kind: 'window', id: 0, input: this.input, key: this.key, spec: this.spec, allowedLateness: this.allowedLateness, agg });
    return new DataStream<WindowResult<K, V>>(this.p, id);
  }
}

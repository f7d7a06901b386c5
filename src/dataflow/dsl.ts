// The pipeline DSL: a typed, fluent definition that records a plan (a graph of nodes). Nothing
// runs here; runtimes (the test driver, engine tasks) execute the plan. See decision 004.
import { combine, type Aggregator, type OutputOf } from './aggregators.js';
import { InvalidArgumentError } from '../engine/errors.js';
import { ms, type WindowSpec } from './windows.js';
import type { SinkSpec } from '../connectors/spec.js';
import { sinkName } from '../connectors/spec.js';
import { resolvePostgresOptions, type PostgresSinkOptions } from '../connectors/postgres/options.js';
import { resolveWebhookOptions, type WebhookSinkOptions } from '../connectors/webhook/options.js';

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

/** A record a user function failed on (or that is not JSON): kept with the reason, not dropped. */
export interface ErrorRecord {
  source: string;
  error: string;
  value: unknown;
}

/** A record that came later than its windows' allowed lateness. */
export interface LateRecord {
  source: string;
  value: unknown;
  eventTime: number;
  watermark: number;
}

type Fn = (v: any) => any;
type Select = (l: any, r: any) => any;

export type JoinMode = { mode: 'window'; spec: WindowSpec; allowedLateness: number } | { mode: 'interval'; lower: number; upper: number; allowedLateness: number };

export type PlanNode =
  | { kind: 'source'; id: number; stream: string; eventTime?: (v: any, arrival: number) => number; outOfOrderness: number; idleTimeout: number; maxFutureSkew: number; watermark: boolean }
  | { kind: 'late'; id: number }
  | { kind: 'filter' | 'map' | 'flatMap'; id: number; input: number; fn: Fn }
  | { kind: 'union'; id: number; inputs: number[] }
  | { kind: 'window'; id: number; input: number; key: Fn; spec: WindowSpec; allowedLateness: number; agg: Aggregator<any, any, any> }
  | { kind: 'join'; id: number; inputs: [number, number]; keys: [Fn, Fn]; join: JoinMode; outer: boolean; select: Select }
  | { kind: 'lookup'; id: number; inputs: [number, number]; keys: [Fn, Fn]; outer: boolean; select: Select; isDelete?: Fn }
  | { kind: 'sink'; id: number; input: number; name: string; table?: { key: Fn; connector?: SinkSpec } };

/** Nodes that keep keyed state (and are reached through a keyed shuffle when run as tasks). */
export type KeyedNode = Extract<PlanNode, { kind: 'window' | 'join' | 'lookup' }>;

export const isKeyed = (n: PlanNode): n is KeyedNode => n.kind === 'window' || n.kind === 'join' || n.kind === 'lookup';

/** The input node ids of a node, by port. */
export function inputsOf(n: PlanNode): number[] {
  if (n.kind === 'union' || n.kind === 'join' || n.kind === 'lookup') return n.inputs;
  return 'input' in n ? [n.input] : [];
}

/** The key function of a keyed node's input port. */
export const keyOf = (n: KeyedNode, port: number): Fn => (n.kind === 'window' ? n.key : n.keys[port]!);

/** Starts a pipeline definition. */
export function pipeline(name: string): Pipeline {
  // The name is part of stream names and state keys (`_sluice.<name>.k3`, `_sluice/pipelines/<name>/…`).
  if (typeof name !== 'string' || !/^[A-Za-z0-9_-]{1,64}$/.test(name)) {
    throw new InvalidArgumentError(`invalid pipeline name '${String(name).slice(0, 80)}': use 1-64 letters, digits, _ or -`, 'name');
  }
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
      watermark: true,
    }));
  }

  /**
   * A table built from a changelog stream: the latest record per key (a record for which
   * `isDelete` is true removes its key). Use it with `keyBy(...).lookup(table)`. A table's stream
   * does not hold the watermark back.
   */
  table<V, K extends Key = Key>(stream: string, options: { key: (value: V) => K; isDelete?: (value: V) => boolean }): Table<K, V> {
    const id = this.add({ kind: 'source', id: 0, stream, outOfOrderness: 0, idleTimeout: DEFAULT_IDLE_TIMEOUT_MS, maxFutureSkew: DEFAULT_MAX_FUTURE_SKEW_MS, watermark: false });
    return { id, key: options.key, isDelete: options.isDelete } as Table<K, V>;
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

  /** Merges streams; the result carries either type. */
  union<U = T>(...others: DataStream<U>[]): DataStream<T | U> {
    return new DataStream<T | U>(this.p, this.p.add({ kind: 'union', id: 0, inputs: [this.id, ...others.map((o) => o.id)] }));
  }

  keyBy<K extends Key>(key: (value: T) => K): KeyedStream<K, T> {
    return new KeyedStream<K, T>(this.p, this.id, key);
  }

  /** Writes each value to the output stream `name` (created with defaults if missing). */
  to(name: string): void {
    this.p.add({ kind: 'sink', id: 0, input: this.id, name });
  }

  /**
   * Upserts each value as a row of the SQLite table `name` (one column per top-level field), keyed
   * by `key` — by default the window's key and start, so a late update replaces its row.
   */
  toTable(name: string, options: { key?: (value: T) => unknown[] } = {}): void {
    if (!/^[A-Za-z_][A-Za-z0-9_]{0,62}$/.test(name)) throw new InvalidArgumentError(`invalid table name '${name}': use a letter or _ then letters, digits, _ (at most 63)`, 'name');
    this.p.add({ kind: 'sink', id: 0, input: this.id, name, table: { key: options.key ?? ((v: any) => [v?.key, v?.windowStart]) } });
  }

  /**
   * Upserts each value as a row of the PostgreSQL table `table` (`name` or `schema.name`), primary
   * key `key` (fields; default the window's key and start), exactly once: the sink's input offset
   * commits in the same transaction (table `_sluice_offsets`). Rows PostgreSQL refuses go to
   * '<pipeline>-errors'. The table is created from the first row's shape unless it exists.
   * @example .toPostgres('video_minute', { connection: process.env.DATABASE_URL!, key: ['key', 'windowStart'] })
   */
  toPostgres(table: string, options: Omit<PostgresSinkOptions, 'table' | 'key'> & { key?: string[] }): void {
    const o = resolvePostgresOptions({ ...options, table, key: options.key ?? ['key', 'windowStart'] });
    const fields = o.key;
    const connector: SinkSpec = { kind: 'postgres', ...o };
    this.p.add({ kind: 'sink', id: 0, input: this.id, name: sinkName.postgres(table), table: { key: (v: any) => fields.map((f) => v?.[f]), connector } });
  }

  /**
   * POSTs values as JSON batches to `options.url`, each with an Idempotency-Key stable across
   * retries and crashes, signed when `signing` is given: at least once (decision 020).
   * `name` (letters, digits, _ and -) names the sink's unit.
   */
  toWebhook(name: string, options: WebhookSinkOptions): void {
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(name)) throw new InvalidArgumentError(`invalid webhook sink name '${name}': use 1-64 letters, digits, _ or -`, 'name');
    const connector: SinkSpec = { kind: 'webhook', ...resolveWebhookOptions(options) };
    this.p.add({ kind: 'sink', id: 0, input: this.id, name: sinkName.webhook(name), table: { key: (v: any) => (v && typeof v === 'object' && 'key' in v ? [v.key, v.windowStart] : []), connector } });
  }
}

/** A table built from a changelog stream (see Pipeline.table). */
export interface Table<K extends Key, V> {
  readonly id: number;
  readonly key: (value: V) => K;
  readonly isDelete?: (value: V) => boolean;
  /** @internal type brand */
  readonly __types?: [K, V];
}

export interface JoinOptions {
  /** How long after the watermark passes a record's last chance it may still arrive and match. Default 0. */
  allowedLateness?: Duration;
}

/** Picks the join type: inner pairs only, or left (a left record with no match pairs with null). */
export class JoinSelect<T, U> {
  constructor(private readonly make: (outer: boolean, select: Select) => number, private readonly p: Pipeline) {}

  /** Emits select(left, right) for each matching pair. */
  inner<R>(select: (left: T, right: U) => R): DataStream<R> {
    return new DataStream<R>(this.p, this.make(false, select));
  }

  /** As inner, and select(left, null) for a left record that matched nothing. */
  left<R>(select: (left: T, right: U | null) => R): DataStream<R> {
    return new DataStream<R>(this.p, this.make(true, select));
  }
}

export class JoinBuilder<K extends Key, T, U> {
  constructor(private readonly p: Pipeline, private readonly l: [number, Fn], private readonly r: [number, Fn]) {}

  /** Pairs records of both sides with the same key in the same window. */
  window(spec: WindowSpec, options: JoinOptions = {}): JoinSelect<T, U> {
    return this.build({ mode: 'window', spec, allowedLateness: ms(options.allowedLateness ?? 0, 'allowedLateness') });
  }

  /** Pairs a left record at time t with right records of the same key in [t + lower, t + upper]. */
  between(lower: Duration, upper: Duration, options: JoinOptions = {}): JoinSelect<T, U> {
    return this.build({ mode: 'interval', lower: signedMs(lower, 'lower'), upper: signedMs(upper, 'upper'), allowedLateness: ms(options.allowedLateness ?? 0, 'allowedLateness') });
  }

  private build(join: JoinMode): JoinSelect<T, U> {
    if (join.mode === 'interval' && join.lower > join.upper) throw new InvalidArgumentError('an interval join needs lower <= upper', 'lower');
    if (join.mode === 'window' && join.spec.kind === 'session') throw new InvalidArgumentError('a windowed join needs tumbling or sliding windows', 'spec');
    return new JoinSelect<T, U>((outer, select) => this.p.add({ kind: 'join', id: 0, inputs: [this.l[0], this.r[0]], keys: [this.l[1], this.r[1]], join, outer, select }), this.p);
  }
}

/** Durations that may be negative: -5000 or '-5s'. */
function signedMs(v: Duration, name: string): number {
  if (typeof v === 'string' && v.startsWith('-')) return -ms(v.slice(1), name);
  return typeof v === 'number' && v < 0 ? v : ms(v, name);
}

export class KeyedStream<K extends Key, T> {
  constructor(private readonly p: Pipeline, private readonly input: number, private readonly key: (value: T) => K) {}

  /** Joins with another stream keyed the same way: `.window(spec)` or `.between(lower, upper)`, then `.inner` or `.left`. */
  join<U>(other: KeyedStream<K, U>): JoinBuilder<K, T, U> {
    return new JoinBuilder<K, T, U>(this.p, [this.input, this.key], [other.input, other.key]);
  }

  /** Enriches each record with the table row of its key, as the table is when the record is processed. */
  lookup<U>(table: Table<Key, U>): JoinSelect<T, U> {
    return new JoinSelect<T, U>(
      (outer, select) => this.p.add({ kind: 'lookup', id: 0, inputs: [this.input, table.id], keys: [this.key, table.key], outer, select, isDelete: table.isDelete }),
      this.p,
    );
  }

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

// Executes a pipeline plan on records: event time (with the future clamp), stateless operators,
// keyed operators (windows, joins, lookups), sinks and the late-records output. The same code runs
// the whole plan under the test driver and a slice of it in each engine task (keyed operators
// that run elsewhere are handed to `exit`, the shuffle). Processing time comes from the caller.
import { inputsOf, isKeyed, keyOf, type ErrorRecord, type Key, type KeyedNode, type LateRecord, type Pipeline, type PlanNode } from './dsl.js';
import { IntervalJoinOperator, LookupOperator, WindowJoinOperator } from './join-operators.js';
import { lateFor } from './lateness.js';
import type { Change } from './keyed-state.js';
import type { Emit, KeyedOperator } from './operator.js';
import type { Watermarks } from './watermarks.js';
import { WindowOperator } from './window-operator.js';

/** A key's state in an operator: [node, key, value]. */
export type StateEntry = [node: number, key: Key, value: unknown];
/** A change of a key's state in an operator: [node, key, kind, value]. */
export type NodeChange = [node: number, ...change: Change];

export interface InputRecord {
  value: unknown;
  /** Arrival time (engine timestamp), ms. */
  arrival: number;
  /** The stored batch it came in (StoredRecord.batch): a record is judged late against the batches before its own. */
  batch: number;
  /** The JSON text `value` was parsed from, when the caller has it (forwarded as it is: decision 011). */
  raw?: Uint8Array;
}

export interface Output {
  sink: string;
  value: unknown;
  /** Present for stream sinks: the value's JSON text. */
  text?: string;
  /** Present for table sinks: the row's key columns' values. */
  tableKey?: unknown[];
  /** Table sinks: the row `value` once was no longer holds (a merged session's part): delete it. */
  retract?: true;
}

export interface ExecutorMetrics {
  records: number;
  late: number;
  clampedFuture: number;
  /** Records a user function threw on (they go to '<pipeline>-errors'). */
  errors: number;
}

export interface ExecutorOptions {
  /** Counts records each node emits, by node id (UnitStats.emitted). Default: an array of its own. */
  emitted?: number[];
  /** Counts records too late for each keyed node, by node id (UnitStats.lateAt). Default: an array of its own. */
  lateAt?: number[];
  /** Whether this executor runs a keyed node itself. Default: every keyed node. */
  runs?: (node: KeyedNode) => boolean;
  /**
   * Records for keyed nodes run elsewhere (the shuffle). `raw`: the JSON text of the input record
   * `value` is, when it reached the node through filters and unions only (no step made it anew).
   */
  exit?: (node: KeyedNode, port: number, key: Key, value: unknown, t: number, stream: string | undefined, raw: Uint8Array | undefined) => void;
}

type Source = Extract<PlanNode, { kind: 'source' }>;
type Consumer = { node: PlanNode; port: number };

export class Executor {
  readonly metrics: ExecutorMetrics = { records: 0, late: 0, clampedFuture: 0, errors: 0 };
  /** Records each node emitted, by node id. */
  readonly emitted: number[];
  /** Records too late for each keyed node, by node id. */
  readonly lateAt: number[];
  readonly operators = new Map<number, KeyedOperator>();
  readonly sources: Source[];
  private readonly consumers = new Map<number, Consumer[]>();
  private readonly lateNode?: number;
  private outputs: Output[] = [];
  private watermark = -Infinity;
  /** Nodes whose records are their source's input records as read: sources, and filters and unions of such nodes only. */
  private readonly asRead = new Set<number>();
  /** The input record being ingested. */
  private input?: InputRecord;
  /**
   * The watermark of the ingested record's own source partition as the batches stored before its own
   * left it: a source record is late for a keyed step by this (decision 015), so the decision depends
   * on the stored input alone and a replay makes it again. Undefined for records an operator emits (their step's watermark judges them).
   */
  private ref?: number;

  constructor(readonly p: Pipeline, private readonly options: ExecutorOptions = {}) {
    this.emitted = options.emitted ?? [];
    this.lateAt = options.lateAt ?? [];
    for (const n of p.nodes) {
      this.emitted[n.id] ??= 0; // (dense from the start: one shape for the hot path)
      this.lateAt[n.id] ??= 0;
    }
    for (const n of p.nodes) {
      inputsOf(n).forEach((i, port) => {
        if (!this.consumers.has(i)) this.consumers.set(i, []);
        this.consumers.get(i)!.push({ node: n, port });
      });
      if (isKeyed(n) && (options.runs?.(n) ?? true)) this.operators.set(n.id, makeOperator(n, (value, t, retract) => this.emitFrom(n.id, value, t, retract)));
      if (n.kind === 'late') this.lateNode = n.id;
      if (n.kind === 'source' || ((n.kind === 'filter' || n.kind === 'union') && inputsOf(n).every((i) => this.asRead.has(i)))) this.asRead.add(n.id);
    }
    this.sources = p.nodes.filter((n): n is Source => n.kind === 'source');
  }

  /** The streams the pipeline reads. */
  get inputs(): string[] {
    return [...new Set(this.sources.map((s) => s.stream))];
  }

  get currentWatermark(): number {
    return this.watermark;
  }

  /**
   * Processes records of one stream partition, observing their event times in `marks`. A time more
   * than maxFutureSkew past the record's arrival is clamped to it (arrival, not processing time: a
   * replay clamps the same records to the same times).
   */
  ingest(stream: string, partition: number, records: readonly InputRecord[], now: number, marks: Watermarks): void {
    for (const s of this.sources) {
      if (s.stream !== stream) continue;
      for (const r of records) {
        this.metrics.records++;
        this.input = r;
        try {
          let t = s.eventTime ? s.eventTime(r.value, r.arrival) : r.arrival;
          if (typeof t !== 'number' || !Number.isFinite(t)) t = r.arrival;
          if (t > r.arrival + s.maxFutureSkew) {
            t = r.arrival + s.maxFutureSkew; // a clock far in the future must not close everyone's windows
            this.metrics.clampedFuture++;
          }
          if (s.watermark) {
            marks.observe(s.id, partition, t, now, r.batch);
            this.ref = marks.partitionMark(s.id, partition);
          }
          this.push(s.id, r.value, t, s.stream);
        } catch (e) {
          this.error(s.stream, e, r.value);
        } finally {
          this.ref = undefined;
        }
      }
    }
    this.input = undefined;
  }

  /** A record for a keyed node this executor runs, from the shuffle. */
  keyed(node: number, port: number, key: Key, value: unknown, t: number, stream: string | undefined): void {
    const op = this.operators.get(node)!;
    try {
      if (!op.add(port, key, value, t, this.watermark)) this.late(node, value, t, stream);
    } catch (e) {
      this.error(stream ?? '(derived)', e, value);
    }
  }

  /** A record a user function threw on: to '<pipeline>-errors' with the reason, counted. */
  error(source: string, e: unknown, value: unknown): void {
    this.metrics.errors++;
    const record: ErrorRecord = { source, error: e instanceof Error ? e.message : describe(e), value: jsonable(value) ? value : describe(value) };
    this.outputs.push({ sink: errorSinkOf(this.p.name), value: record });
  }

  /** Moves the watermark: fires what it closes. Never moves back. */
  advanceTo(w: number): void {
    if (w <= this.watermark) return;
    this.watermark = w;
    for (const op of this.operators.values()) op.advance(w);
  }

  /** Takes the outputs produced since the last call. */
  drain(): Output[] {
    const out = this.outputs;
    this.outputs = [];
    return out;
  }

  /** Every operator's state, key by key: [node, key, value] (a full snapshot). */
  stateEntries(): StateEntry[] {
    const out: StateEntry[] = [];
    for (const [id, op] of this.operators) for (const [k, v] of op.state.entries()) out.push([id, k, v]);
    return out;
  }

  /** What changed in the operators' state since the last call: [node, ...change]. */
  stateChanges(): NodeChange[] {
    const out: NodeChange[] = [];
    for (const [id, op] of this.operators) for (const c of op.state.changes()) out.push([id, ...c]);
    return out;
  }

  /** Loads a snapshot, the changes after it, and the watermark they were taken at. */
  loadState(watermark: number | null, base: StateEntry[], deltas: NodeChange[][]): void {
    this.watermark = watermark ?? -Infinity;
    for (const [id, op] of this.operators) {
      op.state.load(
        base.filter((e) => e[0] === id).map(([, k, v]) => [k, v]),
        deltas.map((d) => d.filter((c) => c[0] === id).map(([, ...c]) => c)),
      );
    }
  }

  private emitFrom(node: number, value: unknown, t: number, retract?: boolean): void {
    const ref = this.ref;
    this.ref = undefined; // an operator's output is judged by the watermark of the step it reaches
    try {
      this.push(node, value, t, undefined, retract);
    } catch (e) {
      if (!retract) this.error('(derived)', e, value);
    } finally {
      this.ref = ref;
    }
  }

  /**
   * A record from node `from` to its consumers. `retract`: a result emitted before that no longer
   * holds; stateless steps (pure functions) carry it as they carried the result, table sinks delete
   * its row; keyed steps and stream sinks cannot take a record back and let it pass.
   */
  private push(from: number, value: unknown, t: number, stream?: string, retract?: boolean): void {
    this.emitted[from]!++;
    const consumers = this.consumers.get(from);
    if (!consumers) return;
    for (const { node: n, port } of consumers) {
      switch (n.kind) {
        case 'filter':
          if (n.fn(value)) this.push(n.id, value, t, stream, retract);
          break;
        case 'map':
          this.push(n.id, n.fn(value), t, stream, retract);
          break;
        case 'flatMap':
          for (const v of n.fn(value) as Iterable<unknown>) this.push(n.id, v, t, stream, retract);
          break;
        case 'union':
          this.push(n.id, value, t, stream, retract);
          break;
        case 'window':
        case 'join':
        case 'lookup': {
          if (retract) break;
          const key = keyOf(n, port)(value) as Key;
          if (this.ref !== undefined && lateFor(n, t, this.ref)) {
            this.late(n.id, value, t, stream, this.ref);
            break;
          }
          const op = this.operators.get(n.id);
          if (op) {
            if (!op.add(port, key, value, t, this.watermark)) this.late(n.id, value, t, stream);
          } else {
            const input = this.input;
            const raw = input?.raw !== undefined && input.value === value && this.asRead.has(from) ? input.raw : undefined;
            this.options.exit!(n, port, key, value, t, stream, raw);
          }
          break;
        }
        case 'sink':
          if (n.table) {
            const bad = badRow(value, (n.table.connector?.kind ?? 'sqlite') === 'sqlite');
            if (bad) throw new Error(`table '${n.name}': ${bad}`);
            const row: Output = { sink: n.name, value, tableKey: n.table.key(value) };
            if (retract) row.retract = true;
            this.outputs.push(row);
          } else if (!retract) {
            const text = JSON.stringify(value);
            if (text === undefined) throw new Error(`sink '${n.name}': a record must be a JSON value, got ${typeof value}`);
            this.outputs.push({ sink: n.name, value, text });
          }
          break;
      }
    }
  }

  /** A record too late for keyed node `node`: to late() or '<pipeline>-late', counted (in total and against the node). */
  late(node: number, value: unknown, t: number, stream = '(derived)', watermark = this.watermark): void {
    this.metrics.late++;
    this.lateAt[node] = (this.lateAt[node] ?? 0) + 1;
    const record: LateRecord = { source: stream, value, eventTime: t, watermark };
    if (this.lateNode === undefined) this.outputs.push({ sink: lateSinkOf(this.p.name), value: record });
    else this.push(this.lateNode, record, t);
  }
}

/** A value as text, for what JSON cannot carry (String() itself recurses into nested arrays, and a value may throw). */
function describe(v: unknown): string {
  try {
    return String(v);
  } catch {
    return `(a ${typeof v} that cannot be shown)`;
  }
}

/** Whether JSON can carry a value (an error record carries the value a function failed on, which may be anything). */
function jsonable(v: unknown): boolean {
  try {
    return JSON.stringify(v) !== undefined;
  } catch {
    return false;
  }
}

/** Most columns a table row may bring (SQLite allows 2,000 per table). */
export const MAX_ROW_FIELDS = 500;

/** Why a value cannot be a table row, if it cannot (`_key` is the primary key column of SQLite tables only). */
function badRow(v: unknown, sqlite: boolean): string | undefined {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return `a row must be an object, got ${Array.isArray(v) ? 'an array' : v === null ? 'null' : typeof v}`;
  const fields = Object.keys(v);
  if (sqlite && fields.includes('_key')) return "a row may not have a field '_key' (the table's primary key column)";
  if (fields.length > MAX_ROW_FIELDS) return `a row may have at most ${MAX_ROW_FIELDS} fields, got ${fields.length}`;
  return undefined;
}

function makeOperator(n: KeyedNode, emit: Emit): KeyedOperator {
  switch (n.kind) {
    case 'window':
      return new WindowOperator(n, emit);
    case 'join':
      return n.join.mode === 'window'
        ? new WindowJoinOperator({ spec: n.join.spec, allowedLateness: n.join.allowedLateness, outer: n.outer, select: n.select }, emit)
        : new IntervalJoinOperator({ lower: n.join.lower, upper: n.join.upper, allowedLateness: n.join.allowedLateness, outer: n.outer, select: n.select }, emit);
    case 'lookup':
      return new LookupOperator({ outer: n.outer, select: n.select, isDelete: n.isDelete }, emit);
  }
}

/** The output stream that receives records a user function threw on. */
export const errorSinkOf = (pipeline: string) => `${pipeline}-errors`;

/** The output stream that receives late records when the pipeline does not route late() itself. */
export const lateSinkOf = (pipeline: string) => `${pipeline}-late`;

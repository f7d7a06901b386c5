// The sink interface: what the runtime's sink unit (src/dataflow/runtime/sink-unit.ts) needs from
// an external system to deliver a pipeline's results — SQLite tables, PostgreSQL, webhooks, and
// later archives. Guarantees and why: docs/decisions/020-sinks.md.

/** One change a sink receives: a row to upsert by its key, or (deleted) a key whose row no longer holds. */
export interface SinkRow {
  /** The row's key columns' values, from the step's `key` (default: the window's key and start). */
  key: unknown[];
  /** The row: a pipeline result (a JSON object). */
  value: Record<string, unknown>;
  /** A result that no longer holds (a merged session's part, decision 013): delete the key's row. */
  deleted: boolean;
  /** Where it was read, `<message offset>.<index in the message>`: names its error record and its delivery id. */
  place: string;
}

/** Where a batch comes from and which offsets it moves: a sink keeps one offset per (pipeline, sink, partition). */
export interface SinkBatch {
  pipeline: string;
  /** The sink's name in the pipeline (a table name, `pg.<table>`, `webhook.<name>`). */
  sink: string;
  /** The input stream (the pipeline's internal stream for this sink) and partition. */
  stream: string;
  partition: number;
  /** The batch holds the input offsets [from, next): a sink that stores offsets stores `next`. */
  from: number;
  next: number;
  /**
   * The writing run's epoch (its lease's version; a newer run's is higher). A transactional sink
   * stores it with the offset and refuses a batch whose epoch is below the stored one (ConflictError:
   * a newer run took over), in the transaction that would commit it.
   */
  epoch: number;
  /**
   * The input stream's generation (its creation time, ms): `sluice replay` recreates the stream and
   * its offsets start over, so delivery ids that name offsets also name the generation.
   */
  generation: number;
  /** In input order: for each key the last change wins. */
  rows: SinkRow[];
}

/** A row the external system refused (a type it cannot store, a value too long, a 4xx for its batch). */
export interface RejectedRow {
  row: SinkRow;
  error: string;
}

export interface SinkWriteContext {
  /** Aborted when the run stops: a sink gives up its call (its batch is written again on the next run). */
  signal: AbortSignal;
  /**
   * Sends refused rows to '<pipeline>-errors' with their input. A transactional sink awaits it
   * before its commit (a crash after it and before the commit reports them again, under the same
   * ids: stored once); an idempotent sink's refusals commit with its offset.
   */
  reject(rows: RejectedRow[]): Promise<void>;
}

/**
 * How a sink's writes become exactly-once results:
 * - `transactional`: the sink stores the batch's rows and its offset `next` in one transaction of
 *   its own system; `committed()` is where the unit resumes after a crash, and a batch whose offset
 *   is already stored is not applied again. Exactly once.
 * - `idempotent`: the runtime stores the offset in the engine after `write` returns; after a crash
 *   in between the same batch (same offsets, same rows, same ids) is written again. At least once,
 *   with ids that let the receiver drop repeats.
 */
export type Delivery = 'transactional' | 'idempotent';

export interface Sink {
  /** 'sqlite', 'postgres', 'webhook'. */
  readonly kind: string;
  readonly delivery: Delivery;
  /**
   * Input messages the unit reads per batch, when the sink wants fewer than the run's `batch`
   * (a webhook: one POST's worth). Default: the run's.
   */
  readonly batchMessages?: number;
  /** The offset the sink stored for this input (transactional sinks; undefined: none yet, or an idempotent sink). */
  committed(pipeline: string, sink: string, partition: number, signal: AbortSignal): Promise<number | undefined>;
  /**
   * Stores a batch: its rows in order (the last change of a key wins; deletions remove the key's
   * row) and, if transactional, its offset — all or nothing. Rows the system refuses go to
   * `ctx.reject`; the rest are stored. Throws when the batch could not be stored: the unit writes
   * the same batch again later (its policies have retried already).
   */
  write(batch: SinkBatch, ctx: SinkWriteContext): Promise<void>;
  /**
   * For `sluice replay`: forgets the sink's offsets of this pipeline and its rows from windowStart
   * `from` on (all rows when undefined). Idempotent sinks cannot take back what they delivered: a no-op.
   */
  reset(pipeline: string, sink: string, from?: number): Promise<void>;
  /** Closes connections and disposes of the sink's policies' timers. */
  close(): Promise<void>;
}

// The PostgreSQL sink: each batch is one transaction holding its rows (multi-row upserts and
// deletions) and the sink's input offset in `_sluice_offsets` — exactly once, and a batch whose
// offset is already stored is skipped (a retry after a lost COMMIT answer, a restart after kill -9).
// A batch PostgreSQL refuses for a row's sake is done again with a savepoint per statement,
// bisecting down to the refused rows (they go to the errors stream); the rest commit with the
// offset. Every call goes through the database's resilience dependency. Decision 020.
import pg from 'pg';
import { ConflictError } from '../../engine/errors.js';
import type { Dependency, DependencyOptions } from '../../resilience/index.js';
import type { RejectedRow, Sink, SinkBatch, SinkRow, SinkWriteContext } from '../sink.js';
import { isRowError, pgError, SinkFencedError } from './errors.js';
import { DEFAULT_POSTGRES_ATTEMPTS, DEFAULT_POSTGRES_TIMEOUT_MS, OFFSETS_TABLE, resolvePostgresOptions, type PostgresSinkOptions, type ResolvedPostgresOptions } from './options.js';
import { ensureOffsetsTable, param, qualified, TableSchema } from './schema.js';
import { rebuild, runs, statementsOf, type Statement } from './statements.js';

export { PostgresSinkError, isRetriablePgError, isRowError } from './errors.js';
export { DEFAULT_ROWS_PER_STATEMENT, OFFSETS_TABLE, type PostgresSinkOptions } from './options.js';

/** Gives the sink its dependency (one per database and thread): `name`, and options used when it is made. */
export type DependencyFor = (name: string, options: Omit<DependencyOptions, 'clock' | 'sharedBudgets'>) => Dependency;

/** `postgres://host:port/database`: the dependency's name (never the credentials). */
export function databaseName(connection: string | pg.ClientConfig): string {
  if (typeof connection === 'string') {
    try {
      const u = new URL(connection);
      return `postgres://${u.hostname}:${u.port || 5432}${u.pathname}`;
    } catch {
      return 'postgres';
    }
  }
  return `postgres://${connection.host ?? 'localhost'}:${connection.port ?? 5432}/${connection.database ?? ''}`;
}

export class PostgresSink implements Sink {
  readonly kind = 'postgres';
  readonly delivery = 'transactional' as const;
  readonly options: ResolvedPostgresOptions;
  readonly dependency: Dependency;
  private readonly schema: TableSchema;
  private client?: pg.Client;
  private readonly timeoutMs: number;

  constructor(options: PostgresSinkOptions, dependencyFor: DependencyFor) {
    this.options = resolvePostgresOptions(options);
    const policy = this.options.policy ?? {};
    this.timeoutMs = (policy.timeout && policy.timeout.timeoutMs) || DEFAULT_POSTGRES_TIMEOUT_MS;
    this.dependency = dependencyFor(databaseName(this.options.connection), {
      ...policy,
      timeout: policy.timeout === false ? false : { timeoutMs: this.timeoutMs, ...policy.timeout },
      retry: policy.retry === false ? false : { maxAttempts: DEFAULT_POSTGRES_ATTEMPTS, ...policy.retry },
    });
    this.schema = new TableSchema(this.options.table, this.options.key, this.options.columns, this.options.createTable);
  }

  async committed(pipeline: string, sink: string, partition: number, signal: AbortSignal): Promise<number | undefined> {
    return this.call(signal, 'reading the offset', async (c) => {
      const r = await c.query<{ next: string }>(`SELECT next FROM ${OFFSETS_TABLE} WHERE pipeline = $1 AND sink = $2 AND partition = $3`, [pipeline, sink, partition]);
      return r.rows[0] ? Number(r.rows[0].next) : undefined;
    });
  }

  async write(batch: SinkBatch, ctx: SinkWriteContext): Promise<void> {
    await this.call(ctx.signal, `writing ${batch.rows.length} rows to ${this.options.table}`, async (c) => {
      try {
        await this.transaction(c, batch, ctx, false);
      } catch (e) {
        if (!isRowError(e)) throw e;
        // A row PostgreSQL refuses: roll back and find it (the others commit with the offset).
        await c.query('ROLLBACK');
        this.schema.rollback();
        await this.transaction(c, batch, ctx, true);
      }
    });
  }

  async reset(pipeline: string, sink: string, from?: number): Promise<void> {
    await this.call(undefined, 'resetting', async (c) => {
      await c.query('BEGIN');
      await this.schema.load(c);
      if (this.schema.exists) {
        const type = this.schema.typeOf('windowStart');
        if (from === undefined || type === undefined) await c.query(`DELETE FROM ${qualified(this.options.table)}`);
        else await c.query(`DELETE FROM ${qualified(this.options.table)} WHERE "windowStart" >= $1`, [param(from, type)]); // epoch ms, as a timestamp for a timestamp column
      }
      await c.query(`DELETE FROM ${OFFSETS_TABLE} WHERE pipeline = $1 AND sink = $2`, [pipeline, sink]);
      await c.query('COMMIT');
    });
  }

  async close(): Promise<void> {
    const c = this.client;
    this.client = undefined;
    await c?.end().catch(() => {});
  }

  /**
   * One batch's transaction. `careful`: each statement in a savepoint, a refused one bisected to its
   * refused rows, which are reported before the commit.
   */
  private async transaction(c: pg.Client, batch: SinkBatch, ctx: SinkWriteContext, careful: boolean): Promise<void> {
    // BEGIN, the offset row claimed and read under a row lock, in one round trip (a simple query: literals escaped). The
    // claim (a placeholder, -1, replaced by this transaction's upsert or rolled back with it) makes a sink's very first
    // batches wait for each other too, so the epoch check below sees the other run's committed epoch.
    const key = `${c.escapeLiteral(batch.pipeline)}, ${c.escapeLiteral(batch.sink)}, ${Number(batch.partition)}`;
    const where = `pipeline = ${c.escapeLiteral(batch.pipeline)} AND sink = ${c.escapeLiteral(batch.sink)} AND partition = ${Number(batch.partition)}`;
    const [, , r] = (await c.query(
      `BEGIN; INSERT INTO ${OFFSETS_TABLE} (pipeline, sink, partition, next, epoch) VALUES (${key}, -1, ${Number(batch.epoch)}) ON CONFLICT DO NOTHING; SELECT next, epoch FROM ${OFFSETS_TABLE} WHERE ${where} FOR UPDATE`,
    )) as unknown as [pg.QueryResult, pg.QueryResult, pg.QueryResult<{ next: string; epoch: string }>];
    const stored = Number(r.rows[0]!.next);
    const owner = Number(r.rows[0]!.epoch);
    if (owner > batch.epoch) {
      await c.query('ROLLBACK'); // a newer run took over: this one must stop, its batch unwritten
      throw new SinkFencedError(OFFSETS_TABLE, batch.pipeline, batch.sink, Number(batch.partition), batch.epoch, owner, `DELETE FROM ${OFFSETS_TABLE} WHERE ${where}`);
    }
    if (stored >= batch.next) {
      await c.query('ROLLBACK'); // this batch committed already (its COMMIT's answer was lost, or a run before a crash)
      return;
    }
    const rejected: RejectedRow[] = [];
    const { rowsPerStatement } = this.options;
    for (const all of runs(await this.writable(c, batch.rows, rejected))) {
      const run = careful ? await this.prepareCarefully(c, all, rejected) : (await this.schema.prepare(c, all), all);
      for (const s of statementsOf(run, this.schema, this.options.key, rowsPerStatement)) {
        if (careful) rejected.push(...(await this.isolate(c, s)));
        else await c.query(s.text, s.values);
      }
    }
    if (rejected.length > 0) await ctx.reject(rejected);
    // … and the new offset with COMMIT in another: a batch costs its statements and two round trips.
    const values = `${key}, ${Number(batch.next)}, ${Number(batch.epoch)}`;
    await c.query(`INSERT INTO ${OFFSETS_TABLE} (pipeline, sink, partition, next, epoch) VALUES (${values}) ON CONFLICT (pipeline, sink, partition) DO UPDATE SET next = EXCLUDED.next, epoch = EXCLUDED.epoch, updated_at = now(); COMMIT`);
    this.schema.commit();
  }

  /** The rows but those with a field no column can be named for (to `rejected`: their error would fail the batch, every time). */
  private async writable(c: pg.Client, rows: SinkRow[], rejected: RejectedRow[]): Promise<SinkRow[]> {
    await this.schema.load(c);
    let kept: SinkRow[] | undefined;
    for (let i = 0; i < rows.length; i++) {
      const problem = this.schema.refusal(rows[i]!);
      if (problem === undefined) kept?.push(rows[i]!);
      else (kept ??= rows.slice(0, i)), rejected.push({ row: rows[i]!, error: `postgres: ${problem}` });
    }
    return kept ?? rows;
  }

  /**
   * The run's columns in a savepoint; refused for a row's sake (54011: past 1,600 columns), each row
   * that needs new columns is tried alone in a savepoint of its own, and those refused are left out
   * of the run (to `rejected`), so the others commit.
   */
  private async prepareCarefully(c: pg.Client, run: SinkRow[], rejected: RejectedRow[]): Promise<SinkRow[]> {
    await this.schema.load(c);
    if ((await this.inSavepoint(c, () => this.schema.prepare(c, run))) === true) return run;
    const kept: SinkRow[] = [];
    for (const row of run) {
      if (this.schema.wanted([row]).size === 0) kept.push(row);
      else {
        const refused = await this.inSavepoint(c, () => this.schema.prepare(c, [row]));
        if (refused === true) kept.push(row);
        else rejected.push({ row, error: `postgres: ${refused.message} (SQLSTATE ${(refused as { code?: string }).code})` });
      }
    }
    return kept;
  }

  /** Runs `fn` in a savepoint: true, or the row error that rolled it back (its columns forgotten). */
  private async inSavepoint(c: pg.Client, fn: () => Promise<void>): Promise<true | Error> {
    const mark = this.schema.mark();
    await c.query('SAVEPOINT sluice_schema');
    try {
      await fn();
      await c.query('RELEASE SAVEPOINT sluice_schema');
      return true;
    } catch (e) {
      if (!isRowError(e)) throw e;
      await c.query('ROLLBACK TO SAVEPOINT sluice_schema');
      await c.query('RELEASE SAVEPOINT sluice_schema');
      this.schema.restore(mark);
      return e as Error;
    }
  }

  /** Runs a statement in a savepoint; refused for a row's sake, its halves (down to single rows: those are refused). */
  private async isolate(c: pg.Client, s: Statement): Promise<RejectedRow[]> {
    await c.query('SAVEPOINT sluice_row');
    try {
      await c.query(s.text, s.values);
      await c.query('RELEASE SAVEPOINT sluice_row');
      return [];
    } catch (e) {
      if (!isRowError(e)) throw e;
      await c.query('ROLLBACK TO SAVEPOINT sluice_row');
      await c.query('RELEASE SAVEPOINT sluice_row');
      if (s.rows.length === 1) return [{ row: s.rows[0]!, error: `postgres: ${(e as Error).message} (SQLSTATE ${(e as { code: string }).code})` }];
      const mid = s.rows.length >> 1;
      const halves: SinkRow[][] = [s.rows.slice(0, mid), s.rows.slice(mid)];
      const out: RejectedRow[] = [];
      for (const rows of halves) out.push(...(await this.isolate(c, rebuild(s, rows, this.schema, this.options.key))));
      return out;
    }
  }

  /** One call through the dependency: a connected client, dropped on any error (its transaction rolls back with it). */
  private call<T>(signal: AbortSignal | undefined, doing: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
    return this.dependency.execute(async (attempt) => {
      let c: pg.Client | undefined;
      const drop = () => c && this.drop(c);
      attempt.addEventListener('abort', drop, { once: true });
      try {
        c = await this.connect();
        if (attempt.aborted) throw attempt.reason;
        return await fn(c);
      } catch (e) {
        if (c) this.drop(c);
        throw attempt.aborted ? attempt.reason : e instanceof ConflictError ? e : pgError(e, doing);
      } finally {
        attempt.removeEventListener('abort', drop);
      }
    }, signal);
  }

  private async connect(): Promise<pg.Client> {
    if (this.client) return this.client;
    const base = typeof this.options.connection === 'string' ? { connectionString: this.options.connection } : this.options.connection;
    const c = new pg.Client({ connectionTimeoutMillis: this.timeoutMs, statement_timeout: this.timeoutMs, application_name: 'sluice', ...base });
    c.on('error', () => this.drop(c)); // an idle connection's error (the server went away): the next call connects again
    this.client = c;
    try {
      await c.connect();
      await ensureOffsetsTable(c);
    } catch (e) {
      this.drop(c);
      throw e;
    }
    return c;
  }

  /** Forgets a client and closes its socket (an open transaction on it rolls back on the server). */
  private drop(c: pg.Client): void {
    if (this.client === c) this.client = undefined;
    this.schema.rollback();
    const stream = (c as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream;
    stream?.destroy();
    c.end().catch(() => {});
  }
}

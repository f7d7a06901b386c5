// The SQLite table sink (`.toTable(name)`): a transactional sink over the tables file — rows and
// the input offset in one SQLite transaction. Local and synchronous: no resilience policy.
import type { Row } from '../../dataflow/runtime/wire.js';
import type { Sink, SinkBatch, SinkWriteContext } from '../sink.js';
import { MAX_TABLE_COLUMNS, TablesDb } from './tables-db.js';

export { DEFAULT_TABLES_PATH, MAX_TABLE_COLUMNS, TablesDb } from './tables-db.js';

export class SqliteTableSink implements Sink {
  readonly kind = 'sqlite';
  readonly delivery = 'transactional' as const;

  /** `table`: the SQLite table (the sink's name in the pipeline); `db`: the thread's tables file. */
  constructor(readonly table: string, private readonly db: TablesDb) {}

  async committed(pipeline: string): Promise<number | undefined> {
    return this.db.offset(pipeline, this.table);
  }

  async write(batch: SinkBatch, ctx: SinkWriteContext): Promise<void> {
    let rows: Row[] = batch.rows.map((r) => (r.deleted ? [r.key, r.value, 1] : [r.key, r.value]));
    // Checked before writing: a row bringing too many columns is refused, the rest are stored.
    const wide = this.db.tooWide(this.table, rows);
    if (wide.size > 0) {
      const error = `table '${this.table}': a row may not take it past ${MAX_TABLE_COLUMNS} columns`;
      await ctx.reject([...wide].map((i) => ({ row: batch.rows[i]!, error })));
      rows = rows.filter((_, i) => !wide.has(i));
    }
    this.db.apply(batch.pipeline, this.table, rows, batch.next);
  }

  async reset(pipeline: string, _sink: string, from?: number): Promise<void> {
    this.db.reset(pipeline, [this.table], from);
  }

  /** The tables file is the thread's, shared by its table sinks: closed by its owner. */
  async close(): Promise<void> {}
}

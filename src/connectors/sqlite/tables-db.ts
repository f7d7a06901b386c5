// The SQLite tables file of `toTable` sinks: rows upserted with their input offset in the same
// SQLite transaction — each row change lands exactly once. A table has `_key` (JSON of the row's
// key) as primary key and one column per top-level field, added as fields appear. A deletion (a
// result that no longer holds) removes its key's row.
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Row } from '../../dataflow/runtime/wire.js';

export const DEFAULT_TABLES_PATH = '.sluice/tables.db';
/** Columns a table may grow to (SQLite's limit is 2,000): rows bringing more go to '<pipeline>-errors'. */
export const MAX_TABLE_COLUMNS = 1000;

/** One connection per tables file and thread. */
export class TablesDb {
  readonly db: Database.Database;
  private readonly columns = new Map<string, Set<string>>();
  private readonly upserts = new Map<string, Database.Statement>();
  private readonly deletes = new Map<string, Database.Statement>();
  private readonly offsetGet: Database.Statement;
  private readonly offsetSet: Database.Statement;

  constructor(path: string) {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    this.db = new Database(path);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('busy_timeout = 5000');
    this.db.exec('CREATE TABLE IF NOT EXISTS _sluice_offsets (pipeline TEXT NOT NULL, tbl TEXT NOT NULL, next INTEGER NOT NULL, PRIMARY KEY (pipeline, tbl))');
    this.offsetGet = this.db.prepare('SELECT next FROM _sluice_offsets WHERE pipeline = ? AND tbl = ?');
    this.offsetSet = this.db.prepare('INSERT INTO _sluice_offsets (pipeline, tbl, next) VALUES (?, ?, ?) ON CONFLICT (pipeline, tbl) DO UPDATE SET next = excluded.next');
  }

  offset(pipeline: string, table: string): number | undefined {
    return (this.offsetGet.get(pipeline, table) as { next: number } | undefined)?.next;
  }

  /** The indexes of rows that would take the table past MAX_TABLE_COLUMNS (checked before writing). */
  tooWide(table: string, rows: Row[]): Set<number> {
    const cols = new Set(this.known(table));
    const out = new Set<number>();
    rows.forEach(([, row, deleted], i) => {
      if (deleted) return;
      const added = Object.keys(row).filter((f) => !cols.has(f));
      if (cols.size + added.length > MAX_TABLE_COLUMNS) out.add(i);
      else for (const f of added) cols.add(f);
    });
    return out;
  }

  /** Upserts (or deletes) rows and records the next input offset, in one transaction. */
  apply(pipeline: string, table: string, rows: Row[], next: number): void {
    this.db.transaction(() => {
      for (const [key, row, deleted] of rows) {
        if (deleted) this.remove(table, key);
        else this.upsert(table, key, row);
      }
      this.offsetSet.run(pipeline, table, next);
    }).immediate();
  }

  /** Removes rows (all, or those whose windowStart is at or after `from`) and the pipeline's offsets: for replay. */
  reset(pipeline: string, tables: string[], from?: number): void {
    this.db.transaction(() => {
      for (const t of tables) {
        if (this.known(t).size === 0) continue; // never written
        if (from === undefined || !this.known(t).has('windowStart')) this.db.prepare(`DELETE FROM ${q(t)}`).run();
        else this.db.prepare(`DELETE FROM ${q(t)} WHERE "windowStart" >= ?`).run(from);
      }
      this.db.prepare('DELETE FROM _sluice_offsets WHERE pipeline = ?').run(pipeline);
    }).immediate();
  }

  close(): void {
    this.db.close();
  }

  private known(table: string): Set<string> {
    let cols = this.columns.get(table);
    if (!cols) {
      const info = this.db.prepare(`SELECT name FROM pragma_table_info(?)`).all(table) as { name: string }[];
      cols = new Set(info.map((c) => c.name));
      this.columns.set(table, cols);
    }
    return cols;
  }

  private remove(table: string, key: unknown[]): void {
    if (this.known(table).size === 0) return; // never written: nothing to delete
    let stmt = this.deletes.get(table);
    if (!stmt) this.deletes.set(table, (stmt = this.db.prepare(`DELETE FROM ${q(table)} WHERE _key = ?`)));
    stmt.run(JSON.stringify(key));
  }

  private upsert(table: string, key: unknown[], row: Record<string, unknown>): void {
    const cols = this.known(table);
    if (cols.size === 0) {
      this.db.exec(`CREATE TABLE IF NOT EXISTS ${q(table)} (_key TEXT PRIMARY KEY)`);
      cols.add('_key');
    }
    const fields = Object.keys(row);
    for (const f of fields) {
      if (cols.has(f)) continue;
      this.db.exec(`ALTER TABLE ${q(table)} ADD COLUMN ${q(f)}`);
      cols.add(f);
    }
    const sig = `${table}\u0000${fields.join('\u0000')}`;
    let stmt = this.upserts.get(sig);
    if (!stmt) {
      const names = fields.map(q);
      const set = names.length ? `DO UPDATE SET ${names.map((n) => `${n} = excluded.${n}`).join(', ')}` : 'DO NOTHING';
      stmt = this.db.prepare(`INSERT INTO ${q(table)} (_key${names.map((n) => `, ${n}`).join('')}) VALUES (?${', ?'.repeat(names.length)}) ON CONFLICT (_key) ${set}`);
      this.upserts.set(sig, stmt);
    }
    stmt.run(JSON.stringify(key), ...fields.map((f) => column(row[f])));
  }
}

const q = (name: string) => `"${name.replaceAll('"', '""')}"`;

/**
 * SQLite values: whole numbers as INTEGER (better-sqlite3 binds every JS number as REAL, which the
 * sqlite3 shell shows as 1234.0), other numbers and text as they are, booleans as 0/1, objects as JSON text.
 */
function column(v: unknown): unknown {
  if (v === undefined || v === null) return null;
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'number') return Number.isSafeInteger(v) ? BigInt(v) : v;
  if (typeof v === 'string' || typeof v === 'bigint') return v;
  return JSON.stringify(v);
}

// A sink table's columns: read from the database, or created from the rows' shape (declared types
// first, else a type from each field's first non-null value) and grown as new fields appear —
// inside the batch's transaction, so a rolled-back batch leaves no column behind.
import type { ClientBase } from 'pg';
import type { SinkRow } from '../sink.js';
import { OFFSETS_TABLE } from './options.js';

/** PostgreSQL's longest identifier (NAMEDATALEN - 1), in bytes: a longer one is truncated to it. */
export const MAX_IDENTIFIER_BYTES = 63;

/**
 * Why a field cannot name a column, if it cannot: empty or with a NUL (refused by the server, which
 * would fail the whole batch) or past 63 bytes (truncated, so two fields alike in their first 63
 * bytes would share one column, or fail their statement as one column named twice).
 */
export function columnNameProblem(name: string): string | undefined {
  if (name === '') return 'an empty field name cannot name a column';
  if (name.includes('\u0000')) return `field name ${JSON.stringify(name)} has a NUL, which cannot be in a column name`;
  if (Buffer.byteLength(name, 'utf8') > MAX_IDENTIFIER_BYTES) return `field name ${JSON.stringify(name)} is longer than PostgreSQL's ${MAX_IDENTIFIER_BYTES}-byte column names`;
  return undefined;
}

/** A quoted identifier. */
export const ident = (name: string) => `"${name.replaceAll('"', '""')}"`;

/** `schema.table` or `table`, quoted. */
export const qualified = (table: string) => table.split('.').map(ident).join('.');

/** The type of a field whose type was not declared, from a non-null value. */
export function inferType(v: unknown): string {
  if (typeof v === 'number' || typeof v === 'bigint') return 'double precision';
  if (typeof v === 'boolean') return 'boolean';
  if (typeof v === 'string') return 'text';
  return 'jsonb';
}

const JSON_TYPE = /^jsonb?$/i;
const TIME_TYPE = /^(timestamp|date)/i;

/** A JavaScript value as the text node-postgres sends for a column of `type`. */
export function param(v: unknown, type: string): unknown {
  if (v === undefined || v === null) return null;
  if (JSON_TYPE.test(type)) return JSON.stringify(v);
  if (typeof v === 'number' && TIME_TYPE.test(type) && Number.isFinite(v)) return new Date(v).toISOString(); // epoch ms
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'object') return JSON.stringify(v); // not node-postgres' array literal: the row's JSON
  return v;
}

export class TableSchema {
  /** Column → SQL type; empty until loaded, and while the table does not exist. */
  private columns = new Map<string, string>();
  private loaded = false;
  /** Columns added by the open transaction: kept once it commits. */
  private added = new Map<string, string>();

  constructor(readonly table: string, private readonly key: string[], private readonly declared: Record<string, string>, private readonly create: boolean) {}

  /** The type of a column (added in the open transaction or before), if it exists. */
  typeOf(column: string): string | undefined {
    return this.added.get(column) ?? this.columns.get(column);
  }

  /** Whether the table exists (as far as this transaction knows). */
  get exists(): boolean {
    return this.columns.size + this.added.size > 0;
  }

  /** Reads the table's columns once (none: it does not exist yet). */
  async load(c: ClientBase): Promise<void> {
    if (this.loaded) return;
    const [schema, name] = this.table.includes('.') ? this.table.split('.') : [null, this.table];
    const r = await c.query<{ column_name: string; data_type: string }>(
      'SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = coalesce($1, current_schema()) AND table_name = $2',
      [schema, name],
    );
    this.columns = new Map(r.rows.map((x) => [x.column_name, x.data_type]));
    this.loaded = true;
  }

  /** The columns (and their types) the rows' non-null fields need and the table lacks, once loaded. */
  wanted(rows: SinkRow[]): Map<string, string> {
    const wanted = new Map<string, string>();
    if (!this.create) return wanted;
    for (const { value, deleted } of rows) {
      if (deleted) continue;
      for (const f in value) {
        if (this.typeOf(f) === undefined && !wanted.has(f) && value[f] !== null && value[f] !== undefined) wanted.set(f, this.declared[f] ?? inferType(value[f]));
      }
    }
    return wanted;
  }

  /** Why `row` cannot be written, when one of its fields would need a column no name of which PostgreSQL keeps. */
  refusal(row: SinkRow): string | undefined {
    if (!this.create || row.deleted) return undefined;
    for (const f in row.value) {
      if (this.typeOf(f) !== undefined || row.value[f] === null || row.value[f] === undefined) continue;
      const problem = columnNameProblem(f);
      if (problem) return problem;
    }
    return undefined;
  }

  /** Creates the table or adds columns so the rows' non-null fields have one (in the caller's transaction). */
  async prepare(c: ClientBase, rows: SinkRow[]): Promise<void> {
    await this.load(c);
    const wanted = this.wanted(rows);
    if (wanted.size === 0) return;
    if (!this.exists) {
      for (const k of this.key) if (!wanted.has(k)) wanted.set(k, this.declared[k] ?? 'text');
      const cols = [...wanted].map(([f, t]) => `${ident(f)} ${t}${this.key.includes(f) ? ' NOT NULL' : ''}`);
      await c.query(`CREATE TABLE IF NOT EXISTS ${qualified(this.table)} (${cols.join(', ')}, PRIMARY KEY (${this.key.map(ident).join(', ')}))`);
    } else {
      for (const [f, t] of wanted) await c.query(`ALTER TABLE ${qualified(this.table)} ADD COLUMN IF NOT EXISTS ${ident(f)} ${t}`);
    }
    for (const [f, t] of wanted) this.added.set(f, t);
  }

  /** The columns added so far in the open transaction, to go back to (a savepoint rolled back). */
  mark(): Map<string, string> {
    return new Map(this.added);
  }

  /** Forgets the columns added since `mark()` (their savepoint was rolled back). */
  restore(mark: Map<string, string>): void {
    this.added = new Map(mark);
  }

  /** The open transaction committed: its columns are the table's. */
  commit(): void {
    for (const [f, t] of this.added) this.columns.set(f, t);
    this.added.clear();
  }

  /** The open transaction rolled back: its columns are gone (and the table may have changed: read it again). */
  rollback(): void {
    this.added.clear();
    this.loaded = false;
  }
}

/**
 * Creates the offsets table when missing (two sinks creating it at once: one wins, the other's
 * error is ignored), and its `epoch` column (the owning run's) in a table made before it existed.
 */
export async function ensureOffsetsTable(c: ClientBase): Promise<void> {
  try {
    await c.query(`CREATE TABLE IF NOT EXISTS ${OFFSETS_TABLE} (pipeline text NOT NULL, sink text NOT NULL, partition integer NOT NULL, next bigint NOT NULL, epoch bigint NOT NULL DEFAULT 0, updated_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (pipeline, sink, partition))`);
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code !== '23505' && code !== '42P07') throw e;
  }
  // (Looked up first: ALTER TABLE takes the table's lock, which waits for every batch in flight.)
  const r = await c.query(`SELECT 1 FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = '${OFFSETS_TABLE}' AND column_name = 'epoch'`);
  if (r.rowCount === 0) await c.query(`ALTER TABLE ${OFFSETS_TABLE} ADD COLUMN IF NOT EXISTS epoch bigint NOT NULL DEFAULT 0`);
}

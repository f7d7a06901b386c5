// The statements of a batch: rows cut into runs in which no key repeats (so one multi-row
// `INSERT … ON CONFLICT DO UPDATE` may hold them: PostgreSQL refuses to update a row twice in one
// statement, and the later change of a key must win), each run's upserts grouped by their columns
// and its deletions together, at most rowsPerStatement rows and 65,535 parameters a statement.
import type { SinkRow } from '../sink.js';
import { MAX_PARAMETERS } from './options.js';
import { ident, param, qualified, type TableSchema } from './schema.js';

export interface Statement {
  text: string;
  values: unknown[];
  /** The rows it writes (to find a refused one). */
  rows: SinkRow[];
}

/** Rows in order, cut where a key comes again: within a run every key is distinct. */
export function runs(rows: SinkRow[]): SinkRow[][] {
  const out: SinkRow[][] = [];
  let run: SinkRow[] = [];
  let keys = new Set<string>();
  for (const r of rows) {
    const k = JSON.stringify(r.key);
    if (keys.has(k)) {
      out.push(run);
      run = [];
      keys = new Set();
    }
    keys.add(k);
    run.push(r);
  }
  if (run.length > 0) out.push(run);
  return out;
}

/** One run's statements: deletions (of a table that exists), then upserts by column list. */
export function statementsOf(run: SinkRow[], schema: TableSchema, key: string[], rowsPerStatement: number): Statement[] {
  const out: Statement[] = [];
  const deletes = run.filter((r) => r.deleted);
  if (deletes.length > 0 && schema.exists) for (const part of chunks(deletes, key.length, rowsPerStatement)) out.push(deleteOf(part, schema, key));
  const byColumns = new Map<string, { columns: string[]; rows: SinkRow[] }>();
  for (const r of run) {
    if (r.deleted) continue;
    const columns = Object.keys(r.value).filter((f) => schema.typeOf(f) !== undefined && !key.includes(f));
    const sig = columns.join('\u0000');
    let g = byColumns.get(sig);
    if (!g) byColumns.set(sig, (g = { columns, rows: [] }));
    g.rows.push(r);
  }
  for (const { columns, rows } of byColumns.values()) {
    for (const part of chunks(rows, key.length + columns.length, rowsPerStatement)) out.push(upsertOf(part, schema, key, columns));
  }
  return out;
}

/** A statement for the same kind of change over other rows (a half of a refused statement's). */
export function rebuild(s: Statement, rows: SinkRow[], schema: TableSchema, key: string[]): Statement {
  if (rows[0]!.deleted) return deleteOf(rows, schema, key);
  const columns = Object.keys(rows[0]!.value).filter((f) => schema.typeOf(f) !== undefined && !key.includes(f));
  return upsertOf(rows, schema, key, columns);
}

function chunks(rows: SinkRow[], perRow: number, rowsPerStatement: number): SinkRow[][] {
  const n = Math.max(1, Math.min(rowsPerStatement, Math.floor(MAX_PARAMETERS / Math.max(1, perRow))));
  const out: SinkRow[][] = [];
  for (let i = 0; i < rows.length; i += n) out.push(rows.slice(i, i + n));
  return out;
}

/** `INSERT INTO t (key…, columns…) VALUES (…), (…) ON CONFLICT (key…) DO UPDATE SET c = EXCLUDED.c, …`. */
function upsertOf(rows: SinkRow[], schema: TableSchema, key: string[], columns: string[]): Statement {
  const all = [...key, ...columns];
  const types = all.map((c) => schema.typeOf(c) ?? 'text');
  const values: unknown[] = [];
  const tuples: string[] = [];
  for (const r of rows) {
    const slots: string[] = [];
    for (let i = 0; i < all.length; i++) {
      values.push(param(r.value[all[i]!], types[i]!));
      slots.push(`$${values.length}`);
    }
    tuples.push(`(${slots.join(',')})`);
  }
  const set = columns.length > 0 ? `DO UPDATE SET ${columns.map((c) => `${ident(c)} = EXCLUDED.${ident(c)}`).join(', ')}` : 'DO NOTHING';
  const text = `INSERT INTO ${qualified(schema.table)} (${all.map(ident).join(', ')}) VALUES ${tuples.join(',')} ON CONFLICT (${key.map(ident).join(', ')}) ${set}`;
  return { text, values, rows };
}

/** `DELETE FROM t WHERE (key…) IN ((…), (…))`, by the rows' key values. */
function deleteOf(rows: SinkRow[], schema: TableSchema, key: string[]): Statement {
  const types = key.map((c) => schema.typeOf(c) ?? 'text');
  const values: unknown[] = [];
  const tuples: string[] = [];
  for (const r of rows) {
    const slots = key.map((_, i) => {
      values.push(param(r.key[i], types[i]!));
      return `$${values.length}`;
    });
    tuples.push(`(${slots.join(',')})`);
  }
  const text = `DELETE FROM ${qualified(schema.table)} WHERE (${key.map(ident).join(', ')}) IN (${tuples.join(',')})`;
  return { text, values, rows };
}

// Options of the PostgreSQL sink: defaults in named constants, merged and checked once.
import type { ClientConfig } from 'pg';
import { InvalidArgumentError } from '../../engine/errors.js';
import type { DependencyOptions } from '../../resilience/index.js';

/** Rows per multi-row statement (65,535 bind parameters at most: fewer when rows are wide). */
export const DEFAULT_ROWS_PER_STATEMENT = 1000;
/** Per-attempt deadline of one batch's transaction. */
export const DEFAULT_POSTGRES_TIMEOUT_MS = 10_000;
/** Attempts of one batch's transaction before the unit gives up on it for now (and tries again after its pause). */
export const DEFAULT_POSTGRES_ATTEMPTS = 3;
/** The table holding each sink's input offsets, in the sink's database. */
export const OFFSETS_TABLE = '_sluice_offsets';
/** PostgreSQL's most bind parameters in one statement. */
export const MAX_PARAMETERS = 65_535;

export interface PostgresSinkOptions {
  /** A connection string (`postgres://user:pass@host:5432/db`) or node-postgres' client configuration. Required. */
  connection: string | ClientConfig;
  /** The table, `name` or `schema.name` (letters, digits, _). Required. */
  table: string;
  /** Fields that make the primary key (a window's result: `['key', 'windowStart']`). Required, at least one. */
  key: string[];
  /**
   * SQL types of columns, by field (`{ windowStart: 'timestamptz', views: 'integer' }`). Fields not
   * named get a type from their first non-null value: numbers `double precision` (exact for whole
   * numbers up to 2^53, so epoch-ms window bounds are exact), strings `text`, booleans `boolean`,
   * objects and arrays `jsonb`. A number given to a timestamp column is epoch milliseconds. Default none.
   */
  columns?: Record<string, string>;
  /** Create the table when missing, and add columns as new fields appear. Default true. */
  createTable?: boolean;
  /** Rows per INSERT … ON CONFLICT statement. Default 1000. */
  rowsPerStatement?: number;
  /** The dependency's policies (timeout, retry, breaker, bulkhead, budget); unset parts keep their defaults. Default: 10 s timeout, 3 attempts. */
  policy?: Omit<DependencyOptions, 'clock' | 'sharedBudgets'>;
}

export type ResolvedPostgresOptions = Required<Omit<PostgresSinkOptions, 'policy'>> & { policy: PostgresSinkOptions['policy'] };

const IDENT = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

/** Options with their defaults, checked: InvalidArgumentError names the first bad field. */
export function resolvePostgresOptions(o: PostgresSinkOptions): ResolvedPostgresOptions {
  const bad = (field: string, why: string) => new InvalidArgumentError(`postgres sink: ${field} ${why}`, field);
  if (typeof o.connection !== 'string' && (typeof o.connection !== 'object' || o.connection === null)) throw bad('connection', 'must be a connection string or a pg client configuration');
  const parts = typeof o.table === 'string' ? o.table.split('.') : [];
  if (parts.length < 1 || parts.length > 2 || !parts.every((p) => IDENT.test(p))) throw bad('table', `must be 'name' or 'schema.name' of letters, digits and _, got ${JSON.stringify(o.table)}`);
  if (!Array.isArray(o.key) || o.key.length === 0 || !o.key.every((k) => typeof k === 'string' && k.length > 0 && k.length <= 63)) throw bad('key', 'must be a non-empty array of field names');
  const rowsPerStatement = o.rowsPerStatement ?? DEFAULT_ROWS_PER_STATEMENT;
  if (!Number.isInteger(rowsPerStatement) || rowsPerStatement < 1) throw bad('rowsPerStatement', `must be an integer ≥ 1, got ${rowsPerStatement}`);
  for (const [field, type] of Object.entries(o.columns ?? {})) {
    if (typeof type !== 'string' || !/^[A-Za-z][A-Za-z0-9_ ()[\],]*$/.test(type)) throw bad(`columns.${field}`, `must be a SQL type name, got ${JSON.stringify(type)}`);
  }
  return { connection: o.connection, table: o.table, key: o.key, columns: o.columns ?? {}, createTable: o.createTable ?? true, rowsPerStatement, policy: o.policy };
}

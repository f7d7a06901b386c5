// A PostgreSQL server for a test file (started once, stopped at its end), a fresh database per
// test, and reads of what a sink wrote.
import pg from 'pg';
import { afterAll } from 'vitest';
import { startPostgres, type PostgresServer } from '../support/postgres.js';

let server: Promise<PostgresServer> | undefined;
let n = 0;
afterAll(async () => {
  if (server) await (await server).destroy();
});

/** The file's server (started on first use). */
export const postgres = (): Promise<PostgresServer> => (server ??= startPostgres());

/** A new empty database on the file's server: its connection string. */
export async function freshDatabase(): Promise<string> {
  return (await postgres()).createDatabase(`t${process.pid}_${n++}`);
}

/** Runs one query on its own connection. */
export async function query<T extends pg.QueryResultRow = Record<string, unknown>>(url: string, text: string, values: unknown[] = []): Promise<T[]> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query<T>(text, values)).rows;
  } finally {
    await c.end();
  }
}

/** A table's rows, or [] while it does not exist. */
export async function rowsOf<T extends pg.QueryResultRow = Record<string, unknown>>(url: string, table: string, order = ''): Promise<T[]> {
  try {
    return await query<T>(url, `SELECT * FROM ${table}${order ? ` ORDER BY ${order}` : ''}`);
  } catch (e) {
    if ((e as { code?: string }).code === '42P01') return [];
    throw e;
  }
}

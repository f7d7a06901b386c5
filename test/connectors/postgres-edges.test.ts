// The PostgreSQL sink at its edges, on a real PostgreSQL: a row whose fields would take the table
// past PostgreSQL's 1,600 columns, and an old run writing after a newer one took the sink over.
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { OFFSETS_TABLE, PostgresSink, type DependencyFor } from '../../src/connectors/postgres/index.js';
import type { RejectedRow, SinkBatch, SinkRow } from '../../src/connectors/sink.js';
import { ConflictError } from '../../src/engine/errors.js';
import { Dependencies, type Dependency } from '../../src/resilience/index.js';
import { freshDatabase, query, rowsOf } from './postgres-harness.js';

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
});

/** A sink on `url` with its own dependencies (as one thread's SinkSet makes them). */
function sink(url: string, columns: Record<string, string> = { n: 'integer' }): PostgresSink {
  const deps = new Dependencies();
  const made = new Map<string, Dependency>();
  const dependencyFor: DependencyFor = (name, o) => made.get(name) ?? made.set(name, deps.policyFor(name, { ...o, retry: { maxAttempts: 1 } })).get(name)!;
  const s = new PostgresSink({ connection: url, table: 't', key: ['id'], columns }, dependencyFor);
  closers.push(async () => (await s.close(), deps.dispose()));
  return s;
}

const row = (offset: number, value: Record<string, unknown>): SinkRow => ({ key: [value.id], value, deleted: false, place: `${offset}.0` });
const batch = (from: number, next: number, epoch: number, rows: SinkRow[]): SinkBatch => ({ pipeline: 'p', sink: 'pg.t', stream: '_sluice.p.t.pg.t', partition: 0, from, next, epoch, generation: 1, rows });

/** Writes a batch; resolves with the rows the sink refused. */
async function write(s: PostgresSink, b: SinkBatch): Promise<RejectedRow[]> {
  const refused: RejectedRow[] = [];
  await s.write(b, { signal: new AbortController().signal, reject: async (r) => void refused.push(...r) });
  return refused;
}

const offsetsOf = (url: string) => query<{ next: string; epoch: string }>(url, `SELECT next, epoch FROM ${OFFSETS_TABLE}`);

describe('the PostgreSQL sink at 1,600 columns', () => {
  it("a row whose fields would take the table past 1,600 columns goes to the errors stream; the batch's other rows, new columns included, commit with the offset", async () => {
    const url = await freshDatabase();
    // 1 key column and 1,598 others: room for one more column.
    const cols = Array.from({ length: 1_598 }, (_, i) => `c${i} double precision`);
    await query(url, `CREATE TABLE t (id text NOT NULL PRIMARY KEY, ${cols.join(', ')})`);
    const s = sink(url, {});
    const refused = await write(s, batch(0, 4, 1, [
      row(0, { id: 'a', c0: 1 }),
      row(1, { id: 'b', extra1: 1, extra2: 2 }), // two new columns: 1,601
      row(2, { id: 'c', c1: 3 }),
      row(3, { id: 'd', extra3: 4 }), // one new column: 1,600
    ]));
    expect(refused.map((r) => r.row.place)).toEqual(['1.0']);
    expect(refused[0]!.error).toMatch(/SQLSTATE 54011/);
    const rows = await rowsOf<{ id: string; c0: number | null; c1: number | null; extra3: number | null }>(url, 't', 'id');
    expect(rows.map((r) => [r.id, r.c0, r.c1, r.extra3])).toEqual([['a', 1, null, null], ['c', null, 3, null], ['d', null, null, 4]]);
    expect(await offsetsOf(url)).toEqual([{ next: '4', epoch: '1' }]);
    // The next batch sees the table as committed: extra3 exists, extra1 does not.
    expect(await write(s, batch(4, 5, 1, [row(4, { id: 'e', extra3: 5 })]))).toEqual([]);
    expect((await rowsOf<{ id: string; extra3: number }>(url, 't', 'id')).at(-1)).toMatchObject({ id: 'e', extra3: 5 });
  }, 60_000);
});

describe('the PostgreSQL sink fenced by epoch', () => {
  it("an old run's batch after a newer run's commit is refused with ConflictError, in the transaction that would commit it: the newer rows and offset stay", async () => {
    const url = await freshDatabase();
    const newer = sink(url);
    const older = sink(url);
    expect(await write(newer, batch(0, 1, 2, [row(0, { id: 'a', n: 2 })]))).toEqual([]);
    const refused = write(older, batch(0, 2, 1, [row(0, { id: 'a', n: 1 }), row(1, { id: 'b', n: 1 })]));
    await expect(refused).rejects.toBeInstanceOf(ConflictError); // a pipeline run stops on it as on a lost lease
    // It says which run owns the row, and what to do when the row is stale (the engine's data reset, the database kept).
    await expect(refused).rejects.toThrow(
      "postgres: _sluice_offsets's row of pipeline 'p', sink 'pg.t', partition 0 belongs to run epoch 2, and this run is epoch 1: a newer run took over, " +
        "or — if this engine's data was reset while this database was kept — the row is stale: delete it (DELETE FROM _sluice_offsets WHERE pipeline = 'p' AND sink = 'pg.t' AND partition = 0)",
    );
    expect(await rowsOf(url, 't', 'id')).toEqual([{ id: 'a', n: 2 }]);
    expect(await offsetsOf(url)).toEqual([{ next: '1', epoch: '2' }]);
    // The newer run goes on; a run newer still takes over.
    expect(await write(newer, batch(1, 2, 2, [row(1, { id: 'b', n: 2 })]))).toEqual([]);
    expect(await write(sink(url), batch(2, 3, 3, [row(2, { id: 'c', n: 3 })]))).toEqual([]);
    await expect(write(newer, batch(3, 4, 2, [row(3, { id: 'd', n: 2 })]))).rejects.toBeInstanceOf(ConflictError);
    expect(await offsetsOf(url)).toEqual([{ next: '3', epoch: '3' }]);
  }, 60_000);

  it("a sink's very first batch: an old run's transaction waits for the newer run's uncommitted first batch, then is refused", async () => {
    const url = await freshDatabase();
    const older = sink(url);
    await query(url, 'CREATE TABLE t (id text NOT NULL PRIMARY KEY, n integer)');
    await write(older, batch(0, 0, 1, [])); // connects and makes the offsets table (an empty batch stores offset 0 … )
    await query(url, `DELETE FROM ${OFFSETS_TABLE}`); // … forgotten: the sink's first batch is to come
    // The newer run's first batch, open: its offset row inserted, not committed.
    const newer = new pg.Client({ connectionString: url });
    await newer.connect();
    closers.push(() => newer.end());
    await newer.query('BEGIN');
    await newer.query(`INSERT INTO t (id, n) VALUES ('a', 2)`);
    await newer.query(`INSERT INTO ${OFFSETS_TABLE} (pipeline, sink, partition, next, epoch) VALUES ('p', 'pg.t', 0, 1, 2)`);
    const old = write(older, batch(0, 2, 1, [row(0, { id: 'a', n: 1 }), row(1, { id: 'b', n: 1 })]));
    old.catch(() => {});
    // The old run's transaction waits on the newer one's offset row.
    const waiting = async () => (await query<{ n: string }>(url, `SELECT count(*) AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()`))[0]!.n === '1';
    for (let i = 0; !(await waiting()); i++) {
      if (i === 1_000) throw new Error("the old run's transaction never waited for the newer one's");
      await new Promise((r) => setTimeout(r, 10));
    }
    await newer.query('COMMIT');
    await expect(old).rejects.toBeInstanceOf(ConflictError);
    expect(await rowsOf(url, 't', 'id')).toEqual([{ id: 'a', n: 2 }]);
    expect(await offsetsOf(url)).toEqual([{ next: '1', epoch: '2' }]);
  }, 60_000);

  it('an offsets table made before epochs existed gets the column (existing offsets at epoch 0)', async () => {
    const url = await freshDatabase();
    await query(url, `CREATE TABLE ${OFFSETS_TABLE} (pipeline text NOT NULL, sink text NOT NULL, partition integer NOT NULL, next bigint NOT NULL, updated_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (pipeline, sink, partition))`);
    await query(url, `INSERT INTO ${OFFSETS_TABLE} (pipeline, sink, partition, next) VALUES ('p', 'pg.t', 0, 5)`);
    const s = sink(url);
    expect(await s.committed('p', 'pg.t', 0, new AbortController().signal)).toBe(5);
    expect(await write(s, batch(5, 6, 1, [row(5, { id: 'a', n: 1 })]))).toEqual([]);
    expect(await offsetsOf(url)).toEqual([{ next: '6', epoch: '1' }]);
  }, 60_000);
});

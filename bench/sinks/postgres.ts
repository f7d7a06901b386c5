// The PostgreSQL sink's rows/s against, in the same run and on the same server: a bare node-postgres
// loop of multi-row upserts (BEGIN; INSERT … VALUES … ON CONFLICT DO UPDATE; COMMIT per batch) and
// COPY into a staging table then one INSERT … SELECT … ON CONFLICT per batch. Rows are window
// results (key, windowStart, windowEnd, views, users) over 20,000 keys, so most batches update.
// Each method gets a fresh table; three rounds, methods interleaved, best round each. One JSON line.
// Usage: node --import tsx bench/sinks/postgres.ts [--rows 200000] [--batch 1000]
import { availableParallelism } from 'node:os';
import { Readable } from 'node:stream';
import { pipeline as pump } from 'node:stream/promises';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { PostgresSink } from '../../src/connectors/postgres/index.js';
import type { SinkBatch, SinkRow } from '../../src/connectors/sink.js';
import { Dependencies } from '../../src/resilience/index.js';
import { startPostgres } from '../../test/support/postgres.js';

const arg = (name: string, d: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : d;
};
const ROWS = arg('rows', 200_000);
const BATCH = arg('batch', 1000);
const KEYS = 20_000;
const ROUNDS = 3;

interface R { key: string; windowStart: number; windowEnd: number; views: number; users: number }
const rows: R[] = Array.from({ length: ROWS }, (_, i) => {
  const k = i % KEYS;
  return { key: `video-${k % 500}`, windowStart: Math.floor(k / 500) * 60_000, windowEnd: Math.floor(k / 500) * 60_000 + 60_000, views: i, users: i % 97 };
});
const batches: R[][] = [];
for (let i = 0; i < ROWS; i += BATCH) batches.push(rows.slice(i, i + BATCH));

const DDL = (t: string) => `CREATE TABLE ${t} (key text NOT NULL, "windowStart" double precision NOT NULL, "windowEnd" double precision, views double precision, users double precision, PRIMARY KEY (key, "windowStart"))`;
const COLS = '(key, "windowStart", "windowEnd", views, users)';
const SET = 'DO UPDATE SET "windowEnd" = EXCLUDED."windowEnd", views = EXCLUDED.views, users = EXCLUDED.users';

async function bareUpsert(c: pg.Client, t: string): Promise<void> {
  for (const b of batches) {
    const values: unknown[] = [];
    const tuples = b.map((r) => {
      const n = values.push(r.key, r.windowStart, r.windowEnd, r.views, r.users);
      return `($${n - 4},$${n - 3},$${n - 2},$${n - 1},$${n})`;
    });
    await c.query('BEGIN');
    await c.query(`INSERT INTO ${t} ${COLS} VALUES ${tuples.join(',')} ON CONFLICT (key, "windowStart") ${SET}`, values);
    await c.query('COMMIT');
  }
}

async function copyUpsert(c: pg.Client, t: string): Promise<void> {
  await c.query(`CREATE TEMP TABLE stage_${t} (LIKE ${t})`);
  for (const b of batches) {
    await c.query('BEGIN');
    await c.query(`TRUNCATE stage_${t}`);
    const text = b.map((r) => `${r.key}\t${r.windowStart}\t${r.windowEnd}\t${r.views}\t${r.users}\n`).join('');
    await pump(Readable.from([text]), c.query(copyFrom(`COPY stage_${t} ${COLS} FROM STDIN`)));
    // A batch may hold a key twice: keep its last row, as the sink does.
    await c.query(`INSERT INTO ${t} ${COLS} SELECT DISTINCT ON (key, "windowStart") key, "windowStart", "windowEnd", views, users FROM stage_${t} ORDER BY key, "windowStart", ctid DESC ON CONFLICT (key, "windowStart") ${SET}`);
    await c.query('COMMIT');
  }
}

async function sink(url: string, t: string): Promise<void> {
  const deps = new Dependencies();
  const s = new PostgresSink({ connection: url, table: t, key: ['key', 'windowStart'] }, (name, o) => deps.policyFor(name, o));
  const signal = new AbortController().signal;
  let offset = 0;
  for (const b of batches) {
    const sinkRows: SinkRow[] = b.map((r, i) => ({ key: [r.key, r.windowStart], value: r as unknown as Record<string, unknown>, deleted: false, place: `${offset}.${i}` }));
    const batch: SinkBatch = { pipeline: 'bench', sink: `pg.${t}`, stream: '_sluice.bench.t', partition: 0, from: offset, next: offset + 1, epoch: 1, generation: 1, rows: sinkRows };
    offset++;
    await s.write(batch, { signal, reject: async () => {} });
  }
  await s.close();
  deps.dispose();
}

const server = await startPostgres();
try {
  const url = await server.createDatabase('bench');
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  const version = (await c.query<{ server_version: string }>('SHOW server_version')).rows[0]!.server_version;
  const best: Record<string, number> = { bare: 0, copy: 0, sink: 0 };
  for (let round = 0; round < ROUNDS; round++) {
    for (const method of ['bare', 'copy', 'sink'] as const) {
      const t = `t_${method}_${round}`;
      if (method !== 'sink') await c.query(DDL(t)); // the sink creates its own (double precision numbers, as here)
      const started = performance.now();
      if (method === 'bare') await bareUpsert(c, t);
      else if (method === 'copy') await copyUpsert(c, t);
      else await sink(url, t);
      const perSec = ROWS / ((performance.now() - started) / 1000);
      best[method] = Math.max(best[method]!, perSec);
      const n = Number((await c.query(`SELECT count(*) FROM ${t}`)).rows[0].count);
      if (n !== Math.min(ROWS, KEYS)) throw new Error(`${method}: ${n} rows, expected ${Math.min(ROWS, KEYS)}`);
    }
  }
  await c.end();
  const round = (x: number) => Math.round(x);
  console.log(JSON.stringify({
    bench: 'sinks/postgres', date: new Date().toISOString(), nproc: availableParallelism(), node: process.version, postgres: version,
    rows: ROWS, batch: BATCH, keys: KEYS, server: 'fsync=off, synchronous_commit=off (test server)',
    bareUpsertRowsPerSec: round(best.bare!), copyRowsPerSec: round(best.copy!), sinkRowsPerSec: round(best.sink!),
    sinkVsBareUpsert: Math.round((best.sink! / best.bare!) * 1000) / 1000, copyVsBareUpsert: Math.round((best.copy! / best.bare!) * 1000) / 1000,
  }));
} finally {
  await server.destroy();
}

// kill -9 of a real `sluice dev` right after the PostgreSQL sink committed a batch (its offset row
// in PostgreSQL just moved, seen from outside), twice while input keeps arriving: each
// restart resumes where the offsets in PostgreSQL say, so no batch is applied twice (a trigger
// records every row version written: none appears twice) and the final table equals the batch
// computation exactly.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { SqliteEngine } from '../../src/engine/sqlite/index.js';
import { startDev } from '../support/sluice.js';
import { tempDir } from '../support/tmp.js';
import { batchViews, plays, type Play } from './fixtures/views.js';
import { freshDatabase, query } from './postgres-harness.js';

const FIXTURE = new URL('./fixtures/views.ts', import.meta.url).pathname;
const KILLS = 2;


const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** `sluice dev` with the pipeline running against the test's database. */
const start = (dir: string, config: string, url: string) => startDev({ dataDir: join(dir, 'data'), config, cwd: dir, env: { SLUICE_TEST_PG: url }, readyWhen: "pipeline 'video-views'" });


it('kill -9 of sluice right after a PostgreSQL commit, twice: the offsets in PostgreSQL decide, no batch twice, the table equals the batch computation', async () => {
  const dir = tempDir();
  const url = await freshDatabase();
  // The table declared up front, with a trigger recording every row version the sink writes.
  await query(url, 'CREATE TABLE video_minute (key text NOT NULL, "windowStart" bigint NOT NULL, "windowEnd" bigint, views integer, users integer, PRIMARY KEY (key, "windowStart"))');
  await query(url, 'CREATE TABLE writes (key text, "windowStart" bigint, views integer, users integer)');
  await query(url, `CREATE FUNCTION record_write() RETURNS trigger AS $$ BEGIN INSERT INTO writes VALUES (NEW.key, NEW."windowStart", NEW.views, NEW.users); RETURN NEW; END $$ LANGUAGE plpgsql`);
  await query(url, 'CREATE TRIGGER record_write AFTER INSERT OR UPDATE ON video_minute FOR EACH ROW EXECUTE FUNCTION record_write()');
  const config = join(dir, 'sluice.config.ts');
  writeFileSync(config, `export default ${JSON.stringify({ streams: { plays: { partitions: 3 } }, dataflow: { pipelines: [FIXTURE], workers: 2, batch: 32, keyGroups: 4, tables: join(dir, 'tables.db') } })};\n`);
  const input = plays(40, 3, 7);
  const body = input.slice(0, -3);
  const engine = new SqliteEngine({ dataDir: join(dir, 'data') });
  await engine.createStream('plays', { partitions: 3 });
  const append = async (values: Play[]) => {
    for (let i = 0; i < values.length; i += 100) await engine.append('plays', values.slice(i, i + 100).map((v, j) => ({ partition: (i + j) % 3, value: new TextEncoder().encode(JSON.stringify(v)) })));
  };
  const offset = async () => Number((await query<{ next: string }>(url, 'SELECT next FROM _sluice_offsets WHERE sink = $1', ['pg.video_minute']).catch(() => []))[0]?.next ?? -1);
  const chunk = Math.ceil(body.length / (KILLS + 1));
  const atKill: number[] = [];
  for (let k = 0; k < KILLS; k++) {
    await append(body.slice(k * chunk, (k + 1) * chunk));
    const dev = await start(dir, config, url);
    const before = await offset();
    while ((await offset()) === before) await sleep(2); // the sink just committed a batch in PostgreSQL…
    await dev.kill9(); // …and the process dies before it does anything else
    atKill.push(await offset());
  }
  expect(atKill.every((o, i) => i === 0 || o > atKill[i - 1]!)).toBe(true);
  await append(body.slice(KILLS * chunk));
  await append(input.slice(-3)); // the closing plays: every window fires
  const last = await start(dir, config, url);
  const want = batchViews(input);
  const table = async () => new Map((await query<{ key: string; windowStart: string; views: number; users: number }>(url, 'SELECT key, "windowStart", views, users FROM video_minute')).map((r) => [`${r.key}@${Number(r.windowStart)}`, { views: r.views, users: r.users }]));
  const same = (got: Map<string, unknown>) => got.size === want.size && [...want].every(([k, v]) => JSON.stringify(got.get(k)) === JSON.stringify(v));
  const deadline = Date.now() + 60_000;
  while (!same(await table()) && Date.now() < deadline) await sleep(100);
  await last.stop();
  expect(await table()).toEqual(want);
  // The sink's offset is the end of its input; no row version was written twice.
  const end = (await engine.describeStream('_sluice.video-views.t.pg.video_minute')).partitionInfo[0]!.next;
  await engine.close();
  expect(await offset()).toBe(end);
  const twice = await query(url, 'SELECT key, "windowStart", views, users, count(*) AS n FROM writes GROUP BY 1, 2, 3, 4 HAVING count(*) > 1');
  expect(twice).toEqual([]);
  console.log(`postgres crash test: ${KILLS} kills at offsets ${atKill.join(' ')} of ${end}; ${want.size} rows`);
}, 180_000);

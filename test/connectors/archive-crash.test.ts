// kill -9 of a real `sluice dev` archiving a stream (`archives:` in its config) right after an
// object became visible, three times while input keeps arriving: after each restart every offset
// is in exactly one object, and every visible object is complete (it gunzips to its offset range).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { expect, it } from 'vitest';
import { META } from '../../src/connectors/archive/index.js';
import { SqliteEngine } from '../../src/engine/sqlite/index.js';
import { allRecords } from '../support/engines.js';
import { startDev } from '../support/sluice.js';
import { tempDir } from '../support/tmp.js';

const KILLS = 3;


const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** `sluice dev` with the archive running. */
const start = (dir: string, config: string) => startDev({ dataDir: join(dir, 'data'), config, cwd: dir, readyWhen: "archive 'events': to" });


it('kill -9 of sluice dev right after an object of its archive committed, three times: every offset archived exactly once, no partial object visible', async () => {
  const dir = tempDir();
  const config = join(dir, 'sluice.config.ts');
  writeFileSync(config, `export default ${JSON.stringify({ streams: { events: { partitions: 2 } }, archives: { events: { bucket: 'archive', prefix: 'raw', rollSize: 4096, rollInterval: '1s' } } })};\n`);
  const engine = new SqliteEngine({ dataDir: join(dir, 'data'), retentionIntervalMs: 0 });
  await engine.createStream('events', { partitions: 2 });
  let n = 0;
  const append = async (count: number) => {
    for (let i = 0; i < count; i += 50) await engine.append('events', Array.from({ length: 50 }, () => ({ partition: n % 2, value: Buffer.from(JSON.stringify({ n: n++, video: `v${n % 7}`, pad: 'x'.repeat(40) })) })));
  };
  /** The visible objects, each checked complete: its gunzipped lines are its offset range's records. */
  const archived = async () => {
    const records = await allRecords(engine, 'events');
    const out: { partition: number; first: number; next: number }[] = [];
    let cursor: string | undefined;
    do {
      const page = await engine.listObjects({ prefix: 'archive/', ...(cursor ? { cursor } : {}) });
      for (const info of page.objects) {
        const opened = (await engine.openObject(info.name))!;
        const chunks: Buffer[] = [];
        for await (const c of opened.body) chunks.push(c as Buffer);
        const o = { partition: Number(info.metadata[META.partition]), first: Number(info.metadata[META.first]), next: Number(info.metadata[META.next]) };
        const want = records.filter((r) => r.partition === o.partition && r.offset >= o.first && r.offset < o.next).map((r) => Buffer.from(r.value).toString() + '\n').join('');
        expect(gunzipSync(Buffer.concat(chunks)).toString()).toBe(want);
        expect(info.name).toMatch(new RegExp(`^archive/raw/\\d{4}/\\d{2}/\\d{2}/events-${o.partition}-${o.first}\\.ndjson\\.gz$`));
        out.push(o);
      }
      cursor = page.next;
    } while (cursor);
    return out;
  };
  const atKill: number[] = [];
  for (let k = 0; k < KILLS; k++) {
    await append(1_500);
    const dev = await start(dir, config);
    const before = (await engine.listObjects({ prefix: 'archive/', limit: 10_000 })).objects.length;
    while ((await engine.listObjects({ prefix: 'archive/', limit: 10_000 })).objects.length === before) await sleep(2); // an object just became visible…
    await dev.kill9(); // …and the process dies mid-run
    atKill.push((await archived()).length);
  }
  await append(1_500);
  const last = await start(dir, config);
  const records = await allRecords(engine, 'events');
  const deadline = Date.now() + 90_000;
  const covered = async () => {
    const objects = await archived();
    return records.every((r) => objects.some((o) => o.partition === r.partition && r.offset >= o.first && r.offset < o.next));
  };
  while (!(await covered()) && Date.now() < deadline) await sleep(200);
  await last.stop();
  const objects = await archived();
  const count = (r: { partition: number; offset: number }) => objects.filter((o) => o.partition === r.partition && r.offset >= o.first && r.offset < o.next).length;
  expect(records.filter((r) => count(r) !== 1).map((r) => `${r.partition}:${r.offset}`)).toEqual([]);
  expect(records.length).toBe(KILLS * 1_500 + 1_500);
  await engine.close();
  console.log(`archive crash test: ${KILLS} kills with ${atKill.join(', ')} objects visible; ${objects.length} objects hold ${records.length} records once each`);
}, 240_000);

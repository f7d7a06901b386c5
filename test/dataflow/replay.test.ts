// `sluice replay` as a real process: recomputes a pipeline from retained input; rerunning gives
// identical table rows; bad flags and unknown pipelines get clear errors.
import Database from 'better-sqlite3';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { SqliteEngine } from '../../src/engine/sqlite/index.js';
import { tempDir } from '../support/tmp.js';

const BIN = new URL('../../src/cli/bin.ts', import.meta.url).pathname;
const TSX = new URL('../../node_modules/tsx/dist/loader.mjs', import.meta.url).href;
const DATAFLOW = new URL('../../src/dataflow/index.ts', import.meta.url).pathname;

function sluice(cwd: string, ...args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', TSX, BIN, ...args], { cwd });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    child.on('exit', (code) => resolve({ code, stderr }));
  });
}

const rows = (path: string) => {
  const db = new Database(path, { readonly: true });
  try {
    return db.prepare('SELECT * FROM per_user ORDER BY _key').all();
  } finally {
    db.close();
  }
};

it('replays from earliest twice with identical rows, and from a time keeps earlier windows as they were', async () => {
  const dir = tempDir();
  writeFileSync(join(dir, 'clicks.ts'), `import { pipeline, tumbling, count, sum } from '${DATAFLOW}';
const p = pipeline('clicks');
p.source<{ user: string; ts: number; n: number }>('clicks', { eventTime: (c) => c.ts })
  .keyBy((c) => c.user).window(tumbling('1m')).aggregate({ clicks: count(), total: sum((c) => c.n) }).toTable('per_user');
export default p;
`);
  writeFileSync(join(dir, 'sluice.config.ts'), `export default { dataflow: { pipelines: ['./clicks.ts'], tables: './tables.db' } };\n`);
  const engine = new SqliteEngine({ dataDir: join(dir, 'data') });
  await engine.createStream('clicks', { partitions: 2 });
  const enc = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));
  const clicks = Array.from({ length: 600 }, (_, i) => ({ user: `u${i % 5}`, ts: (i % 10) * 60_000 + i, n: i }));
  await engine.append('clicks', clicks.map((c) => ({ key: c.user, value: enc(c) })));
  for (let p = 0; p < 2; p++) await engine.append('clicks', [{ partition: p, value: enc({ user: 'end', ts: 3_600_000, n: 0 }) }]);
  await engine.close();

  const first = await sluice(dir, 'replay', 'clicks', '--from', 'earliest', '--data-dir', join(dir, 'data'));
  expect(first.stderr).toMatch(/replayed 'clicks' from earliest: 602 input records, 10 table row updates/);
  expect(first.code).toBe(0);
  const once = rows(join(dir, 'tables.db'));
  expect(once.length).toBe(10); // user i % 5 clicks in minutes i % 10: two minutes each
  const second = await sluice(dir, 'replay', 'clicks', '--from', 'earliest', '--data-dir', join(dir, 'data'));
  expect(second.code).toBe(0);
  expect(rows(join(dir, 'tables.db'))).toEqual(once);

  // From a time after every record arrived: nothing to recompute, and no row is touched.
  const later = await sluice(dir, 'replay', 'clicks', '--from', new Date(Date.now() + 60_000).toISOString(), '--data-dir', join(dir, 'data'));
  expect(later.code).toBe(0);
  expect(rows(join(dir, 'tables.db'))).toEqual(once);
}, 60_000);

it('rejects a bad --from and an unknown pipeline with one clear line', async () => {
  const dir = tempDir();
  writeFileSync(join(dir, 'sluice.config.ts'), `export default {};\n`);
  const bad = await sluice(dir, 'replay', 'x', '--from', 'yesterday-ish');
  expect(bad).toEqual({ code: 2, stderr: "sluice: --from: expected 'earliest', an ISO time or epoch milliseconds, got 'yesterday-ish'\n" });
  const unknown = await sluice(dir, 'replay', 'nope', '--from', 'earliest');
  expect(unknown).toEqual({ code: 2, stderr: "sluice: no pipeline 'nope' in dataflow.pipelines\n" });
}, 30_000);

it('stops with one line when a configured pipeline file is missing, exports no pipeline, or repeats a name', async () => {
  const dir = tempDir();
  writeFileSync(join(dir, 'empty.ts'), 'export const notAPipeline = 1;\n');
  writeFileSync(join(dir, 'twice.ts'), `import { pipeline } from '${DATAFLOW}';\nconst a = pipeline('same'); a.source('s').to('o');\nconst b = pipeline('same'); b.source('s').to('o');\nexport { a, b };\n`);
  const run = async (files: string[]) => {
    writeFileSync(join(dir, 'sluice.config.ts'), `export default { dataflow: { pipelines: ${JSON.stringify(files)} } };\n`);
    return sluice(dir, 'replay', 'same', '--from', 'earliest', '--data-dir', join(dir, 'data'));
  };
  const missing = await run(['./nope.ts']);
  expect(missing.code).toBe(2);
  expect(missing.stderr).toMatch(new RegExp(`^sluice: dataflow.pipelines: cannot load ${join(dir, 'nope.ts')}: `));
  expect(await run(['./empty.ts'])).toEqual({ code: 2, stderr: `sluice: dataflow.pipelines: ${join(dir, 'empty.ts')} exports no pipeline (export default pipeline('name')…)\n` });
  expect(await run(['./twice.ts'])).toEqual({ code: 2, stderr: "sluice: dataflow.pipelines: two pipelines are named 'same'\n" });
}, 30_000);

import Database from 'better-sqlite3';
import { linkSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { SqliteEngine } from '../../src/engine/sqlite/index.js';
import { StateValues } from '../../src/engine/sqlite/state-values.js';
import { Segments } from '../../src/engine/sqlite/segments.js';
import { OBJECT_TABLES, SCHEMA } from '../../src/engine/sqlite/schema.js';
import type { SqliteEngineConfig } from '../../src/engine/open.js';
import { tempDir } from '../support/tmp.js';
import { engineConformance } from './conformance.js';

const open = (config: SqliteEngineConfig, clock?: import('../../src/clock.js').Clock) =>
  new SqliteEngine({ dataDir: config.dataDir!, durability: config.durability, clock, retentionIntervalMs: 0 });

const mounts: string[] = [];
afterAll(() => {
  for (const dir of mounts.splice(0)) spawnSync('umount', ['-l', dir]);
});

/** A data dir on a tmpfs of `bytes` (the full-disk test; the tests run as root, as CI does). */
function smallDataDir(bytes: number): string {
  const dir = tempDir();
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${bytes}`, 'tmpfs', dir], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`the full-disk test mounts a tmpfs and needs root: ${r.stderr}`);
  mounts.push(dir);
  return dir;
}

for (const durability of ['process', 'fsync'] as const) {
  engineConformance(`sqlite (durability ${durability})`, {
    async create(clock) {
      const config: SqliteEngineConfig = { kind: 'sqlite', dataDir: tempDir(), durability };
      return { engine: open(config, clock), config };
    },
    async reopen(config, clock) {
      return open(config as SqliteEngineConfig, clock);
    },
    async createSmall(bytes) {
      const config: SqliteEngineConfig = { kind: 'sqlite', dataDir: smallDataDir(bytes), durability };
      return { engine: open(config), config };
    },
  });
}

describe('sqlite storage: segment files', () => {
  it('rolls segments over, reads across them, and deletes segments retention emptied', async () => {
    const dir = tempDir();
    const clock = new ManualClock(1_000_000);
    const engine = new SqliteEngine({ dataDir: dir, clock, retentionIntervalMs: 0, segmentBytes: 2_000 });
    await engine.createStream('s', { partitions: 1, retentionMs: 60_000 });
    const segmentFiles = () => readdirSync(join(dir, 'segments', '1', '0')).sort();
    for (let n = 0; n < 30; n++) {
      await engine.append('s', Array.from({ length: 10 }, (_, i) => ({ value: Buffer.from(JSON.stringify({ n, i, pad: 'x'.repeat(20) })) })));
      if (n === 14) clock.advance(40_000);
    }
    const files = segmentFiles();
    expect(files.length).toBeGreaterThan(5);
    expect(files[0]).toBe('00000000000000000000.log');
    const all = await engine.read('s', 0, 0, 10_000);
    expect(all.records.map((r) => JSON.parse(Buffer.from(r.value).toString()).n * 10 + JSON.parse(Buffer.from(r.value).toString()).i)).toEqual(
      Array.from({ length: 300 }, (_, k) => k),
    );
    clock.advance(30_000); // the first 15 appends are now 70 s old, the rest 30 s
    await engine.enforceRetention();
    const left = segmentFiles();
    expect(left.length).toBeLessThan(files.length);
    expect(Number(left[0]!.slice(0, 20))).toBeLessThanOrEqual(150);
    const rest = await engine.read('s', 0, 0, 10_000);
    expect(rest.records.map((r) => r.offset)).toEqual(Array.from({ length: 150 }, (_, k) => 150 + k));
    await engine.close();
  });

  it('a read of a segment file that is gone (retention, another connection) fails with ENOENT and creates nothing', () => {
    const dir = tempDir();
    const segments = new Segments(dir, false);
    segments.write(1, 0, 0, 0, Buffer.from('abc'));
    expect(segments.read(1, 0, 0, 1, 2).toString()).toBe('bc');
    expect(() => segments.read(1, 0, 500, 0, 2)).toThrow(expect.objectContaining({ code: 'ENOENT' }));
    expect(() => segments.read(7, 0, 0, 0, 2)).toThrow(expect.objectContaining({ code: 'ENOENT' }));
    expect(readdirSync(join(dir, '1', '0'))).toEqual(['00000000000000000000.log']);
    expect(readdirSync(dir)).toEqual(['1']);
    segments.close();
  });

  it('keeps large state values in files, deletes a file no value points into, and moves the values out of a mostly-dead one', async () => {
    const dir = tempDir();
    const engine = new SqliteEngine({ dataDir: dir, retentionIntervalMs: 0, segmentBytes: 100_000 }); // state files of 100 kB: five 20 kB values each
    const files = () => readdirSync(join(dir, 'state', '0', '0')).sort();
    const value = (key: string, n: number) => Buffer.alloc(20_000, `${key}:${n};`);
    const rows = () => {
      const db = new Database(join(dir, 'sluice.db'), { readonly: true });
      try {
        return db.prepare('SELECT key, version, length(value) AS inRow, seg FROM state ORDER BY key').all() as { key: string; version: number; inRow: number; seg: number | null }[];
      } finally {
        db.close();
      }
    };
    const keys = Array.from({ length: 15 }, (_, i) => `k${String(i).padStart(2, '0')}`);
    for (const k of keys) await engine.commit({ state: [{ key: k, value: value(k, 1) }] });
    await engine.commit({ state: [{ key: 'small', value: Buffer.from('{"x":1}') }] });
    expect(files()).toEqual(['00000000000000000000.log', '00000000000000000001.log', '00000000000000000002.log']);
    expect(rows().find((r) => r.key === 'small')).toEqual({ key: 'small', version: 1, inRow: 7, seg: null });
    expect(rows().filter((r) => r.key !== 'small').every((r) => r.inRow === 0 && r.seg !== null)).toBe(true);
    // Every value of file 0 replaced: the file goes once the commit that let go of its last value is in.
    for (const k of keys.slice(0, 5)) await engine.commit({ state: [{ key: k, value: value(k, 2) }] });
    expect(files()).not.toContain('00000000000000000000.log');
    // A reader holding a row read before that (another connection) gets ENOENT, and creates nothing.
    const db = new Database(join(dir, 'sluice.db'));
    const stale = new StateValues(db, join(dir, 'state'), false, 100_000);
    expect(() => stale.valueOf({ version: 1, value: Buffer.alloc(0), seg: 0, pos: 0, len: 10 })).toThrow(expect.objectContaining({ code: 'ENOENT' }));
    expect(files()).not.toContain('00000000000000000000.log');
    stale.close();
    db.close();
    // File 1 keeps one value of five (a fifth live): that value moves to the head, same version, and the file goes.
    await engine.commit({ state: keys.slice(5, 9).map((k) => ({ key: k, value: null })) });
    expect(files()).not.toContain('00000000000000000001.log');
    expect(rows().find((r) => r.key === 'k09')).toMatchObject({ version: 1, seg: expect.any(Number) });
    expect(rows().find((r) => r.key === 'k09')!.seg).toBeGreaterThan(1);
    const want = new Map([...keys.slice(0, 5).map((k) => [k, value(k, 2)] as const), ...keys.slice(9).map((k) => [k, value(k, 1)] as const)]);
    const check = async (e: SqliteEngine) => {
      for (const [k, v] of want) expect(Buffer.from((await e.getState(k))!.value).equals(v)).toBe(true);
      for (const k of keys.slice(5, 9)) expect(await e.getState(k)).toBeUndefined();
    };
    await check(engine);
    await engine.close();
    // A file left behind by a crash between a commit and its clean-up is deleted at open.
    writeFileSync(join(dir, 'state', '0', '0', '00000000000000000000.log'), 'orphan');
    const again = new SqliteEngine({ dataDir: dir, retentionIntervalMs: 0, segmentBytes: 100_000 });
    expect(files()).not.toContain('00000000000000000000.log');
    await check(again);
    await again.close();
  });

  it('refuses a data dir written by another storage schema version', async () => {
    const dir = tempDir();
    const db = new Database(join(dir, 'sluice.db'));
    db.pragma('user_version = 99');
    db.close();
    expect(() => new SqliteEngine({ dataDir: dir })).toThrow(`${join(dir, 'sluice.db')} was written by storage schema version 99; this Sluice reads version 5 (no release wrote another: start with a new data directory)`);
  });

  it('upgrades a version 4 data dir in place: the object tables are added, the rest is kept', async () => {
    const dir = tempDir();
    const v4 = new Database(join(dir, 'sluice.db'));
    v4.exec(SCHEMA.replace(OBJECT_TABLES, ''));
    v4.pragma('user_version = 4');
    v4.prepare("INSERT INTO state (key, version, value) VALUES ('k', 3, x'01')").run();
    v4.close();
    const engine = new SqliteEngine({ dataDir: dir, retentionIntervalMs: 0 });
    expect((await engine.getState('k'))?.version).toBe(3);
    await engine.putBlob('a/b', Buffer.from('x'));
    expect((await engine.listBlobs('a/')).map((b) => b.name)).toEqual(['a/b']);
    await engine.close();
  });
});

describe('sqlite storage: object files', () => {
  it('files are named by id; opening sweeps what dead processes left (staged files, links of commits that never happened, unlinked garbage), nothing of live ones', async () => {
    const dir = tempDir();
    const engine = new SqliteEngine({ dataDir: dir, retentionIntervalMs: 0 });
    const staged = await engine.stageObject(Buffer.from('kept'));
    await engine.commit({ objects: [{ name: '../../etc/passwd', content: staged }] });
    const gone = await engine.stageObject(Buffer.from('replaced'));
    await engine.commit({ objects: [{ name: 'r', content: gone }] });
    await engine.commit({ objects: [{ name: 'r', content: null }] }); // its file unlinked, its garbage row left for the next commit
    const live = await engine.stageObject(Buffer.from('staged by a live process'));
    await engine.close();
    const staging = join(dir, 'objects', 'staging');
    const data = join(dir, 'objects', 'data');
    // A dead process (pid 2^22 + 1 is above Linux's pid_max) that was staging one object and had linked another.
    writeFileSync(join(staging, '4194305.1-aaaa0000'), 'half');
    writeFileSync(join(staging, '4194305.1-bbbb0000'), 'linked, never committed');
    mkdirSync(join(data, 'bb'), { recursive: true });
    linkSync(join(staging, '4194305.1-bbbb0000'), join(data, 'bb', 'bbbb0000'));
    const db = new Database(join(dir, 'sluice.db'));
    db.prepare("INSERT INTO object_garbage (file) VALUES ('cccc0000')").run();
    db.close();
    mkdirSync(join(data, 'cc'), { recursive: true });
    writeFileSync(join(data, 'cc', 'cccc0000'), 'garbage');
    const again = new SqliteEngine({ dataDir: dir, retentionIntervalMs: 0 });
    expect(readdirSync(staging)).toEqual([readdirSync(staging).find((f) => f.endsWith(live.id))]);
    const files = readdirSync(data, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => e.name);
    expect(files).toEqual([staged.id]);
    expect(await again.statObject('r')).toBeUndefined();
    expect(new Database(join(dir, 'sluice.db')).prepare('SELECT count(*) AS n FROM object_garbage').get()).toEqual({ n: 0 });
    const opened = await again.openObject('../../etc/passwd');
    expect(opened?.info.size).toBe(4);
    opened?.body.destroy();
    await again.close();
  });
});


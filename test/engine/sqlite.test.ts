import Database from 'better-sqlite3';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { SqliteEngine } from '../../src/engine/sqlite/index.js';
import type { SqliteEngineConfig } from '../../src/engine/open.js';
import { tempDir } from '../support/tmp.js';
import { engineConformance } from './conformance.js';

const open = (config: SqliteEngineConfig, clock?: import('../../src/clock.js').Clock) =>
  new SqliteEngine({ dataDir: config.dataDir!, durability: config.durability, clock, retentionIntervalMs: 0 });

for (const durability of ['process', 'fsync'] as const) {
  engineConformance(`sqlite (durability ${durability})`, {
    async create(clock) {
      const config: SqliteEngineConfig = { kind: 'sqlite', dataDir: tempDir(), durability };
      return { engine: open(config, clock), config };
    },
    async reopen(config, clock) {
      return open(config as SqliteEngineConfig, clock);
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

  it('refuses a data dir written by another storage schema version', async () => {
    const dir = tempDir();
    const db = new Database(join(dir, 'sluice.db'));
    db.pragma('user_version = 99');
    db.close();
    expect(() => new SqliteEngine({ dataDir: dir })).toThrow(`${join(dir, 'sluice.db')} was written by storage schema version 99; this Sluice reads version 2`);
  });
});

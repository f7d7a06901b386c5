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

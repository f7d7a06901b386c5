// Opens the engine a configuration names. Engines other than sqlite are loaded on demand so the
// embedded path never loads their clients.
import type { Clock } from '../clock.js';
import type { Logger } from '../observe/log.js';
import type { Dependencies } from '../resilience/index.js';
import type { Engine } from './engine.js';
import { InvalidArgumentError } from './errors.js';
import type { NatsEngineConfig } from './nats/connect.js';
import { SqliteEngine } from './sqlite/index.js';

export interface SqliteEngineConfig {
  kind: 'sqlite';
  /** Directory for the database and blobs. Default '.sluice/data'. */
  dataDir?: string;
  /** 'process' (default): survives kill -9; 'fsync': survives power loss. */
  durability?: 'process' | 'fsync';
  /** How often retention runs by itself; 0: never (a second connection to the same data). Default 1 minute. */
  retentionIntervalMs?: number;
  /** Whether this connection runs WAL checkpoints. Default true; false for a second connection whose process' first one runs them. */
  checkpoints?: boolean;
  /** Connections of one process' threads sharing this take turns to commit (see sqlite/write-lock.ts). */
  writeLock?: SharedArrayBuffer;
}

export type EngineConfig = SqliteEngineConfig | NatsEngineConfig;

export const DEFAULT_DATA_DIR = '.sluice/data';

export interface OpenEngineOptions {
  /**
   * The process's (or thread's) resilience dependencies: the nats engine's requests go through
   * its 'nats' dependency and server-wide retry budget. Default: the engine's own.
   */
  dependencies?: Dependencies;
}

/** `log`: where the engine logs failures of its background work (checkpoints, timers), once while they last. */
export async function openEngine(config: EngineConfig, clock?: Clock, log?: Logger, options: OpenEngineOptions = {}): Promise<Engine> {
  switch (config.kind) {
    case 'sqlite':
      return new SqliteEngine({ dataDir: config.dataDir ?? DEFAULT_DATA_DIR, durability: config.durability, retentionIntervalMs: config.retentionIntervalMs, checkpoints: config.checkpoints, writeLock: config.writeLock, clock, ...(log && { log }) });
    case 'nats': {
      const { NatsEngine } = await import('./nats/index.js'); // the NATS client loads only when used
      return NatsEngine.open(config, clock, log, { dependencies: options.dependencies });
    }
    default:
      throw new InvalidArgumentError(`unknown engine kind '${(config as { kind: string }).kind}'`, 'engine.kind');
  }
}

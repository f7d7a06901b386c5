import { afterAll, beforeAll } from 'vitest';
import { randomBytes } from 'node:crypto';
import { NatsEngine } from '../../src/engine/nats/index.js';
import type { NatsEngineConfig } from '../../src/engine/nats/connect.js';
import { startNats, type NatsServer } from '../support/nats.js';
import { engineConformance } from './conformance.js';

let server: NatsServer;
beforeAll(async () => {
  server = await startNats();
}, 30_000);
afterAll(() => server.stop());

engineConformance('nats', {
  async create(clock) {
    // a fresh prefix per engine: its own streams and buckets on the shared server
    const config: NatsEngineConfig = { kind: 'nats', servers: server.url, prefix: `t${randomBytes(4).toString('hex')}` };
    return { engine: await NatsEngine.open(config, clock), config };
  },
  async reopen(config, clock) {
    return NatsEngine.open(config as NatsEngineConfig, clock);
  },
});

// The engines the gateway's test suites run against: every suite runs on each of them.
import { randomBytes } from 'node:crypto';
import { afterAll } from 'vitest';
import type { Engine } from '../../src/engine/engine.js';
import { NatsEngine } from '../../src/engine/nats/index.js';
import { sqliteFactory, type EngineFactory } from './gateway.js';
import { startNats, type NatsServer } from './nats.js';

let server: Promise<NatsServer> | undefined;
afterAll(async () => {
  if (server) await (await server).stop();
});

/** A nats engine with a fresh prefix on this test file's nats-server (started on first use). */
export const natsFactory: EngineFactory = async (clock) => {
  server ??= startNats();
  const { url } = await server;
  return NatsEngine.open({ kind: 'nats', servers: url, prefix: `t${randomBytes(4).toString('hex')}` }, clock);
};

export const ENGINES: { name: string; factory: EngineFactory }[] = [
  { name: 'sqlite', factory: sqliteFactory },
  { name: 'nats', factory: natsFactory },
];

/** Every record of a stream, partition by partition, read through the engine. */
export async function allRecords(engine: Engine, stream: string) {
  const info = await engine.describeStream(stream);
  const out = [];
  for (const p of info.partitionInfo) out.push(...(await engine.read(stream, p.partition, p.earliest, 1_000_000)).records);
  return out;
}

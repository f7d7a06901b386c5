import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { jetstream } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { connect } from '@nats-io/transport-node';
import { allRecords } from '../support/engines.js';
import { NatsEngine } from '../../src/engine/nats/index.js';
import type { NatsEngineConfig } from '../../src/engine/nats/connect.js';
import { startNats, type NatsServer } from '../support/nats.js';
import { engineConformance } from './conformance.js';

let server: NatsServer;
const small: NatsServer[] = [];
beforeAll(async () => {
  server = await startNats();
}, 30_000);
afterAll(async () => {
  await server.stop();
  for (const s of small.splice(0)) await s.stop();
});

engineConformance('nats', {
  async create(clock) {
    // a fresh prefix per engine: its own streams and buckets on the shared server
    const config: NatsEngineConfig = { kind: 'nats', servers: server.url, prefix: `t${randomBytes(4).toString('hex')}` };
    return { engine: await NatsEngine.open(config, clock), config };
  },
  async reopen(config, clock) {
    return NatsEngine.open(config as NatsEngineConfig, clock);
  },
  async createSmall(bytes) {
    // A server of its own whose JetStream may store `bytes` in all (its buckets included).
    const s = await startNats({ maxFileStore: bytes });
    small.push(s);
    const config: NatsEngineConfig = { kind: 'nats', servers: s.url, prefix: `t${randomBytes(4).toString('hex')}` };
    return { engine: await NatsEngine.open(config), config };
  },
});

describe('nats engine: de-duplication that does not depend on writes after the publish', () => {
  const open = async () => {
    const prefix = `t${randomBytes(4).toString('hex')}`;
    const engine = await NatsEngine.open({ kind: 'nats', servers: server.url, prefix });
    const nc = await connect({ servers: server.url });
    const kvm = new Kvm(jetstream(nc));
    /** Forgets where some ids were stored, as when the engine died (or its KV writes failed) right after publishing. */
    const forget = async (stream: string, ids: string[]) => {
      const { id } = JSON.parse((await (await kvm.open(`${prefix}_streams`)).get(Buffer.from(stream).toString('hex')))!.string()) as { id: string };
      const kv = await kvm.open(`${prefix}_dedup_${id}`);
      for (const i of ids) await kv.purge(Buffer.from(i).toString('hex'));
    };
    return { engine, forget, close: async () => (await engine.close(), await nc.close()) };
  };
  const records = (n: number, keyed: boolean) => Array.from({ length: n }, (_, i) => ({ id: `req-1:${i}`, value: Buffer.from(`{"i":${i}}`), ...(keyed ? { key: `k${i % 7}` } : {}) }));

  for (const keyed of [false, true]) {
    it(`a retry stores nothing twice when only some of the first attempt's ids were recorded (${keyed ? 'keyed' : 'keyless'})`, async () => {
      const { engine, forget, close } = await open();
      try {
        await engine.createStream('s', { partitions: 3 });
        const first = await engine.append('s', records(200, keyed));
        expect(first.every((r) => 'offset' in r && !r.duplicate)).toBe(true);
        await forget('s', Array.from({ length: 158 }, (_, i) => `req-1:${i + 42}`)); // 42 of 200 recorded, as seen in the field
        const retry = await engine.append('s', records(200, keyed));
        expect(retry).toEqual(first.map((r) => ({ ...r, duplicate: true })));
        await forget('s', Array.from({ length: 200 }, (_, i) => `req-1:${i}`)); // none recorded: the ack was lost
        expect(await engine.append('s', records(200, keyed))).toEqual(first.map((r) => ({ ...r, duplicate: true })));
        expect((await allRecords(engine, 's')).length).toBe(200);
      } finally {
        await close();
      }
    });
  }

  it('answers ids stored by another request as duplicates and stores the rest of the chunk once, also on its retry', async () => {
    const { engine, close } = await open();
    try {
      await engine.createStream('s', { partitions: 1 });
      const a = await engine.append('s', [{ id: 'b', value: Buffer.from('"b"') }]);
      const mixed = [{ id: 'a', value: Buffer.from('"a"') }, { id: 'b', value: Buffer.from('"b"') }, { id: 'c', value: Buffer.from('"c"') }];
      const r1 = await engine.append('s', mixed);
      expect(r1[1]).toEqual({ ...a[0], duplicate: true });
      expect(await engine.append('s', mixed)).toEqual(r1.map((r) => ({ ...r, duplicate: true })));
      expect((await allRecords(engine, 's')).map((r) => Buffer.from(r.value).toString())).toEqual(['"b"', '"a"', '"c"']);
    } finally {
      await close();
    }
  });
});

describe('nats engine: what one call holds in flight is bounded', () => {
  it('commits compare-and-set deletes of 600 values of 256 KB (150 MB, past nats-server\'s 64 MB per-client buffer) in one unit', async () => {
    const engine = await NatsEngine.open({ kind: 'nats', servers: server.url, prefix: `t${randomBytes(4).toString('hex')}` });
    try {
      const value = Buffer.alloc(256 * 1024, 7);
      const keys = Array.from({ length: 600 }, (_, i) => `big/${i}`);
      for (let i = 0; i < keys.length; i += 20) await engine.commit({ state: keys.slice(i, i + 20).map((key) => ({ key, value })) });
      // Every precondition reads its key's whole value (NATS 2.9 has no revision-only read): all at once they overran the client.
      // The process is busy for a moment (as during a replay): whatever the server sends meanwhile waits in its buffer for this client.
      const committing = engine.commit({ state: keys.map((key) => ({ key, value: null, expectedVersion: 1 })) });
      await new Promise((r) => setImmediate(r));
      const busyUntil = Date.now() + 1500;
      while (Date.now() < busyUntil);
      const { versions } = await committing;
      expect(versions).toEqual(keys.map(() => 0));
      expect((await engine.listState('big/')).size).toBe(0);
    } finally {
      await engine.close();
    }
  }, 120_000);
});

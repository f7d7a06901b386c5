// The nats engine on a real three-node JetStream cluster (replicas 3): a producer appends through
// the gateway while one node is killed with kill -9 and brought back; every acknowledged record
// is then readable, in order, exactly once. And fencing across two real processes.
import { spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NatsEngine } from '../../src/engine/nats/index.js';
import type { NatsEngineConfig } from '../../src/engine/nats/connect.js';
import { ConflictError } from '../../src/engine/errors.js';
import { isRetriable } from '../../src/errors.js';
import { Gateway } from '../../src/gateway/gateway.js';
import { allRecords } from '../support/engines.js';
import { startServers, waitReady, type NatsServer } from '../support/nats.js';

let nodes: NatsServer[];
beforeAll(async () => {
  nodes = await startServers(3);
}, 60_000);
afterAll(async () => {
  await Promise.all(nodes.map((n) => n.stop()));
});

const config = (): NatsEngineConfig => ({ kind: 'nats', servers: nodes.map((n) => n.url), replicas: 3, prefix: `c${randomBytes(3).toString('hex')}` });

describe('nats engine on a 3-node cluster, replicas 3', () => {
  it('keeps every acknowledged record, in order, exactly once, through kill -9 of a node and its return', async () => {
    const c = config();
    const engine = await NatsEngine.open(c);
    const gw = new Gateway(engine, { port: 0 });
    await gw.listen();
    try {
      await engine.createStream('events', { partitions: 3 });
      const acked = new Map<string, { partition: number; offset: number }>();
      let failures = 0;
      /** Sends batch n until every record of it is acknowledged, retrying with the same key. */
      const send = async (n: number) => {
        const body = Array.from({ length: 50 }, (_, i) => JSON.stringify({ n, i })).join('\n');
        const key = randomUUID();
        for (let attempt = 0; attempt < 100; attempt++) {
          const res = await fetch(`${gw.url}/v1/streams/events/records`, {
            method: 'POST', body, headers: { 'content-type': 'application/x-ndjson', 'idempotency-key': key },
          }).catch(() => undefined);
          const json = res && ((await res.json()) as { failed: number; results: { partition: number; offset: number }[] });
          if (res?.status === 200 && json!.failed === 0) {
            json!.results.forEach((r, i) => acked.set(`${n}/${i}`, { partition: r.partition, offset: r.offset }));
            return;
          }
          failures++;
          await new Promise((r) => setTimeout(r, 200));
        }
        throw new Error(`batch ${n} never acknowledged`);
      };
      let n = 0;
      for (; n < 10; n++) await send(n);
      const victim = await busiestLeader(c.prefix!); // the node leading most partitions of the stream
      await victim.kill(); // kill -9
      for (; n < 25; n++) await send(n);
      victim.start();
      await waitReady(victim.url, 30_000);
      for (; n < 35; n++) await send(n);

      const seen = new Map<string, { partition: number; offset: number }>();
      const records = await retrying(() => allRecords(engine, 'events')); // the cluster may still be settling
      for (const r of records) {
        const v = JSON.parse(Buffer.from(r.value).toString()) as { n: number; i: number };
        const id = `${v.n}/${v.i}`;
        expect(seen.has(id), `record ${id} stored twice`).toBe(false);
        seen.set(id, { partition: r.partition, offset: r.offset });
      }
      expect(seen.size).toBe(35 * 50);
      for (const [id, at] of acked) expect(seen.get(id)).toEqual(at);
      for (let p = 0; p < 3; p++) {
        const order = records.filter((r) => r.partition === p).map((r) => JSON.parse(Buffer.from(r.value).toString()) as { n: number; i: number });
        for (let k = 1; k < order.length; k++) expect(order[k]!.n * 100 + order[k]!.i).toBeGreaterThan(order[k - 1]!.n * 100 + order[k - 1]!.i);
      }
      process.stdout.write(`cluster test: killed ${victim.name}; ${acked.size} records acknowledged, ${failures} requests retried during the failover\n`);
    } finally {
      await gw.close();
      await engine.close();
    }
  }, 120_000);
});

describe('fencing', () => {
  it("refuses the stale owner's commit when two processes both believe they own a task", async () => {
    const c = config();
    const a = await NatsEngine.open(c);
    try {
      await a.createStream('out', { partitions: 1 });
      // Process A takes the lease (version 1); then a second process B takes it over (version 2).
      const lease = await a.commit({ state: [{ key: 'lease/task-0', value: Buffer.from('A'), expectedVersion: 0 }] });
      expect(lease.versions).toEqual([1]);
      const b = await runProcess(['take-lease', JSON.stringify(c)]);
      expect(b).toEqual({ version: 2 });
      // A, unaware, commits its epoch fenced by its version 1: refused, and nothing of it is visible.
      await expect(a.commit({
        fences: [{ key: 'lease/task-0', version: 1 }],
        appends: [{ stream: 'out', records: [{ value: Buffer.from('from A') }] }],
        offsets: [{ group: 'task-0', stream: 'in', partition: 0, offset: 42 }],
      })).rejects.toBeInstanceOf(ConflictError);
      // B commits fenced by version 2, from its own process: accepted.
      expect(await runProcess(['commit-fenced', JSON.stringify(c)])).toEqual({ ok: true });
      const out = await allRecords(a, 'out');
      expect(out.map((r) => Buffer.from(r.value).toString())).toEqual(['from B']);
      expect(await a.getOffsets('task-0', 'in')).toEqual(new Map([[0, 7]]));
    } finally {
      await a.close();
    }
  }, 60_000);
});

/** Retries a read while the engine says it is unavailable (a cluster settling after a failover). */
async function retrying<T>(fn: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (e) {
      if (!isRetriable(e) || attempt >= 30) throw e;
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}

/** The node that leads the most JetStream streams of a prefix (Sluice partitions). */
async function busiestLeader(prefix: string): Promise<NatsServer> {
  const nc = await connect({ servers: nodes.map((x) => x.url) });
  try {
    const jsm = await jetstreamManager(nc);
    const count = new Map<string, number>();
    for await (const si of jsm.streams.list()) {
      if (!si.config.name.startsWith(`${prefix.toUpperCase()}_`) || !si.cluster?.leader) continue;
      count.set(si.cluster.leader, (count.get(si.cluster.leader) ?? 0) + 1);
    }
    const leader = [...count.entries()].sort((a, b) => b[1] - a[1])[0]![0];
    return nodes.find((x) => x.name === leader)!;
  } finally {
    await nc.close();
  }
}

/** Runs test/engine/fixtures/owner.ts as a real process and returns its JSON answer. */
function runProcess(args: string[]): Promise<unknown> {
  const child = spawn(process.execPath, ['--import', 'tsx', new URL('./fixtures/owner.ts', import.meta.url).pathname, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  return new Promise((resolve, reject) => child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`owner exited ${code}`)))));
}

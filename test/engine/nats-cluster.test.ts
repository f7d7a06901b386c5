// The nats engine on a real three-node JetStream cluster (replicas 3): two producers append through
// the gateway, retrying with the same Idempotency-Key, while any node is killed with kill -9 and
// brought back, cycle after cycle; every acknowledged record is then readable, in order, exactly
// once. And fencing across two real processes.
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
import { rng } from '../../examples/campaign-metrics/events.js';
import { startServers, waitReady, type NatsServer } from '../support/nats.js';

let nodes: NatsServer[];
beforeAll(async () => {
  nodes = await startServers(3);
}, 60_000);
afterAll(async () => {
  await Promise.all(nodes.map((n) => n.stop()));
});

const config = (): NatsEngineConfig => ({ kind: 'nats', servers: nodes.map((n) => n.url), replicas: 3, prefix: `c${randomBytes(3).toString('hex')}` });

/**
 * Kill cycles: each kills a node (the de-duplication bucket's leader every other cycle, else any of
 * the three by a seeded choice: partition or bucket leaders, or followers) with kill -9 while producers append, then brings it
 * back. CI runs CLUSTER_CYCLES (3); SLUICE_CLUSTER_CYCLES runs more (the same code path, longer).
 */
const CYCLES = Number(process.env.SLUICE_CLUSTER_CYCLES ?? 3);

describe('nats engine on a 3-node cluster, replicas 3', () => {
  it('keeps every acknowledged record, in order, exactly once, through kill -9 of any node and its return, keyless and keyed', async () => {
    const c = config();
    const engine = await NatsEngine.open({ ...c, requestTimeoutMs: 3_000 }); // time-outs during elections come sooner
    const gw = new Gateway(engine, { port: 0 });
    await gw.listen();
    try {
      await engine.createStream('events', { partitions: 3 });
      const acked = new Map<string, { partition: number; offset: number }>();
      let retried = 0;
      let answeredAfterStoring = 0;
      /** Sends batch n until every record of it is acknowledged, retrying with the same key. */
      const send = async (n: number) => {
        const keyed = n % 2 === 1; // odd batches spread over partitions by key, even ones keyless (one partition)
        const body = Array.from({ length: 200 }, (_, i) => JSON.stringify({ n, i, ...(keyed ? { k: `k${i % 13}` } : {}) })).join('\n');
        const key = `batch-${n}-${randomUUID()}`;
        const url = `${gw.url}/v1/streams/events/records${keyed ? '?format=envelope' : ''}`;
        const payload = keyed ? body.split('\n').map((v) => JSON.stringify({ key: (JSON.parse(v) as { k: string }).k, value: JSON.parse(v) })).join('\n') : body;
        for (let attempt = 0; attempt < 200; attempt++) {
          const res = await fetch(url, { method: 'POST', body: payload, headers: { 'content-type': 'application/x-ndjson', 'idempotency-key': key } }).catch(() => undefined);
          const json = res && ((await res.json().catch(() => undefined)) as { failed: number; duplicates: number; results: { partition: number; offset: number }[] } | undefined);
          if (res?.status === 200 && json && json.failed === 0) {
            if (attempt > 0 && json.duplicates > 0) answeredAfterStoring++;
            json.results.forEach((r, i) => acked.set(`${n}/${i}`, { partition: r.partition, offset: r.offset }));
            return;
          }
          retried++;
          await new Promise((r) => setTimeout(r, 100));
        }
        throw new Error(`batch ${n} never acknowledged`);
      };
      let n = 0;
      /** Four producers at once, so kills land mid-request. */
      const produce = async (batches: number) => {
        const end = n + batches;
        await Promise.all([0, 1, 2, 3].map(async () => {
          while (n < end) await send(n++);
        }));
      };
      const random = rng(42); // the same victims every run
      const killed: string[] = [];
      await produce(4);
      for (let cycle = 0; cycle < CYCLES; cycle++) {
        // Every other cycle the leader of the de-duplication bucket (a kill between a publish and the
        // ids' bookkeeping is where duplicates came from), else any node.
        const victim = cycle % 2 === 0 ? await leaderOf(`KV_${c.prefix}_dedup_`) : nodes[Math.floor(random() * nodes.length)]!;
        killed.push(victim.name);
        const producing = produce(8);
        await new Promise((r) => setTimeout(r, 100 + random() * 400)); // mid-traffic
        await victim.kill(); // kill -9
        await producing;
        victim.start();
        await waitReady(victim.url, 30_000);
        await produce(4);
      }

      const seen = new Map<string, { partition: number; offset: number }>();
      const records = await retrying(() => allRecords(engine, 'events')); // the cluster may still be settling
      const twice: string[] = [];
      for (const r of records) {
        const v = JSON.parse(Buffer.from(r.value).toString()) as { n: number; i: number };
        const id = `${v.n}/${v.i}`;
        if (seen.has(id)) twice.push(id);
        seen.set(id, { partition: r.partition, offset: r.offset });
      }
      expect(twice, 'records stored twice').toEqual([]);
      expect(seen.size).toBe(n * 200);
      for (const [id, at] of acked) expect(seen.get(id), `record ${id} where it was acknowledged`).toEqual(at);
      for (let p = 0; p < 3; p++) {
        const order = records.filter((r) => r.partition === p).map((r) => JSON.parse(Buffer.from(r.value).toString()) as { n: number; i: number });
        // Within a batch, request order; batches from two producers interleave.
        const last = new Map<number, number>();
        for (const v of order) {
          expect(v.i).toBeGreaterThan(last.get(v.n) ?? -1);
          last.set(v.n, v.i);
        }
      }
      process.stdout.write(`cluster test: ${CYCLES} kill cycles (${killed.join(', ')}); ${acked.size} records acknowledged, ${retried} requests retried, ${answeredAfterStoring} retries answered as already stored\n`);
    } finally {
      await gw.close();
      await engine.close();
    }
  }, 60_000 + CYCLES * 40_000);
});

/** The node leading the JetStream stream whose name starts with `prefix` (waiting out an election). */
async function leaderOf(prefix: string): Promise<NatsServer> {
  const nc = await connect({ servers: nodes.map((x) => x.url) });
  try {
    const jsm = await jetstreamManager(nc);
    for (let attempt = 0; attempt < 100; attempt++) {
      const streams = await (async () => {
        const out = [];
        for await (const si of jsm.streams.list()) out.push(si);
        return out;
      })().catch(() => []);
      const led = streams.find((si) => si.config.name.startsWith(prefix) && si.cluster?.leader);
      if (led) return nodes.find((x) => x.name === led.cluster!.leader)!;
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error(`no stream ${prefix}* got a leader`);
  } finally {
    await nc.close();
  }
}


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

/** Runs test/engine/fixtures/owner.ts as a real process and returns its JSON answer. */
function runProcess(args: string[]): Promise<unknown> {
  const child = spawn(process.execPath, ['--import', 'tsx', new URL('./fixtures/owner.ts', import.meta.url).pathname, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  return new Promise((resolve, reject) => child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`owner exited ${code}`)))));
}

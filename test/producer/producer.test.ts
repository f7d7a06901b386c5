// The Producer against a real gateway, through a real HTTP proxy that misbehaves on purpose: lost
// answers, 503s, held requests. Asserted: every accepted record stored exactly once, in order,
// requests bounded by the retry budget, memory bounded by the buffer.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { Producer, ProducerBufferFullError, ProducerRecordError, ProducerUnavailableError, type Receipt } from '../../src/producer/producer.js';
import { startGateway, type TestGateway } from '../support/gateway.js';

type Behaviour = (n: number, req: IncomingMessage, res: ServerResponse, forward: () => Promise<{ status: number; headers: Headers; body: Buffer }>) => Promise<void>;

/** A proxy in front of the gateway: `behave` decides, per request (numbered from 0), what the client gets. */
async function proxy(target: string, behave: Behaviour): Promise<{ url: string; requests: () => number; keys: string[]; close(): Promise<void> }> {
  let n = 0;
  const keys: string[] = [];
  const server: Server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks);
    keys.push(String(req.headers['idempotency-key']));
    const forward = async () => {
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string' && k !== 'host' && k !== 'connection' && k !== 'content-length') headers[k] = v;
      const r = await fetch(target + req.url, { method: req.method, headers, body });
      return { status: r.status, headers: r.headers, body: Buffer.from(await r.arrayBuffer()) };
    };
    await behave(n++, req, res, forward);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests: () => n,
    keys,
    close: () => new Promise<void>((r) => (server.closeAllConnections(), server.close(() => r()))),
  };
}

const pass: Behaviour = async (_n, _req, res, forward) => {
  const a = await forward();
  res.writeHead(a.status, { 'content-type': 'application/json', ...(a.headers.get('retry-after') ? { 'retry-after': a.headers.get('retry-after')! } : {}) });
  res.end(a.body);
};

/** Resolves once `pred` holds (checked every 5 ms, for at most 10 s). */
async function until(pred: () => boolean): Promise<void> {
  for (const deadline = Date.now() + 10_000; !pred(); ) {
    if (Date.now() > deadline) throw new Error('condition not reached in 10 s');
    await new Promise((r) => setTimeout(r, 5));
  }
}

const open: { close(): Promise<void> }[] = [];
afterEach(async () => {
  for (const o of open.splice(0).reverse()) await o.close();
});

async function gateway(options: Parameters<typeof startGateway>[0] = {}): Promise<TestGateway> {
  const t = await startGateway(options);
  open.push(t);
  return t;
}

/** Every record of a stream, partition by partition, as [partition, value]. */
async function stored(t: TestGateway, stream: string): Promise<{ partition: number; value: any }[]> {
  const out: { partition: number; value: any }[] = [];
  const info = await t.engine.describeStream(stream);
  for (let p = 0; p < info.partitions; p++) {
    for (let offset = 0; ; ) {
      const r = await t.engine.read(stream, p, offset, 10_000);
      if (r.records.length === 0) break;
      for (const rec of r.records) out.push({ partition: p, value: JSON.parse(Buffer.from(rec.value).toString()) });
      offset = r.next;
    }
  }
  return out;
}

describe('Producer', () => {
  it('batches by records and bytes, keeps each key in order, and stores every record once', async () => {
    const t = await gateway();
    await t.engine.createStream('ev', { partitions: 4 });
    const px = await proxy(t.url, pass);
    open.push(px);
    const producer = new Producer('ev', { url: px.url, maxBatchRecords: 100 });
    const receipts = await Promise.all(Array.from({ length: 1234 }, (_, i) => producer.put({ value: { i, user: `u${i % 7}` }, key: `u${i % 7}` })));
    await producer.close();
    expect(px.requests()).toBe(13); // 12 full batches and the rest: nothing retried
    expect(receipts.every((r) => !r.duplicate)).toBe(true);
    const all = await stored(t, 'ev');
    expect(all.map((r) => r.value.i).sort((a, b) => a - b)).toEqual(Array.from({ length: 1234 }, (_, i) => i));
    for (let u = 0; u < 7; u++) {
      const mine = all.filter((r) => r.value.user === `u${u}`);
      expect(new Set(mine.map((r) => r.partition)).size).toBe(1);
      expect(mine.map((r) => r.value.i)).toEqual(mine.map((r) => r.value.i).sort((a, b) => a - b));
    }
    expect(producer.stats.records).toEqual({ put: 1234, stored: 1234, duplicates: 0, refused: 0, failed: 0 });
  });

  it('a lost answer is retried under the same Idempotency-Key: stored once, reported as a duplicate', async () => {
    const t = await gateway();
    await t.engine.createStream('ev', { partitions: 2 });
    // The first attempt of every second batch reaches the gateway, which stores it; its answer is lost.
    const seen = new Set<string>();
    const px = await proxy(t.url, async (_n, req, res, forward) => {
      const key = String(req.headers['idempotency-key']);
      const batch = Number(key.slice(key.lastIndexOf('-') + 1));
      const first = !seen.has(key);
      seen.add(key);
      if (first && batch % 2 === 1) {
        await forward();
        return void res.socket?.destroy();
      }
      await pass(0, req, res, forward);
    });
    open.push(px);
    const producer = new Producer('ev', { url: px.url, maxBatchRecords: 50, policies: { retry: { maxAttempts: 4, baseDelayMs: 1, maxDelayMs: 10 } } });
    const receipts: Receipt[] = await Promise.all(Array.from({ length: 500 }, (_, i) => producer.put({ value: { i } })));
    await producer.close();
    expect(px.requests()).toBe(15); // 10 batches, 5 of them twice
    expect(new Set(px.keys).size).toBe(10);
    expect(receipts.filter((r) => r.duplicate).length).toBe(250);
    const all = await stored(t, 'ev');
    expect(all.map((r) => r.value.i).sort((a, b) => a - b)).toEqual(Array.from({ length: 500 }, (_, i) => i));
    expect(producer.stats.records).toEqual({ put: 500, stored: 500, duplicates: 250, refused: 0, failed: 0 });
    expect(producer.stats.gateway.retries).toBe(5);
  });

  it('an answer without one result per record is retried under the same key, never settling a put wrongly', async () => {
    const t = await gateway();
    await t.engine.createStream('ev', { partitions: 1 });
    // Each batch's first attempt is stored, then answered 200 with too few, too many or no results.
    const bad = ['{"results":[]}', '{}', `{"results":${JSON.stringify(Array(51).fill({ partition: 0, offset: 0 }))}}`, '{"results":"x"}'];
    const seen = new Set<string>();
    const px = await proxy(t.url, async (_n, req, res, forward) => {
      const key = String(req.headers['idempotency-key']);
      if (!seen.has(key)) {
        seen.add(key);
        await forward();
        return void res.writeHead(200, { 'content-type': 'application/json' }).end(bad[(seen.size - 1) % bad.length]);
      }
      await pass(0, req, res, forward);
    });
    open.push(px);
    const producer = new Producer('ev', { url: px.url, maxBatchRecords: 50, policies: { retry: { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 5 } } });
    const receipts = await Promise.all(Array.from({ length: 200 }, (_, i) => producer.put({ value: { i } })));
    await producer.close();
    expect(px.requests()).toBe(8); // 4 batches, each twice
    expect(receipts.every((r) => r.duplicate)).toBe(true); // the first attempts had stored them
    expect((await stored(t, 'ev')).map((r) => r.value.i)).toEqual(Array.from({ length: 200 }, (_, i) => i));
    expect(producer.stats.records).toEqual({ put: 200, stored: 200, duplicates: 200, refused: 0, failed: 0 });
  });

  it("waits out the gateway's 429s (Retry-After) and keeps the order of a partition", async () => {
    const t = await gateway({ rateLimit: { recordsPerSecond: 400 } });
    await t.engine.createStream('ev', { partitions: 1 });
    const producer = new Producer('ev', { url: t.url, maxBatchRecords: 250 });
    await Promise.all(Array.from({ length: 1000 }, (_, i) => producer.put({ value: { i } })));
    await producer.close();
    expect((await stored(t, 'ev')).map((r) => r.value.i)).toEqual(Array.from({ length: 1000 }, (_, i) => i));
    expect(producer.stats.gateway.retries).toBeGreaterThan(0);
    expect(producer.stats.records.duplicates).toBe(0);
  }, 30_000);

  it('a record the gateway refuses fails its own put only; a missing stream fails without a retry', async () => {
    const t = await gateway();
    await t.engine.createStream('ev', { partitions: 1 });
    const producer = new Producer('ev', { url: t.url });
    const deep = JSON.parse('['.repeat(600) + ']'.repeat(600));
    const results = await Promise.allSettled([producer.put({ value: { i: 0 } }), producer.put({ value: deep }), producer.put({ value: { i: 2 } })]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    const refused = (results[1] as PromiseRejectedResult).reason;
    expect(refused).toBeInstanceOf(ProducerRecordError);
    expect(refused.code).toBe('NestingTooDeep');
    expect((await stored(t, 'ev')).map((r) => r.value.i)).toEqual([0, 2]);
    await expect(producer.put({ value: Buffer.from('{"a":') })).rejects.toThrow(/InvalidRecord: the record's value is not one JSON text/);
    await producer.close();

    const px = await proxy(t.url, pass);
    open.push(px);
    const missing = new Producer('nope', { url: px.url });
    const e = await missing.put({ value: 1 }).catch((x: unknown) => x);
    await missing.close();
    expect(e).toBeInstanceOf(ProducerRecordError);
    expect((e as ProducerRecordError).code).toBe('StreamNotFound');
    expect((e as ProducerRecordError).status).toBe(404);
    expect(px.requests()).toBe(1);
  });

  it('holds at most maxBufferedBytes while the gateway stalls, refuses puts past maxWaitingPuts, and delivers the rest once it answers', async () => {
    const t = await gateway();
    await t.engine.createStream('ev', { partitions: 1 });
    const held: (() => void)[] = [];
    const px = await proxy(t.url, async (_n, req, res, forward) => {
      await new Promise<void>((r) => held.push(r));
      await pass(0, req, res, forward);
    });
    open.push(px);
    const value = (i: number) => ({ n: String(i).padStart(3, '0'), pad: 'x'.repeat(97) }); // 128 bytes a line: {"value":{"n":"007","pad":"x…"}} and its newline
    const producer = new Producer('ev', { url: px.url, maxBatchRecords: 10, maxBatchBytes: 2048, maxBufferedBytes: 4096, maxWaitingPuts: 20, lingerMs: 0 });
    const puts = Array.from({ length: 100 }, (_, i) => producer.put({ value: value(i) }));
    const settled = puts.map((p) => p.then(() => 'stored', (e: unknown) => (e instanceof ProducerBufferFullError ? 'full' : String(e))));
    // 32 fit in 4,096 bytes; 20 wait; the other 48 are refused at once.
    const early = await Promise.race([Promise.all(settled.slice(52)), new Promise((r) => setTimeout(() => r('timeout'), 10_000))]);
    expect(early).toEqual(Array(48).fill('full'));
    expect(producer.stats.bufferedBytes).toBe(4096);
    expect(producer.stats.bufferedBytes).toBeLessThanOrEqual(4096);
    expect(producer.stats.waitingPuts).toBe(20);
    await until(() => held.length === 1);
    expect(held.length).toBe(1); // one request in flight (maxInFlight 1), the others queued
    // The gateway answers again: everything accepted is delivered, in order.
    const release = setInterval(() => held.splice(0).forEach((r) => r()), 5);
    try {
      expect(await Promise.all(settled.slice(0, 52))).toEqual(Array(52).fill('stored'));
      await producer.close();
    } finally {
      clearInterval(release);
    }
    expect((await stored(t, 'ev')).map((r) => Number(r.value.n))).toEqual(Array.from({ length: 52 }, (_, i) => i));
    expect(producer.stats.bufferedBytes).toBe(0);
  });

  it('a gateway failing every call: each put fails with ProducerUnavailableError, and retries stay within the budget', async () => {
    const t = await gateway();
    const px = await proxy(t.url, async (_n, _req, res) => void res.writeHead(503, { 'content-type': 'application/json' }).end('{"error":{"code":"Unavailable","message":"down"}}'));
    open.push(px);
    const producer = new Producer('ev', { url: px.url, maxBatchRecords: 1, lingerMs: 0, maxInFlight: 4, policies: { retry: { maxAttempts: 8, baseDelayMs: 1, maxDelayMs: 5 }, breaker: false, budget: { minRetriesPerSec: 0 } } });
    const results = await Promise.allSettled(Array.from({ length: 600 }, (_, i) => producer.put({ value: i })));
    await producer.close();
    expect(results.every((r) => r.status === 'rejected' && r.reason instanceof ProducerUnavailableError)).toBe(true);
    const s = producer.stats.gateway;
    // The budget (its reserve for low traffic off): retries are at most 20 % of the requests, never 7 per call.
    expect(px.requests()).toBe(600 + s.retries);
    expect(s.retries).toBeLessThanOrEqual(0.2 * 600 + 1);
    expect(s.retries).toBeGreaterThanOrEqual(0.2 * 600 - 8); // (in flight when the budget ran out)
    expect(s.budgetRefusals).toBeGreaterThan(0);
    expect(producer.stats.records.failed).toBe(600);
  }, 30_000);
});

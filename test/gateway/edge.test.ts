// The gateway's edges: API keys and scopes, overload (503/429 with Retry-After), slow and
// aborted uploads, HTTP/2 on the native API, live tails, health and draining.
import http2 from 'node:http2';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { createApiKey } from '../../src/gateway/auth/api-keys.js';
import { allRecords, ENGINES } from '../support/engines.js';
import { get, post, startGateway, type TestGateway } from '../support/gateway.js';

let t: TestGateway | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

const count = async (g: TestGateway, stream: string) => (await allRecords(g.engine, stream)).length;

describe.each(ENGINES)('on the $name engine', ({ name, factory: engine }) => {
  describe('API keys and scopes', () => {
    const writer = createApiKey('writer');
    const admin = createApiKey('admin');
    const start = async () => {
      t = await startGateway({
        principals: [
          { id: 'writer', apiKeyHash: writer.hash, scopes: { 'events': ['write'], 'public-*': ['read'] } },
          { id: 'admin', apiKeyHash: admin.hash, scopes: { '*': ['admin'] } },
        ],
      }, { engine });
      await post(`${t.url}/v1/streams`, { name: 'events', partitions: 1 }, { authorization: `Bearer ${admin.key}` });
      return t;
    };

    it('refuses a missing, malformed or wrong key with 401 and stores nothing', async () => {
      const g = await start();
      const missing = await post(`${g.url}/v1/streams/events/records`, [1]);
      expect(missing.status).toBe(401);
      expect(missing.body.error.code).toBe('Unauthenticated');
      expect(missing.headers.get('www-authenticate')).toBe('Bearer');
      expect((await post(`${g.url}/v1/streams/events/records`, [1], { authorization: 'Bearer garbage' })).body.error.message).toBe('invalid API key');
      const forged = writer.key.slice(0, -4) + 'AAAA';
      expect((await post(`${g.url}/v1/streams/events/records`, [1], { 'x-api-key': forged })).status).toBe(401);
      const swapped = `sluice.admin.${writer.key.split('.')[2]}`;
      expect((await post(`${g.url}/v1/streams/events/records`, [1], { 'x-api-key': swapped })).status).toBe(401);
      expect(await count(g, 'events')).toBe(0);
    });

    it('lets a key do only what its scopes allow: 403 names the action and stream', async () => {
      const g = await start();
      const auth = { authorization: `Bearer ${writer.key}` };
      expect((await post(`${g.url}/v1/streams/events/records`, [1, 2], auth)).body.stored).toBe(2);
      const read = await get(`${g.url}/v1/streams/events/records?partition=0`, auth);
      expect(read.status).toBe(403);
      expect(read.body.error).toEqual({ code: 'Forbidden', message: "key 'writer' may not read stream 'events'", stream: 'events', action: 'read' });
      expect((await post(`${g.url}/v1/streams`, { name: 'mine' }, auth)).status).toBe(403);
      expect((await fetch(`${g.url}/v1/streams/events`, { method: 'DELETE', headers: auth })).status).toBe(403);
      expect((await get(`${g.url}/v1/streams`, auth)).body.streams.map((s: { name: string }) => s.name)).toEqual(['events']);
      expect(await count(g, 'events')).toBe(2);
    });

    it('refuses writing, creating and deleting a pipeline\'s internal stream (_sluice.*) even to an admin key; reading is up to scopes', async () => {
      const g = await start();
      const auth = { authorization: `Bearer ${admin.key}` };
      await g.engine.createStream('_sluice.p.k1', { partitions: 1 });
      const write = await post(`${g.url}/v1/streams/_sluice.p.k1/records`, [[[0, 0, 'k', 1, null, 1]]], auth);
      expect(write.status).toBe(403);
      expect(write.body.error).toEqual({ code: 'Forbidden', message: "stream '_sluice.p.k1' is internal to Sluice (pipelines write it): clients may not write it", stream: '_sluice.p.k1', action: 'write' });
      expect((await post(`${g.url}/v1/streams`, { name: '_sluice.p.k2' }, auth)).body.error.message).toBe("stream '_sluice.p.k2' is internal to Sluice (pipelines write it): clients may not create, change or delete it");
      expect((await fetch(`${g.url}/v1/streams/_sluice.p.k1`, { method: 'DELETE', headers: auth })).status).toBe(403);
      expect((await get(`${g.url}/v1/streams/_sluice.p.k1/records?partition=0`, auth)).status).toBe(200);
      expect((await get(`${g.url}/v1/streams/_sluice.p.k1/records?partition=0`, { authorization: `Bearer ${writer.key}` })).status).toBe(403);
      expect(await count(g, '_sluice.p.k1')).toBe(0);
    });

    it('keeps health endpoints open', async () => {
      const g = await start();
      expect((await get(`${g.url}/healthz`)).body).toEqual({ status: 'ok' });
      expect((await get(`${g.url}/readyz`)).body).toEqual({ status: 'ready', engine: name });
    });
  });

  describe('overload', () => {
    it('answers 503 when in-flight bodies would pass the bound, 429 to the client holding more than its share', async () => {
      const a = createApiKey('a');
      const b = createApiKey('b');
      t = await startGateway({
        maxInflightBytes: 10_000,
        maxBodyBytes: 10_000,
        principals: [{ id: 'a', apiKeyHash: a.hash, scopes: { '*': ['admin'] } }, { id: 'b', apiKeyHash: b.hash, scopes: { '*': ['write'] } }],
      }, { engine });
      await post(`${t.url}/v1/streams`, { name: 'events', partitions: 1 }, { 'x-api-key': a.key });
      const slow = await openUpload(t.url, '/v1/streams/events/records', 8_000, 'x', { 'x-api-key': a.key });
      await waitUntil(() => t!.gw.admission.stats.inflightBytes === 8_000);
      const big = JSON.stringify([{ x: 'y'.repeat(3000) }]);
      const refused = await post(`${t.url}/v1/streams/events/records`, big, { 'x-api-key': b.key });
      expect(refused.status).toBe(503);
      expect(refused.headers.get('retry-after')).toBe('1');
      expect(refused.body.error).toEqual({ code: 'Overloaded', message: 'the gateway holds as many request bytes as it may; retry later' });
      const greedy = await post(`${t.url}/v1/streams/events/records`, big, { 'x-api-key': a.key });
      expect(greedy.status).toBe(429);
      expect(greedy.body.error.code).toBe('TooManyRequests');
      expect((await post(`${t.url}/v1/streams/events/records`, [{ small: 1 }], { 'x-api-key': b.key })).body.stored).toBe(1);
      slow.destroy();
      await waitUntil(() => t!.gw.admission.stats.inflightBytes === 0);
      expect((await post(`${t.url}/v1/streams/events/records`, big, { 'x-api-key': b.key })).body.stored).toBe(1);
      expect(await count(t, 'events')).toBe(2);
    });

    it('answers 413 at once to a request larger than the rate limit allows in one burst', async () => {
      t = await startGateway({ rateLimit: { recordsPerSecond: 10, burst: 20 } }, { engine });
      await post(`${t.url}/v1/streams`, { name: 'events', partitions: 1 });
      const big = await post(`${t.url}/v1/streams/events/records`, Array(21).fill(1));
      expect(big.status).toBe(413);
      expect(big.body.error).toEqual({ code: 'TooManyRecords', message: "the request holds 21 records, more than the rate limit's burst of 20; send smaller requests", limit: 20 });
      expect((await post(`${t.url}/v1/streams/events/records`, Array(20).fill(1))).body.stored).toBe(20);
      expect(await count(t, 'events')).toBe(20);
    });

    it('answers 429 with Retry-After to a client over its rate, others still served', async () => {
      const clock = new ManualClock(1_000_000);
      const a = createApiKey('a');
      const b = createApiKey('b');
      t = await startGateway({
        rateLimit: { recordsPerSecond: 10 },
        principals: [{ id: 'a', apiKeyHash: a.hash, scopes: { '*': ['admin'] } }, { id: 'b', apiKeyHash: b.hash, scopes: { '*': ['write'] } }],
      }, { clock, engine });
      await post(`${t.url}/v1/streams`, { name: 'events', partitions: 1 }, { 'x-api-key': a.key });
      expect((await post(`${t.url}/v1/streams/events/records`, Array(8).fill(1), { 'x-api-key': a.key })).body.stored).toBe(8);
      const over = await post(`${t.url}/v1/streams/events/records`, Array(5).fill(1), { 'x-api-key': a.key });
      expect(over.status).toBe(429);
      expect(over.headers.get('retry-after')).toBe('1');
      expect(over.body.error).toEqual({ code: 'RateLimited', message: "client 'a' is over its limit of 10 records/s", limit: 10 });
      expect((await post(`${t.url}/v1/streams/events/records`, Array(5).fill(1), { 'x-api-key': b.key })).body.stored).toBe(5);
      clock.advance(1000);
      expect((await post(`${t.url}/v1/streams/events/records`, Array(5).fill(1), { 'x-api-key': a.key })).body.stored).toBe(5);
      expect(await count(t, 'events')).toBe(18);
    });
  });

  describe('engine back-pressure', () => {
    it('answers 503 when more appends wait for the engine than allowed, and stores the admitted ones', async () => {
      let release!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      t = await startGateway({ maxPendingAppends: 2 }, {
        engine: async (clock) => {
          const slow = await engine(clock);
          const append = slow.append.bind(slow);
          slow.append = async (...args) => {
            await gate; // an engine that has fallen behind
            return append(...args);
          };
          return slow;
        },
      });
      await post(`${t.url}/v1/streams`, { name: 'events', partitions: 1 });
      const admitted = [post(`${t.url}/v1/streams/events/records`, [1]), post(`${t.url}/v1/streams/events/records`, [2])];
      await waitUntil(() => t!.gw.admission.stats.pendingAppends === 2);
      const refused = await post(`${t.url}/v1/streams/events/records`, [3]);
      expect(refused.status).toBe(503);
      expect(refused.headers.get('retry-after')).toBe('1');
      expect(refused.body.error).toEqual({ code: 'Overloaded', message: 'the engine is not keeping up; retry later' });
      release();
      expect((await Promise.all(admitted)).map((r) => r.body.stored)).toEqual([1, 1]);
      expect(await count(t, 'events')).toBe(2);
      expect(t.gw.admission.stats.pendingAppends).toBe(0);
    });
  });

  describe('slow and aborted uploads', () => {
    it('answers 408 to a body that does not arrive in time, storing nothing', async () => {
      t = await startGateway({ bodyTimeoutMs: 200 }, { engine });
      await post(`${t.url}/v1/streams`, { name: 'events', partitions: 1 });
      const socket = await openUpload(t.url, '/v1/streams/events/records', 1000, '[{"a":1},');
      const response = await new Promise<string>((resolve) => {
        let text = '';
        socket.on('data', (d) => (text += d));
        socket.on('close', () => resolve(text));
      });
      expect(response).toMatch(/^HTTP\/1\.1 408 /);
      expect(response).toContain('"code":"RequestTimeout"');
      expect(response.toLowerCase()).toContain('connection: close');
      expect(await count(t, 'events')).toBe(0);
    });

    it('stores nothing of an upload the client aborts, and keeps serving', async () => {
      t = await startGateway({}, { engine });
      await post(`${t.url}/v1/streams`, { name: 'events', partitions: 1 });
      const socket = await openUpload(t.url, '/v1/streams/events/records', 5000, '[{"a":1},{"a":2}');
      socket.destroy();
      await waitUntil(() => t!.gw.admission.stats.inflightBytes === 0);
      expect(await count(t, 'events')).toBe(0);
      expect((await post(`${t.url}/v1/streams/events/records`, [1])).body.stored).toBe(1);
    });
  });

  describe('HTTP/2 and tails', () => {
    it('serves the native API over cleartext HTTP/2 on the same port', async () => {
      t = await startGateway({}, { engine });
      const session = http2.connect(t.url);
      const request = (headers: http2.OutgoingHttpHeaders, body?: string) =>
        new Promise<{ status: number; body: any }>((resolve, reject) => {
          const req = session.request(headers);
          let status = 0;
          let text = '';
          req.on('response', (h) => (status = Number(h[':status'])));
          req.on('data', (d) => (text += d));
          req.on('end', () => resolve({ status, body: JSON.parse(text) }));
          req.on('error', reject);
          req.end(body);
        });
      expect((await request({ ':method': 'POST', ':path': '/v1/streams', 'content-type': 'application/json' }, '{"name":"h2","partitions":1}')).status).toBe(201);
      const put = await request({ ':method': 'POST', ':path': '/v1/streams/h2/records', 'content-type': 'application/json' }, '[{"over":"h2"}]');
      expect(put.body).toEqual({ stored: 1, duplicates: 0, failed: 0, results: [{ partition: 0, offset: expect.any(Number) }] });
      session.close();
    });

    it('refuses a tail of a partition the stream does not have', async () => {
      t = await startGateway({}, { engine });
      await post(`${t.url}/v1/streams`, { name: 'live', partitions: 2 });
      const res = await get(`${t.url}/v1/streams/live/tail?partition=2`);
      expect(res.status).toBe(400);
      expect(res.body.error).toEqual({ code: 'InvalidArgument', message: "'partition' must be 0-1", field: 'partition' });
    });

    it('tails a stream over Server-Sent Events: existing records from earliest, then new ones as they arrive', async () => {
      t = await startGateway({}, { engine });
      await post(`${t.url}/v1/streams`, { name: 'live', partitions: 2 });
      await post(`${t.url}/v1/streams/live/records?key=a`, [{ n: 1 }]);
      const ac = new AbortController();
      const res = await fetch(`${t.url}/v1/streams/live/tail?from=earliest`, { signal: ac.signal });
      expect(res.headers.get('content-type')).toBe('text/event-stream');
      const reader = res.body!.getReader();
      const events: any[] = [];
      const readEvents = async (n: number) => {
        let buf = '';
        while (events.length < n) {
          const { value } = await reader.read();
          buf += Buffer.from(value!).toString();
          let i;
          while ((i = buf.indexOf('\n\n')) >= 0) {
            const block = buf.slice(0, i);
            buf = buf.slice(i + 2);
            const data = block.split('\n').find((l) => l.startsWith('data: '));
            if (data) events.push(JSON.parse(data.slice(6)));
          }
        }
      };
      await readEvents(1);
      await post(`${t.url}/v1/streams/live/records?key=b`, [{ n: 2 }, { n: 3 }]);
      await readEvents(3);
      expect(events.map((e) => e.value)).toEqual([{ n: 1 }, { n: 2 }, { n: 3 }]);
      expect(events.map((e) => e.key)).toEqual(['a', 'b', 'b']);
      ac.abort();
    });
  });

  describe('draining', () => {
    it('finishes an in-flight request, its answer saying Connection: close, takes no request pipelined behind it, and refuses new ones', async () => {
      t = await startGateway({}, { engine });
      await post(`${t.url}/v1/streams`, { name: 'events', partitions: 1 });
      const body = JSON.stringify([{ a: 1 }]);
      const socket = await openUpload(t.url, '/v1/streams/events/records', body.length, body.slice(0, 5));
      await waitUntil(() => t!.gw.admission.stats.inflightBytes > 0);
      const closing = t.gw.close();
      const answer = new Promise<string>((resolve) => {
        let text = '';
        socket.on('data', (d) => (text += d));
        socket.on('close', () => resolve(text));
      });
      const next = `POST /v1/streams/events/records HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`;
      socket.write(`${body.slice(5)}${next}`); // a second append pipelined behind the first
      const answers = (await answer).split(/(?=HTTP\/1\.1 )/);
      // One answer, and it said close (keep-alive before: the connection then ended under the second request, unanswered).
      expect(answers.map((a) => [a.split('\r\n')[0], /\r\nConnection: (\S+)\r\n/i.exec(a)?.[1]])).toEqual([['HTTP/1.1 200 OK', 'close']]);
      await closing;
      await expect(fetch(`${t.url}/healthz`)).rejects.toThrow();
      expect(await count(t, 'events')).toBe(1);
    });
  });
});

/** Opens a raw HTTP/1.1 upload declaring `length` bytes and sends only `first`. */
async function openUpload(url: string, path: string, length: number, first = 'x', headers: Record<string, string> = {}): Promise<net.Socket> {
  const { hostname, port } = new URL(url);
  const socket = net.connect(Number(port), hostname);
  await new Promise((resolve) => socket.once('connect', resolve));
  const extra = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('');
  socket.write(`POST ${path} HTTP/1.1\r\nHost: ${hostname}\r\nContent-Type: application/json\r\nContent-Length: ${length}\r\n${extra}\r\n${first}`);
  return socket;
}

async function waitUntil(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !cond(); i++) await new Promise((r) => setImmediate(r));
  for (let i = 0; i < 100 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
  expect(cond()).toBe(true);
}

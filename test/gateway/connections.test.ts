// The gateway's connections as a hostile or broken client sees them: malformed and pipelined
// HTTP/1.1, headers that trickle in, idle keep-alive connections and HTTP/2 sessions, too many
// connections from one address, and an early answer to a body still being sent.
import http from 'node:http';
import http2 from 'node:http2';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { allRecords } from '../support/engines.js';
import { startGateway, type TestGateway } from '../support/gateway.js';

let t: TestGateway | undefined;
const sockets: net.Socket[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await t?.close();
  t = undefined;
});

/** A raw connection to the gateway: what it sends back, and when it closes. */
async function connect(url: string): Promise<{ socket: net.Socket; received: () => string; closed: Promise<string> }> {
  const { hostname, port } = new URL(url);
  const socket = net.connect(Number(port), hostname);
  sockets.push(socket);
  await new Promise((resolve) => socket.once('connect', resolve));
  let text = '';
  socket.on('data', (d) => (text += d));
  socket.on('error', () => {});
  const closed = new Promise<string>((resolve) => socket.on('close', () => resolve(text)));
  return { socket, received: () => text, closed };
}

/** The status lines and JSON bodies of the HTTP/1.1 responses in `text`, in order. */
function responses(text: string): { status: number; body: any }[] {
  const out: { status: number; body: any }[] = [];
  let rest = text;
  while (rest.startsWith('HTTP/1.1 ')) {
    const headEnd = rest.indexOf('\r\n\r\n');
    const head = rest.slice(0, headEnd);
    const length = Number(/content-length: (\d+)/i.exec(head)![1]);
    const body = rest.slice(headEnd + 4, headEnd + 4 + length);
    out.push({ status: Number(head.slice(9, 12)), body: JSON.parse(body) });
    rest = rest.slice(headEnd + 4 + length);
  }
  return out;
}

const start = async (options = {}) => {
  t = await startGateway(options);
  await t.engine.createStream('events', { partitions: 1 }); // (not over HTTP: fetch would keep a connection open)
  return t;
};

describe('malformed and pipelined HTTP/1.1', () => {
  it('answers a valid request followed by garbage on the same connection: first its 200 (the record is stored), then a JSON 400', async () => {
    const g = await start();
    const c = await connect(g.url);
    const body = '[{"a":1}]';
    c.socket.write(`POST /v1/streams/events/records HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}\x01\x02garbage\r\n\r\n`);
    const answers = responses(await c.closed);
    expect(answers.map((a) => a.status)).toEqual([200, 400]);
    expect(answers[0]!.body).toMatchObject({ stored: 1, failed: 0 });
    expect(answers[1]!.body.error.code).toBe('BadRequest');
    expect(await allRecords(g.engine, 'events')).toHaveLength(1);
  });

  it.each([
    ['a Content-Length that is not a number', 'Content-Length: abc\r\n', 400],
    ['two different Content-Lengths', 'Content-Length: 3\r\nContent-Length: 4\r\n', 400],
    ['Content-Length with Transfer-Encoding', 'Content-Length: 3\r\nTransfer-Encoding: chunked\r\n', 400],
    ['a control character in a header', 'X-Bad: a\x01b\r\n', 400],
    ['headers over 16 KiB', `X-Big: ${'a'.repeat(20_000)}\r\n`, 431],
  ])('answers %s in the JSON error shape, and stores nothing', async (_what, headers, status) => {
    const g = await start();
    const c = await connect(g.url);
    c.socket.write(`POST /v1/streams/events/records HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n${headers}\r\n[1]`);
    const [answer] = responses(await c.closed);
    expect(answer!.status).toBe(status);
    expect(answer!.body.error.code).toBe(status === 431 ? 'HeadersTooLarge' : 'BadRequest');
    expect(answer!.body.error.message).toMatch(status === 431 ? /headers are larger/ : /^malformed HTTP request: /);
    expect(await allRecords(g.engine, 'events')).toEqual([]);
  });

  it('answers a bad chunk size in the JSON error shape, and stores nothing', async () => {
    const g = await start();
    const c = await connect(g.url);
    c.socket.write('POST /v1/streams/events/records HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n[1]\r\n0\r\n\r\n');
    const [answer] = responses(await c.closed);
    expect(answer).toMatchObject({ status: 400, body: { error: { code: 'BadRequest' } } });
    expect(await allRecords(g.engine, 'events')).toEqual([]);
  });
});

describe('connections bounded in time and number', () => {
  it('closes a connection whose headers trickle in past headersTimeout, with a JSON 408', async () => {
    const g = await start({ headersTimeoutMs: 300 });
    const c = await connect(g.url);
    c.socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\n');
    const trickle = setInterval(() => c.socket.write('X'), 100);
    const started = Date.now();
    const text = await c.closed;
    clearInterval(trickle);
    expect(responses(text)).toEqual([{ status: 408, body: { error: { code: 'RequestTimeout', message: 'the request did not arrive in time' } } }]);
    expect(Date.now() - started).toBeLessThan(3_000); // checked every 300 ms at most: not Node's default 30 s
  });

  it('closes an idle keep-alive connection after idleTimeout, and serves it until then', async () => {
    const g = await start({ idleTimeoutMs: 300 });
    const c = await connect(g.url);
    c.socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
    const text = await c.closed;
    expect(responses(text)).toEqual([{ status: 200, body: { status: 'ok' } }]);
    expect(text.toLowerCase()).toContain('keep-alive: timeout=0'); // 300 ms, as Node rounds it down to seconds
  });

  it('closes an HTTP/2 session with no open stream after idleTimeout (GOAWAY), and one that never sends a request', async () => {
    const g = await start({ idleTimeoutMs: 300 });
    const used = http2.connect(g.url);
    const idle = http2.connect(g.url);
    const goaway = (s: http2.ClientHttp2Session) => new Promise<void>((resolve) => s.once('goaway', () => resolve()));
    const away = [goaway(used), goaway(idle)];
    const req = used.request({ ':path': '/healthz' });
    req.resume();
    await new Promise((r) => req.on('end', r));
    await Promise.all(away);
    used.destroy();
    idle.destroy();
  });

  it('refuses a client past maxConnectionsPerClient with 429 TooManyConnections, and takes it again once one closes', async () => {
    const g = await start({ maxConnectionsPerClient: 3 });
    const open = await Promise.all([0, 1, 2].map(() => connect(g.url)));
    const fourth = await connect(g.url);
    fourth.socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
    expect(responses(await fourth.closed)).toEqual([{
      status: 429, body: { error: { code: 'TooManyConnections', message: 'client 127.0.0.1 holds 3 connections, the most one client may' } },
    }]);
    open[0]!.socket.destroy();
    await open[0]!.closed;
    for (let i = 0; i < 100 && (g.gw as any).listener.connections('127.0.0.1') > 2; i++) await new Promise((r) => setTimeout(r, 10));
    const again = await connect(g.url);
    again.socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    expect(responses(await again.closed)).toEqual([{ status: 200, body: { status: 'ok' } }]);
  });
});

describe('an early answer to a body still being sent', () => {
  /** Streams a body of `size` declared bytes with node:http; the status the client reads, or its socket error. */
  const upload = (url: string, size: number) => new Promise<number | string>((resolve) => {
    const req = http.request(url, { method: 'POST', agent: false, headers: { 'content-type': 'application/json', 'content-length': size } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode!));
    });
    req.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
    const chunk = Buffer.alloc(64 * 1024, 0x20);
    let sent = 0;
    const pump = () => {
      while (sent < size) {
        const n = Math.min(chunk.length, size - sent);
        sent += n;
        if (!req.write(chunk.subarray(0, n))) return void req.once('drain', pump);
      }
      req.end();
    };
    pump();
  });

  it('lets the client read a 413 for a declared-too-large body (it used to see EPIPE), 20 times out of 20', async () => {
    const g = await start({ maxBodyBytes: 100_000 });
    const statuses: (number | string)[] = [];
    for (let i = 0; i < 20; i++) statuses.push(await upload(`${g.url}/v1/streams/events/records`, 5_000_000));
    expect(statuses).toEqual(Array(20).fill(413));
    expect(await allRecords(g.engine, 'events')).toEqual([]);
  });
});

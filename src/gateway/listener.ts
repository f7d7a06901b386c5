// One port, two protocols: cleartext HTTP/2 (the AWS SDK's default for Kinesis, prior knowledge)
// and HTTP/1.1. Node's http2 server has no cleartext HTTP/1 fallback, so each connection's first
// bytes are read, put back, and the socket handed to the server that speaks its protocol.
// Connections are bounded in time and number: headers must arrive within headersTimeoutMs, an idle
// connection (HTTP/1.1 keep-alive, an HTTP/2 session without streams) closes after idleTimeoutMs,
// and one client address holds at most maxConnectionsPerClient of them.
import http from 'node:http';
import http2 from 'node:http2';
import net from 'node:net';
import { rawErrorResponse, type GatewayRequest, type GatewayResponse } from './request.js';

const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');
export const FIRST_BYTES_TIMEOUT_MS = 10_000; // a connection that sends nothing is closed
/** How often Node checks requests against headersTimeout (its default, 30 s, lets a slow header live that much longer). */
const CONNECTIONS_CHECK_MS = 1_000;

export interface ListenerLimits {
  headersTimeoutMs: number;
  /** Node's deadline for a whole request (0: none; body reads have their own timeouts, and an S3 upload may stream for minutes). */
  requestTimeoutMs: number;
  idleTimeoutMs: number;
  maxConnections: number;
  maxConnectionsPerClient: number;
}

export class DualProtocolListener {
  readonly server: net.Server;
  private readonly h1: http.Server;
  private readonly h2: http2.Http2Server;
  private readonly sessions = new Set<http2.Http2Session>();
  private readonly sockets = new Set<net.Socket>();
  private readonly perClient = new Map<string, number>();
  /** Per HTTP/1.1 socket: responses not finished yet (pipelined requests answer in order). */
  private readonly unfinished = new WeakMap<net.Socket, Map<http.ServerResponse, http.IncomingMessage>>();

  constructor(handler: (req: GatewayRequest, res: GatewayResponse) => void, private readonly limits: ListenerLimits) {
    // With requestTimeout 0 Node still enforces headersTimeout (checked on Node 20.20; test/gateway/connections.test.ts).
    this.h1 = http.createServer({
      requestTimeout: limits.requestTimeoutMs,
      headersTimeout: limits.headersTimeoutMs,
      keepAliveTimeout: limits.idleTimeoutMs,
      connectionsCheckingInterval: Math.min(CONNECTIONS_CHECK_MS, limits.headersTimeoutMs),
    }, (req, res) => {
      this.track(req, res);
      handler(req, res);
    });
    this.h1.on('clientError', (e: NodeJS.ErrnoException, socket: net.Socket) => this.onClientError(e, socket));
    // The h1 server never listens itself (it is handed sockets), but Node starts its headers and
    // request timeout checks, and the list closeIdleConnections() works on, on 'listening'.
    this.h1.emit('listening');
    this.h2 = http2.createServer({}, handler);
    this.h2.on('session', (s: http2.Http2Session) => this.watchSession(s));
    this.server = net.createServer((socket) => this.accept(socket));
    this.server.maxConnections = limits.maxConnections;
  }

  listen(port: number, host: string): Promise<{ host: string; port: number }> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        const a = this.server.address() as net.AddressInfo;
        resolve({ host: a.address, port: a.port });
      });
    });
  }

  /** Stops accepting connections; open ones are ended by closeConnections(). */
  stopAccepting(): Promise<void> {
    this.h1.close(() => {}); // stops its timeout checks (it was never listening: the callback gets ERR_SERVER_NOT_RUNNING)
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  /** Closes idle keep-alive connections and sends GOAWAY on HTTP/2 sessions. */
  closeIdle(): void {
    this.h1.closeIdleConnections();
    for (const s of this.sessions) s.close();
  }

  /** Ends every connection, busy or not. */
  closeConnections(): void {
    for (const s of this.sessions) s.destroy();
    for (const socket of this.sockets) socket.destroy();
  }

  /** Open connections in all, and of one client address. */
  connections(address?: string): number {
    return address === undefined ? this.sockets.size : (this.perClient.get(address) ?? 0);
  }

  private accept(socket: net.Socket): void {
    const address = socket.remoteAddress ?? 'unknown';
    const held = this.perClient.get(address) ?? 0;
    this.sockets.add(socket);
    this.perClient.set(address, held + 1);
    socket.once('close', () => {
      this.sockets.delete(socket);
      const left = (this.perClient.get(address) ?? 1) - 1;
      if (left <= 0) this.perClient.delete(address);
      else this.perClient.set(address, left);
    });
    socket.on('error', () => socket.destroy());
    socket.setTimeout(FIRST_BYTES_TIMEOUT_MS, () => socket.destroy());
    const over = held >= this.limits.maxConnectionsPerClient;
    let head: Buffer = Buffer.alloc(0);
    const onReadable = () => {
      const chunk = socket.read() as Buffer | null;
      if (chunk === null) return;
      head = head.length === 0 ? chunk : Buffer.concat([head, chunk]);
      const n = Math.min(head.length, PREFACE.length);
      const isH2 = head.subarray(0, n).equals(PREFACE.subarray(0, n));
      if (isH2 && head.length < PREFACE.length) return; // could still be either: wait for more
      socket.off('readable', onReadable);
      socket.setTimeout(0);
      if (over) return this.refuse(socket, isH2, address);
      socket.unshift(head);
      (isH2 ? this.h2 : this.h1).emit('connection', socket);
    };
    socket.on('readable', onReadable);
  }

  /** A client over its connection cap: HTTP/1.1 gets a 429 it can read; HTTP/2 the connection closed. */
  private refuse(socket: net.Socket, isH2: boolean, address: string): void {
    if (isH2) return void socket.destroy();
    const message = `client ${address} holds ${this.limits.maxConnectionsPerClient} connections, the most one client may`;
    socket.end(rawErrorResponse(429, 'TooManyConnections', message, { 'retry-after': '1' }));
    socket.resume(); // read to the client's end, so the socket closes (and stops counting) when the client does
    socket.setTimeout(FIRST_BYTES_TIMEOUT_MS, () => socket.destroy());
  }

  private track(req: http.IncomingMessage, res: http.ServerResponse): void {
    const socket = req.socket;
    let open = this.unfinished.get(socket);
    if (!open) this.unfinished.set(socket, (open = new Map()));
    open.set(res, req);
    const done = () => open.delete(res);
    res.once('finish', done);
    res.once('close', done);
  }

  /**
   * A request Node's parser refused (malformed, headers too large or too slow). Requests before it
   * on the same connection are answered first — a pipelined valid request may already be stored,
   * and its answer must reach the client — then this one, in the gateway's JSON error shape. A
   * request whose body the error cut short is abandoned (its handler sees the client go).
   */
  private onClientError(e: NodeJS.ErrnoException, socket: net.Socket): void {
    if (e.code === 'ECONNRESET' || e.code === 'EPIPE' || !socket.writable) return void socket.destroy();
    const open = [...(this.unfinished.get(socket) ?? [])];
    const answer = () => {
      if (!socket.writable) return void socket.destroy();
      const { status, code, message } = describeParseError(e);
      socket.end(rawErrorResponse(status, code, message));
      for (const [, req] of open) if (!req.complete) req.destroy();
    };
    const before = open.filter(([, req]) => req.complete).map(([res]) => new Promise((r) => (res.writableFinished || res.destroyed ? r(null) : (res.once('finish', r), res.once('close', r)))));
    if (before.length === 0) return answer();
    Promise.all(before).then(answer, answer);
  }

  /** HTTP/2 sessions: closed (GOAWAY) once idle, with no open stream, for idleTimeoutMs. */
  private watchSession(s: http2.Http2Session): void {
    this.sessions.add(s);
    s.once('close', () => this.sessions.delete(s));
    let streams = 0;
    let timer: NodeJS.Timeout | undefined;
    const idle = () => (timer = setTimeout(() => s.close(), this.limits.idleTimeoutMs).unref());
    s.on('stream', (stream: http2.ServerHttp2Stream) => {
      streams++;
      clearTimeout(timer);
      stream.once('close', () => {
        if (--streams === 0 && !s.closed) idle();
      });
    });
    s.setTimeout(this.limits.idleTimeoutMs, () => s.close()); // no frames at all
    idle();
  }
}

/** Status, code and message for an error of Node's HTTP/1.1 parser. */
function describeParseError(e: NodeJS.ErrnoException): { status: number; code: string; message: string } {
  if (e.code === 'HPE_HEADER_OVERFLOW') return { status: 431, code: 'HeadersTooLarge', message: 'the request headers are larger than the server allows (16 KiB)' };
  if (e.code === 'ERR_HTTP_REQUEST_TIMEOUT') return { status: 408, code: 'RequestTimeout', message: 'the request did not arrive in time' };
  const reason = (e as { reason?: string }).reason ?? e.message;
  return { status: 400, code: 'BadRequest', message: `malformed HTTP request: ${reason}` };
}

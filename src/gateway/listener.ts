// One port, two protocols: cleartext HTTP/2 (the AWS SDK's default for Kinesis, prior knowledge)
// and HTTP/1.1. Node's http2 server has no cleartext HTTP/1 fallback, so each connection's first
// bytes are read, put back, and the socket handed to the server that speaks its protocol.
import http from 'node:http';
import http2 from 'node:http2';
import net from 'node:net';
import type { GatewayRequest, GatewayResponse } from './request.js';

const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');
export const FIRST_BYTES_TIMEOUT_MS = 10_000; // a connection that sends nothing is closed

export class DualProtocolListener {
  readonly server: net.Server;
  private readonly h1: http.Server;
  private readonly h2: http2.Http2Server;
  private readonly sessions = new Set<http2.Http2Session>();
  private readonly sockets = new Set<net.Socket>();

  constructor(handler: (req: GatewayRequest, res: GatewayResponse) => void) {
    this.h1 = http.createServer({ requestTimeout: 0 }, handler);
    this.h2 = http2.createServer({}, handler);
    this.h2.on('session', (s: http2.Http2Session) => {
      this.sessions.add(s);
      s.once('close', () => this.sessions.delete(s));
    });
    this.server = net.createServer((socket) => this.accept(socket));
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

  private accept(socket: net.Socket): void {
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
    socket.setTimeout(FIRST_BYTES_TIMEOUT_MS, () => socket.destroy());
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
      socket.unshift(head);
      (isH2 ? this.h2 : this.h1).emit('connection', socket);
    };
    socket.on('readable', onReadable);
    socket.on('error', () => socket.destroy());
  }
}

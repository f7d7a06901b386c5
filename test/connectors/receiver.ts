// A real local HTTP server that receives webhook POSTs and misbehaves on demand: answers a status
// (with headers), hangs, or drops the connection. It keeps every request, and the state a receiver
// that honours Idempotency-Key would hold (a key seen before is answered 200 and not applied).
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { WebhookBody } from '../../src/connectors/webhook/index.js';

/** 'slow': a 200 that comes after `delayMs` (past the sender's timeout, say). */
export type Behaviour = 'ok' | 'hang' | 'close' | { slowMs: number } | { status: number; headers?: Record<string, string> };

export interface Received {
  key: string;
  body: string;
  signature: string | undefined;
  headers: http.IncomingHttpHeaders;
  /** What the server answered. */
  answer: Behaviour;
  at: number;
}

export class Receiver {
  readonly requests: Received[] = [];
  /** Decides each request's answer; default: 200. `n` counts requests from 0. */
  behave: (body: WebhookBody, n: number) => Behaviour = () => 'ok';
  private readonly server: http.Server;
  private readonly applied = new Set<string>();
  private readonly rows = new Map<string, Record<string, unknown>>();
  private readonly hanging = new Set<http.ServerResponse>();

  constructor() {
    this.server = http.createServer((req, res) => {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (d) => (body += d));
      req.on('end', () => this.answer(req, res, body));
    });
  }

  async listen(): Promise<string> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/hook`;
  }

  async close(): Promise<void> {
    for (const res of this.hanging) res.destroy();
    this.server.closeAllConnections();
    await new Promise((r) => this.server.close(r));
  }

  /** Rows by JSON key, as a receiver applying each idempotency key once, in arrival order, holds them. */
  state(): Map<string, Record<string, unknown>> {
    return new Map(this.rows);
  }

  /** Requests answered 2xx. */
  get delivered(): Received[] {
    return this.requests.filter((r) => r.answer === 'ok');
  }

  private answer(req: http.IncomingMessage, res: http.ServerResponse, text: string): void {
    const key = String(req.headers['idempotency-key'] ?? '');
    const body = JSON.parse(text) as WebhookBody;
    const answer = this.behave(body, this.requests.length);
    this.requests.push({ key, body: text, signature: req.headers['sluice-signature'] as string | undefined, headers: req.headers, answer, at: Date.now() });
    if (answer === 'hang') {
      this.hanging.add(res);
      return;
    }
    if (answer === 'close') {
      req.socket.destroy();
      return;
    }
    if (typeof answer === 'object' && 'slowMs' in answer) {
      this.hanging.add(res);
      setTimeout(() => res.writeHead(200).end('{"ok":true}'), answer.slowMs).unref();
      return;
    }
    if (answer === 'ok') {
      if (!this.applied.has(key)) {
        this.applied.add(key);
        for (const r of body.records) {
          if (r.deleted) this.rows.delete(JSON.stringify(r.key));
          else this.rows.set(JSON.stringify(r.key), r.value);
        }
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
      return;
    }
    res.writeHead(answer.status, answer.headers ?? {}).end(`status ${answer.status}`);
  }
}

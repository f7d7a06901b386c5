// The S3 API's tests: a gateway with key pairs of different scopes, @aws-sdk/client-s3 clients with
// default settings (path-style addressing is the one thing set: Sluice serves no virtual hosts),
// and raw HTTP/1.1 for what no SDK sends (stalls, cut-off bodies, hand-made aws-chunked bodies).
import { S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import { createHash } from 'node:crypto';
import net from 'node:net';
import type { Principal } from '../../src/gateway/auth/scopes.js';
import type { GatewayOptions } from '../../src/gateway/options.js';
import { startGateway, type EngineFactory, type TestGateway } from './gateway.js';

export const ADMIN = { accessKeyId: 'AKIDS3ADMIN', secretAccessKey: 's3-admin-secret' };
export const READER = { accessKeyId: 'AKIDS3READER', secretAccessKey: 's3-reader-secret' };
export const WRITER = { accessKeyId: 'AKIDS3WRITER', secretAccessKey: 's3-writer-secret' };

/** admin: everything; reader: read on buckets `public-*`; writer: write (not read) on bucket `uploads`. */
export const S3_PRINCIPALS: Principal[] = [
  { id: 'admin', ...ADMIN, scopes: { '*': ['admin'] } },
  { id: 'reader', ...READER, scopes: { 'bucket:public-*': ['read'] } },
  { id: 'writer', ...WRITER, scopes: { 'bucket:uploads': ['write'] } },
];

export function s3Client(url: string, credentials: { accessKeyId: string; secretAccessKey: string } = ADMIN): S3Client {
  return new S3Client({ endpoint: url, region: 'us-east-1', forcePathStyle: true, credentials });
}

export async function startS3(engine: EngineFactory, options: GatewayOptions = {}): Promise<TestGateway & { s3: S3Client }> {
  const t = await startGateway({ principals: S3_PRINCIPALS, ...options }, { engine });
  const s3 = s3Client(t.url);
  return {
    ...t,
    s3,
    async close() {
      s3.destroy();
      await t.close();
    },
  };
}

/** What the SDK threw: S3's code, status and message. */
export async function s3Failure(p: Promise<unknown>): Promise<{ code: string; status: number | undefined; message: string }> {
  try {
    await p;
  } catch (e) {
    if (e instanceof S3ServiceException) return { code: e.name, status: e.$metadata.httpStatusCode, message: e.message };
    throw e;
  }
  throw new Error('expected the request to fail');
}

export const md5 = (b: Uint8Array): string => createHash('md5').update(b).digest('hex');

/** Deterministic bytes (a counter pattern, no repeats at small periods). */
export function bytes(n: number, seed = 1): Buffer {
  const b = Buffer.allocUnsafe(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b[i] = x & 0xff;
  }
  return b;
}

export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
  /** The server closed the connection after the answer. */
  closed: boolean;
}

/**
 * A raw HTTP/1.1 exchange: writes `head`, then each body piece after its delay (ms), then waits for
 * the answer (or the connection's end). `cut`: destroy the socket after the pieces instead.
 */
export function raw(url: string, head: string, pieces: { data: Buffer | string; delayMs?: number }[] = [], o: { cut?: boolean; waitMs?: number } = {}): Promise<RawResponse | undefined> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), hostname);
    let text = '';
    let settled = false;
    const done = (r: RawResponse | undefined) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(r);
    };
    const timer = setTimeout(() => (socket.destroy(), done(parse(text, false))), o.waitMs ?? 10_000);
    socket.on('data', (d) => (text += d.toString('latin1')));
    socket.on('error', () => {});
    socket.on('close', () => done(parse(text, true)));
    socket.on('connect', async () => {
      try {
        socket.write(head);
        for (const p of pieces) {
          if (p.delayMs) await new Promise((r) => setTimeout(r, p.delayMs));
          if (socket.destroyed) return;
          socket.write(p.data);
        }
        if (o.cut) {
          await new Promise((r) => setTimeout(r, 50));
          socket.destroy();
        }
      } catch (e) {
        reject(e);
      }
    });
  });
}

function parse(text: string, closed: boolean): RawResponse | undefined {
  const end = text.indexOf('\r\n\r\n');
  if (end < 0) return undefined;
  const [status, ...lines] = text.slice(0, end).split('\r\n');
  const headers: Record<string, string> = {};
  for (const l of lines) {
    const i = l.indexOf(':');
    headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
  }
  return { status: Number(status!.split(' ')[1]), headers, body: text.slice(end + 4), closed };
}

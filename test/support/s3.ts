// The S3 API's tests: a gateway with key pairs of different scopes, @aws-sdk/client-s3 clients with
// default settings (path-style addressing is the one thing set: Sluice serves no virtual hosts),
// and raw HTTP/1.1 for what no SDK sends (stalls, cut-off bodies, hand-made aws-chunked bodies).
import { S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import { createHash, createHmac } from 'node:crypto';
import { crc32 } from 'node:zlib';
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

/** A Buffer as fetch's body type wants it (a copy: test bodies are small). */
export const fetchBody = (b: Buffer): Uint8Array<ArrayBuffer> => new Uint8Array(b);

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

// ---- Hand-signed requests (what no SDK sends by default) --------------------------------------
// An implementation of SigV4 of its own, written from AWS's specification, so the gateway's
// verifier is checked against something other than itself.

const sha256Hex = (data: string | Uint8Array) => createHash('sha256').update(data).digest('hex');
const hmac = (key: string | Buffer, data: string) => createHmac('sha256', key).update(data).digest();
export const EMPTY_SHA256 = sha256Hex('');

export interface Signed {
  headers: Record<string, string>;
  /** What chunk and trailer signatures chain from. */
  seed: string;
  key: Buffer;
  amzDate: string;
  scope: string;
}

/** SigV4 headers of a request to `url` (path already URI-encoded) with `headers`, whose payload hash is `payload`. */
export function signV4(method: string, url: string, headers: Record<string, string>, payload: string, o: { credentials?: { accessKeyId: string; secretAccessKey: string }; date?: Date } = {}): Signed {
  const { accessKeyId, secretAccessKey } = o.credentials ?? ADMIN;
  const u = new URL(url);
  const amzDate = (o.date ?? new Date()).toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
  const day = amzDate.slice(0, 8);
  const scope = `${day}/us-east-1/s3/aws4_request`;
  const all: Record<string, string> = { ...headers, host: u.host, 'x-amz-date': amzDate, 'x-amz-content-sha256': payload };
  const names = Object.keys(all).map((n) => n.toLowerCase()).sort();
  const lower = Object.fromEntries(Object.entries(all).map(([k, v]) => [k.toLowerCase(), v]));
  const enc = (s: string) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());
  const query = [...u.searchParams].map(([k, v]) => `${enc(k)}=${enc(v)}`).sort().join('&');
  const canonical = [method, u.pathname, query, ...names.map((n) => `${n}:${lower[n]!.trim()}`), '', names.join(';'), payload].join('\n');
  const toSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256Hex(canonical)].join('\n');
  const key = hmac(hmac(hmac(hmac(`AWS4${secretAccessKey}`, day), 'us-east-1'), 's3'), 'aws4_request');
  const seed = createHmac('sha256', key).update(toSign).digest('hex');
  const authorization = `AWS4-HMAC-SHA256 Credential=${accessKeyId}/${scope}, SignedHeaders=${names.join(';')}, Signature=${seed}`;
  const { host: _, ...rest } = all;
  return { headers: { ...rest, authorization }, seed, key, amzDate, scope };
}

export const STREAMING_SIGNED = 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD';
export const STREAMING_SIGNED_TRAILER = 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER';
export const STREAMING_UNSIGNED_TRAILER = 'STREAMING-UNSIGNED-PAYLOAD-TRAILER';

/** CRC32 as S3 writes it: base64 of the big-endian value. */
export function crc32Base64(data: Uint8Array): string {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(crc32(data) >>> 0);
  return b.toString('base64');
}

/**
 * An aws-chunked PUT of `data` in chunks of `chunkBytes`, in one of the three streaming forms, with
 * its headers signed; `trailer` is sent as x-amz-checksum-crc32 (the forms with -TRAILER).
 * `tamper(i, chunk)` changes a chunk's bytes after it was signed; `noDecodedLength` leaves out
 * x-amz-decoded-content-length (the size is then known only at the end).
 */
export function awsChunked(url: string, data: Buffer, o: { form: string; chunkBytes?: number; trailer?: string; noDecodedLength?: boolean; declaredLength?: number; tamper?: (i: number, chunk: Buffer) => Buffer; credentials?: { accessKeyId: string; secretAccessKey: string } }): { headers: Record<string, string>; body: Buffer } {
  const chunkBytes = o.chunkBytes ?? 64 * 1024;
  const signed = o.form !== STREAMING_UNSIGNED_TRAILER;
  const withTrailer = o.form !== STREAMING_SIGNED;
  const headers: Record<string, string> = { 'content-encoding': 'aws-chunked', ...(o.noDecodedLength ? {} : { 'x-amz-decoded-content-length': String(o.declaredLength ?? data.length) }) };
  if (withTrailer) headers['x-amz-trailer'] = 'x-amz-checksum-crc32';
  const s = signV4('PUT', url, headers, o.form, o.credentials ? { credentials: o.credentials } : {});
  let previous = s.seed;
  const sign = (hash: string, kind = 'PAYLOAD', extra = [EMPTY_SHA256]) => {
    previous = createHmac('sha256', s.key).update([`AWS4-HMAC-SHA256-${kind}`, s.amzDate, s.scope, previous, ...extra, hash].join('\n')).digest('hex');
    return previous;
  };
  const out: Buffer[] = [];
  const chunks: Buffer[] = [];
  for (let i = 0; i < data.length; i += chunkBytes) chunks.push(data.subarray(i, i + chunkBytes));
  chunks.push(Buffer.alloc(0));
  chunks.forEach((chunk, i) => {
    const head = chunk.length.toString(16) + (signed ? `;chunk-signature=${sign(sha256Hex(chunk))}` : '');
    out.push(Buffer.from(`${head}\r\n`), o.tamper ? o.tamper(i, chunk) : chunk);
    if (chunk.length) out.push(Buffer.from('\r\n'));
  });
  if (withTrailer) {
    const line = `x-amz-checksum-crc32:${o.trailer ?? crc32Base64(data)}`;
    out.push(Buffer.from(`${line}\r\n`));
    if (signed) out.push(Buffer.from(`x-amz-trailer-signature:${sign(sha256Hex(`${line}\n`), 'TRAILER', [])}\r\n`));
  }
  out.push(Buffer.from('\r\n'));
  const body = Buffer.concat(out);
  return { headers: { ...s.headers, 'content-length': String(body.length) }, body };
}

/** A request head for raw(): request line, host and the given headers. */
export function head(method: string, url: string, headers: Record<string, string>): string {
  const u = new URL(url);
  return `${method} ${u.pathname}${u.search} HTTP/1.1\r\nhost: ${u.host}\r\n${Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n`;
}

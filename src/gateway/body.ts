// Reads a request body within limits: declared or actual size over the limit (PayloadTooLargeError),
// a body that does not arrive in time (BodyTimeoutError), gzip decoded with a bound on the decoded
// size (no zip bombs).
// Memory is reserved from the admission budget as bytes arrive and released by the caller.
import { promisify } from 'node:util';
import { gunzip as gunzipCb } from 'node:zlib';
import type { Admission } from './admission.js';
import { BadEncodingError, BodyTimeoutError, ClientAbortedError, PayloadTooLargeError, UnsupportedEncodingError } from './errors.js';
import type { GatewayRequest } from './request.js';

const gunzip = promisify(gunzipCb);

export interface BodyLimits {
  maxBytes: number;
  timeoutMs: number;
}

/** A body held in memory, with the admission bytes to release when done. */
export interface Body {
  /** The body decoded (gunzipped when sent with Content-Encoding: gzip). */
  data: Buffer;
  /** The bytes as sent: what a signature's payload hash covers. */
  raw: Buffer;
  reserved: number;
}


export async function readBody(req: GatewayRequest, limits: BodyLimits, admission: Admission, client: string): Promise<Body> {
  const declared = req.headers['content-length'];
  const length = declared === undefined ? undefined : Number(declared);
  if (length !== undefined && length > limits.maxBytes) throw new PayloadTooLargeError(limits.maxBytes);
  let reserved = 0;
  const reserve = (n: number) => {
    admission.reserve(client, n);
    reserved += n;
  };
  try {
    if (length !== undefined) reserve(length);
    const raw = await collect(req, limits, (n) => {
      if (n > reserved) reserve(n - reserved);
    });
    const encoding = String(req.headers['content-encoding'] ?? 'identity').toLowerCase();
    if (encoding === 'identity') return { data: raw, raw, reserved };
    if (encoding !== 'gzip') throw new UnsupportedEncodingError(encoding);
    const data = await gunzip(raw, { maxOutputLength: limits.maxBytes }).catch((e: NodeJS.ErrnoException) => {
      if (e.code === 'ERR_BUFFER_TOO_LARGE' || e instanceof RangeError) throw new PayloadTooLargeError(limits.maxBytes, true);
      throw new BadEncodingError(e.message);
    });
    reserve(data.length);
    return { data, raw, reserved };
  } catch (e) {
    admission.release(client, reserved);
    throw e;
  }
}

function collect(req: GatewayRequest, limits: BodyLimits, onSize: (n: number) => void): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    // The client may have gone while we awaited something before reading (auth, stream lookup).
    if ((req as { destroyed?: boolean }).destroyed || (req as { aborted?: boolean }).aborted) return reject(new ClientAbortedError());
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const finish = (err?: Error) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      req.off('data', onData);
      if (err) reject(err);
      else resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
    };
    const timer = setTimeout(() => finish(new BodyTimeoutError(limits.timeoutMs)), limits.timeoutMs);
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limits.maxBytes) return finish(new PayloadTooLargeError(limits.maxBytes));
      try {
        onSize(size);
      } catch (e) {
        return finish(e as Error);
      }
      chunks.push(chunk);
    };
    req.on('data', onData);
    req.once('end', () => finish());
    req.once('aborted', () => finish(new ClientAbortedError()));
    req.once('error', () => finish(new ClientAbortedError()));
    req.once('close', () => {
      if (!req.complete) finish(new ClientAbortedError());
    });
  });
}

// A request body as the S3 edge reads it: pulled from the socket as the consumer (the engine's
// staging) asks, never held whole, failing with BodyTimeoutError when no byte arrives for the
// body timeout (a stall; the consumer's own time does not count) and ClientAbortedError when the
// client goes. Then decoded by its x-amz-content-sha256 form: a hex SHA-256 verified at the end,
// UNSIGNED-PAYLOAD as is, or aws-chunked (chunked.ts) with chunk signatures and trailers.
import { createHash } from 'node:crypto';
import { UNSIGNED_PAYLOAD, type SigningContext } from '../auth/sigv4.js';
import { BodyTimeoutError, ClientAbortedError, PayloadTooLargeError } from '../errors.js';
import type { GatewayRequest } from '../request.js';
import { AwsChunkedDecoder } from './chunked.js';
import { invalidArgument, notImplemented, S3Error } from './errors.js';
import { IncompleteBodyError } from '../../objects/errors.js';

export const STREAMING_SIGNED = 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD';
export const STREAMING_SIGNED_TRAILER = 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER';
export const STREAMING_UNSIGNED_TRAILER = 'STREAMING-UNSIGNED-PAYLOAD-TRAILER';

/** The body to store, decoded, and what it said about itself. */
export interface Payload {
  body: AsyncIterable<Buffer>;
  /** The object's size when the request declares it (Content-Length, or x-amz-decoded-content-length when chunked). */
  size?: number;
  /** Trailing headers (aws-chunked -TRAILER forms), complete once `body` ended. */
  trailers: Record<string, string>;
  /** Bytes read from the socket so far (framing included). */
  received(): number;
}

/** Body bytes read from the socket ahead of the consumer, at most (about: one more read may land). */
export const BODY_READ_AHEAD_BYTES = 512 * 1024;

/**
 * Yields a request's body as the socket delivers it, chunk by chunk and never copied (a paused
 * stream's read() would join what it holds into a new buffer), reading at most
 * BODY_READ_AHEAD_BYTES ahead of the consumer; see the file comment.
 */
export async function* bodySource(req: GatewayRequest, stallMs: number, counted: { bytes: number }): AsyncGenerator<Buffer> {
  if ((req as { destroyed?: boolean }).destroyed || (req as { aborted?: boolean }).aborted) throw new ClientAbortedError();
  const queue: Buffer[] = [];
  let head = 0;
  let queued = 0;
  let wake: (() => void) | undefined;
  let failure: Error | undefined;
  let waiting = false;
  let ended = req.readableEnded;
  const poke = () => wake?.();
  const onData = (chunk: Buffer) => {
    queue.push(chunk);
    queued += chunk.length;
    if (queued >= BODY_READ_AHEAD_BYTES) req.pause();
    poke();
  };
  const onEnd = () => ((ended = true), poke());
  const onAbort = () => ((failure ??= new ClientAbortedError()), poke());
  const onClose = () => (req.complete ? poke() : onAbort());
  const timer = setTimeout(() => {
    if (waiting) (failure ??= new BodyTimeoutError(stallMs)), poke();
  }, stallMs);
  req.on('data', onData);
  req.once('end', onEnd);
  req.once('aborted', onAbort);
  req.once('error', onAbort);
  req.once('close', onClose);
  req.resume();
  try {
    for (;;) {
      if (failure) throw failure;
      if (head < queue.length) {
        const chunk = queue[head]!;
        queue[head++] = undefined as unknown as Buffer;
        if (head === queue.length) (queue.length = 0), (head = 0);
        queued -= chunk.length;
        if (queued < BODY_READ_AHEAD_BYTES && !ended) req.resume();
        counted.bytes += chunk.length;
        yield chunk;
        continue;
      }
      if (ended) return;
      waiting = true;
      timer.refresh();
      await new Promise<void>((resolve) => (wake = resolve));
      wake = undefined;
      waiting = false;
    }
  } finally {
    clearTimeout(timer);
    req.off('data', onData);
    req.off('end', onEnd);
    req.off('aborted', onAbort);
    req.off('error', onAbort);
    req.off('close', onClose);
    if (!ended) req.pause(); // the rest is the gateway's to drop (discardUnreadBody)
  }
}

/** The body as is, checked at its end: exactly `size` bytes when declared, and of SHA-256 `sha256` when signed so. */
async function* checked(source: AsyncIterable<Buffer>, size: number | undefined, sha256: string | undefined): AsyncGenerator<Buffer> {
  const hash = sha256 === undefined ? undefined : createHash('sha256');
  let n = 0;
  for await (const chunk of source) {
    n += chunk.length;
    hash?.update(chunk);
    yield chunk;
  }
  if (size !== undefined && n !== size) throw new IncompleteBodyError(size, n);
  const computed = hash?.digest('hex');
  if (computed !== sha256) {
    throw new S3Error('XAmzContentSHA256Mismatch', "The provided 'x-amz-content-sha256' header does not match what was computed.", 400, {
      ClientComputedContentSHA256: sha256!,
      S3ComputedContentSHA256: computed!,
    });
  }
}

const header = (req: GatewayRequest, name: string): string | undefined => {
  const v = req.headers[name];
  return Array.isArray(v) ? v.join(',') : v;
};

function sizeHeader(req: GatewayRequest, name: string): number | undefined {
  const v = header(req, name);
  if (v === undefined) return undefined;
  if (!/^\d{1,16}$/.test(v.trim())) throw invalidArgument(`${name} must be a number of bytes`, name, v);
  return Number(v);
}

/**
 * The decoded body of a request, by its x-amz-content-sha256 form. `signing` verifies chunk
 * signatures (undefined: a request no key signed, on an open gateway or with an API key).
 */
export function openPayload(req: GatewayRequest, signing: SigningContext | undefined, stallMs: number): Payload {
  const counted = { bytes: 0 };
  const raw = bodySource(req, stallMs, counted);
  const form = signing?.payload ?? header(req, 'x-amz-content-sha256') ?? UNSIGNED_PAYLOAD;
  const received = () => counted.bytes;
  const length = sizeHeader(req, 'content-length');
  if (form === UNSIGNED_PAYLOAD) return { body: checked(raw, length, undefined), size: length, trailers: {}, received };
  if (/^[0-9a-f]{64}$/.test(form)) return { body: checked(raw, length, form), size: length, trailers: {}, received };
  if (form === STREAMING_SIGNED || form === STREAMING_SIGNED_TRAILER || form === STREAMING_UNSIGNED_TRAILER) {
    const decodedLength = sizeHeader(req, 'x-amz-decoded-content-length');
    const decoder = new AwsChunkedDecoder({
      signed: form !== STREAMING_UNSIGNED_TRAILER,
      trailer: form !== STREAMING_SIGNED,
      ...(signing ? { signing } : {}),
      ...(decodedLength !== undefined ? { decodedLength } : {}),
    });
    return { body: decoder.decode(raw), size: decodedLength, trailers: decoder.trailers, received };
  }
  if (form.startsWith('STREAMING-')) throw notImplemented(`x-amz-content-sha256: ${form}`);
  throw invalidArgument('x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD, STREAMING-UNSIGNED-PAYLOAD-TRAILER, STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER or a valid sha256 value.', 'x-amz-content-sha256', form);
}

/** A small body (an XML document) read whole, decoded and verified, at most `limit` bytes. */
export async function readSmallPayload(payload: Payload, limit: number): Promise<Buffer> {
  if (payload.size !== undefined && payload.size > limit) throw new PayloadTooLargeError(limit);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of payload.body) {
    size += chunk.length;
    if (size > limit) throw new PayloadTooLargeError(limit);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, size);
}

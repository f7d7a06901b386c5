// One S3 request as the operations see it: what it names, who sent it, its body (opened once,
// decoded and verified as it streams), and the answers S3 gives: XML, headers only, or a stream.
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import type { Objects } from '../../objects/index.js';
import type { ObjectOrigin } from '../../objects/options.js';
import type { Gateway } from '../gateway.js';
import type { GatewayRequest, GatewayResponse } from '../request.js';
import type { S3Caller } from './auth.js';
import { openPayload, readSmallPayload, type Payload } from './payload.js';
import type { OperationName, S3Target } from './route.js';
import { xmlDocument, type XmlNode } from './xml.js';

/** XML bodies (DeleteObjects, CompleteMultipartUpload: 1,000 keys, 10,000 parts) are read whole, up to this. */
export const MAX_XML_BODY_BYTES = 4 * 1024 * 1024;
/** What a streaming upload holds of the admission budget: about one engine chunk in flight. */
export const STREAMING_RESERVE_BYTES = 1024 * 1024;

export class S3Call {
  private opened?: Payload;
  /** Response body bytes sent. */
  sent = 0;

  constructor(
    readonly gw: Gateway,
    readonly objects: Objects,
    readonly req: GatewayRequest,
    readonly res: GatewayResponse,
    readonly operation: OperationName,
    readonly target: S3Target,
    readonly caller: S3Caller,
    /** Aborted when the client goes away. */
    readonly signal: AbortSignal,
    /** The request's x-amz-request-id. */
    readonly requestId: string,
  ) {}

  /** Who asked, as S3's event notifications say it: the caller's principal, the client's address, the request id. */
  get origin(): ObjectOrigin {
    return { principalId: this.caller.principal.id, sourceIPAddress: this.req.socket?.remoteAddress ?? '', requestId: this.requestId };
  }

  get bucket(): string {
    return this.target.bucket!;
  }

  get key(): string {
    return this.target.key!;
  }

  get query(): URLSearchParams {
    return this.target.query;
  }

  /** The body, decoded by its payload form (once). */
  payload(): Payload {
    this.opened ??= openPayload(this.req, this.caller.signing, this.gw.options.bodyTimeoutMs);
    return this.opened;
  }

  /** Request body bytes read so far. */
  received(): number {
    return this.opened?.received() ?? 0;
  }

  /** A small body read whole (XML), holding its size of the admission budget while it is read. */
  async smallBody(client: string): Promise<Buffer> {
    const reserve = Math.min(Number(this.req.headers['content-length'] ?? MAX_XML_BODY_BYTES) || 0, MAX_XML_BODY_BYTES);
    this.gw.admission.reserve(client, reserve);
    try {
      return await readSmallPayload(this.payload(), MAX_XML_BODY_BYTES);
    } finally {
      this.gw.admission.release(client, reserve);
    }
  }

  /** An XML answer in S3's namespace. */
  xml(status: number, root: string, children: XmlNode[], headers: Record<string, string> = {}): void {
    this.text(status, xmlDocument(root, children), { 'content-type': 'application/xml', ...headers });
  }

  /** A whole text body (or none). */
  text(status: number, body: string, headers: Record<string, string> = {}): void {
    if (this.res.headersSent) return;
    const length = Buffer.byteLength(body);
    this.res.writeHead(status, { ...headers, 'content-length': String(length) });
    if (this.req.method === 'HEAD') return void this.res.end();
    this.res.end(body);
    this.sent += length;
  }

  /** Headers and no body (HEAD, 204, PUT answers): content-length as given (HEAD: the object's). */
  empty(status: number, headers: Record<string, string> = {}): void {
    if (this.res.headersSent) return;
    this.res.writeHead(status, { 'content-length': '0', ...headers });
    this.res.end();
  }

  /** Streams a body with its headers; the body is destroyed if the client goes, or if the headers cannot be sent. */
  async stream(status: number, headers: Record<string, string>, body: Readable): Promise<void> {
    try {
      this.res.writeHead(status, headers);
    } catch (e) {
      body.destroy();
      throw e;
    }
    body.on('data', (chunk: Buffer) => {
      this.sent += chunk.length;
    });
    await pipeline(body, this.res as NodeJS.WritableStream);
  }
}

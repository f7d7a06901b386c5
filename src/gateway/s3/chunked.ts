// Decodes aws-chunked bodies (Content-Encoding: aws-chunked): `<hex size>[;chunk-signature=<sig>]\r\n
// <data>\r\n` … `0[;chunk-signature=<sig>]\r\n`, then, for the -TRAILER forms, trailing headers
// (`x-amz-checksum-crc32:…\r\n`, signed by `x-amz-trailer-signature:…`) and an empty line. Chunk
// signatures chain from the request's seed signature and are verified as each chunk ends; the
// data is passed on as it arrives, without copying, so a bad chunk fails the upload before its
// commit (the staged bytes are dropped).
import { createHash, type Hash } from 'node:crypto';
import { chunkSignature, EMPTY_SHA256, sameSignature, trailerSignature, type SigningContext } from '../auth/sigv4.js';
import { IncompleteBodyError } from '../../objects/errors.js';
import { S3Error } from './errors.js';

/** A chunk header or trailer line longer than this is not one. */
const MAX_LINE = 4096;
/** Most trailing headers accepted. */
const MAX_TRAILERS = 16;

export interface ChunkedOptions {
  /** Chunk headers carry chunk-signature (the STREAMING-AWS4-HMAC-SHA256-… forms). */
  signed: boolean;
  /** Trailing headers follow the last chunk (the …-TRAILER forms). */
  trailer: boolean;
  /** Verify the signatures with this (undefined on an open gateway, which checks no signature). */
  signing?: Pick<SigningContext, 'key' | 'amzDate' | 'scope' | 'signature'>;
  /** x-amz-decoded-content-length: the decoded size must be exactly this. */
  decodedLength?: number;
}

const malformed = (why: string) => new S3Error('IncompleteBody', `The aws-chunked body is malformed: ${why}`, 400);
const badSignature = () =>
  new S3Error('SignatureDoesNotMatch', 'The request signature we calculated does not match the signature you provided. Check your key and signing method.', 403);

type State = 'header' | 'data' | 'dataEnd' | 'trailer' | 'done';

export class AwsChunkedDecoder {
  /** Trailing headers by lowercase name, once the body is decoded. */
  readonly trailers: Record<string, string> = {};
  private state: State = 'header';
  private line = '';
  private left = 0;
  private chunkHash?: Hash;
  private chunkSig = '';
  private previous: string;
  private decoded = 0;
  private lastChunk = false;
  private readonly trailerLines: string[] = [];

  constructor(private readonly o: ChunkedOptions) {
    this.previous = o.signing?.signature ?? '';
  }

  /** The decoded bytes of `source`; throws S3Error / IncompleteBodyError when the framing, a signature or the length is wrong. */
  async *decode(source: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
    for await (const chunk of source) {
      let i = 0;
      while (i < chunk.length) {
        if (this.state === 'data') {
          const n = Math.min(this.left, chunk.length - i);
          const piece = chunk.subarray(i, i + n);
          this.chunkHash?.update(piece);
          this.left -= n;
          this.decoded += n;
          i += n;
          if (this.left === 0) this.endChunk();
          yield piece;
        } else if (this.state === 'done') {
          if (chunk.subarray(i).some((b) => b !== 0x0d && b !== 0x0a)) throw malformed('bytes after the end');
          break;
        } else {
          i = this.takeLine(chunk, i);
        }
      }
    }
    this.finish();
  }

  /** Reads up to the end of a line (state header, dataEnd, trailer); returns the index after what it used. */
  private takeLine(chunk: Buffer, i: number): number {
    const nl = chunk.indexOf(0x0a, i);
    const end = nl < 0 ? chunk.length : nl;
    this.line += chunk.toString('latin1', i, end);
    if (this.line.length > MAX_LINE) throw malformed('a line is too long');
    if (nl < 0) return chunk.length;
    const line = this.line.endsWith('\r') ? this.line.slice(0, -1) : this.line;
    this.line = '';
    this.onLine(line);
    return nl + 1;
  }

  private onLine(line: string): void {
    if (this.state === 'dataEnd') {
      if (line !== '') throw malformed('a chunk is longer than its size');
      this.state = 'header';
    } else if (this.state === 'header') {
      this.startChunk(line);
    } else if (this.state === 'trailer') {
      if (line === '') return this.endTrailers();
      if (this.trailerLines.length >= MAX_TRAILERS) throw malformed('too many trailing headers');
      this.trailerLines.push(line);
    }
  }

  private startChunk(line: string): void {
    // (13 hex digits: sizes stay exact integers; an object is at most 5 GiB anyway.)
    const m = /^([0-9a-fA-F]{1,13})(?:;chunk-signature=([0-9a-f]{64}))?$/.exec(line);
    if (!m) throw malformed(`bad chunk header '${line.slice(0, 80)}'`);
    if (this.o.signed && m[2] === undefined) throw malformed('a chunk has no chunk-signature');
    this.left = parseInt(m[1]!, 16);
    // Refused at the chunk that overflows, not after up to 5 GiB were staged.
    if (this.o.decodedLength !== undefined && this.decoded + this.left > this.o.decodedLength) {
      throw malformed(`the chunks hold more bytes than x-amz-decoded-content-length (${this.o.decodedLength})`);
    }
    this.chunkSig = m[2] ?? '';
    this.chunkHash = this.o.signing ? createHash('sha256') : undefined;
    if (this.left > 0) {
      this.state = 'data';
      return;
    }
    this.lastChunk = true;
    this.verifyChunk(EMPTY_SHA256);
    this.state = this.o.trailer ? 'trailer' : 'done';
  }

  private endChunk(): void {
    this.verifyChunk(this.chunkHash?.digest('hex') ?? '');
    this.state = 'dataEnd';
  }

  private verifyChunk(hash: string): void {
    if (!this.o.signing || !this.o.signed) return;
    const expected = chunkSignature(this.o.signing, this.previous, hash);
    if (!sameSignature(expected, this.chunkSig)) throw badSignature();
    this.previous = expected;
  }

  private endTrailers(): void {
    let signature: string | undefined;
    const canonical: string[] = [];
    for (const line of this.trailerLines) {
      const colon = line.indexOf(':');
      if (colon <= 0) throw malformed(`bad trailing header '${line.slice(0, 80)}'`);
      const name = line.slice(0, colon).trim().toLowerCase();
      const value = line.slice(colon + 1).trim();
      if (name === 'x-amz-trailer-signature') signature = value;
      else {
        this.trailers[name] = value;
        canonical.push(`${name}:${value}\n`);
      }
    }
    if (this.o.signed && this.o.signing) {
      if (signature === undefined || !sameSignature(trailerSignature(this.o.signing, this.previous, canonical.join('')), signature)) throw badSignature();
    }
    this.state = 'done';
  }

  private finish(): void {
    // The SDK ends an unsigned body without trailers right after `0\r\n`; a trailer block may end without its empty line.
    if (this.state === 'trailer') {
      if (this.line !== '') this.trailerLines.push(this.line.replace(/\r$/, ''));
      this.line = '';
      this.endTrailers();
    }
    if (this.state !== 'done' || !this.lastChunk) throw new IncompleteBodyError(this.o.decodedLength ?? this.decoded + this.left, this.decoded);
    if (this.o.decodedLength !== undefined && this.decoded !== this.o.decodedLength) throw new IncompleteBodyError(this.o.decodedLength, this.decoded);
  }
}

// S3's headers in and out: what an object keeps (Content-Type and the other content headers,
// x-amz-meta-*), what a client says of its bytes (Content-MD5, x-amz-checksum-*, aws-chunked
// trailers), ranges and conditions; and an object's headers on GET and HEAD.
import { validateHeaderValue } from 'node:http';
import type { ChecksumAlgorithm, Checksums, ObjectRange } from '../../engine/engine.js';
import type { Conditions, Expected, ObjectEntry } from '../../objects/index.js';
import { InvalidDigestError } from '../../objects/errors.js';
import type { GatewayRequest } from '../request.js';
import { invalidArgument, notImplemented, S3Error } from './errors.js';

/** Content headers an object keeps and returns as they were sent. */
export const CONTENT_HEADERS = ['content-type', 'content-encoding', 'content-disposition', 'content-language', 'cache-control', 'expires'] as const;
/** S3's default Content-Type. */
export const DEFAULT_CONTENT_TYPE = 'binary/octet-stream';
/** User metadata (names and values of x-amz-meta-*) is at most 2 KB, as S3's. */
export const MAX_USER_METADATA_BYTES = 2048;

const ALGORITHMS: readonly ChecksumAlgorithm[] = ['crc32', 'crc32c', 'sha1', 'sha256'];
const DIGEST_BYTES: Record<ChecksumAlgorithm, number> = { crc32: 4, crc32c: 4, sha1: 20, sha256: 32 };

export const headerOf = (req: GatewayRequest, name: string): string | undefined => {
  const v = req.headers[name];
  return Array.isArray(v) ? v.join(',') : v;
};

/** The metadata a write keeps: content headers (aws-chunked dropped from Content-Encoding) and x-amz-meta-*. */
export function metadataOf(req: GatewayRequest): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of CONTENT_HEADERS) {
    const v = headerOf(req, name);
    if (v !== undefined) out[name] = v;
  }
  if (out['content-encoding'] !== undefined) {
    const rest = out['content-encoding'].split(',').map((s) => s.trim()).filter((s) => s && s.toLowerCase() !== 'aws-chunked');
    if (rest.length) out['content-encoding'] = rest.join(',');
    else delete out['content-encoding'];
  }
  let userBytes = 0;
  for (const [name, value] of Object.entries(req.headers)) {
    if (!name.startsWith('x-amz-meta-') || value === undefined) continue;
    const v = Array.isArray(value) ? value.join(',') : value;
    out[name] = v;
    userBytes += Buffer.byteLength(name.slice('x-amz-meta-'.length)) + Buffer.byteLength(v);
  }
  if (userBytes > MAX_USER_METADATA_BYTES) throw new S3Error('MetadataTooLarge', 'Your metadata headers exceed the maximum allowed metadata size.', 400, { Size: String(userBytes), MaxSizeAllowed: String(MAX_USER_METADATA_BYTES) });
  return out;
}

function digest(value: string, bytes: number, header: string): Buffer {
  const b = Buffer.from(value.trim(), 'base64');
  if (b.length !== bytes || b.toString('base64') !== value.trim()) throw new InvalidDigestError(header);
  return b;
}

/** What a write request says of its body: which checksums to compute, and the values to expect (headers now, trailers at the end). */
export function digestsOf(req: GatewayRequest, trailers: Record<string, string>): { checksums: ChecksumAlgorithm[]; expected: Expected } {
  const md5 = headerOf(req, 'content-md5');
  const given: Checksums = {};
  for (const a of ALGORITHMS) {
    const v = headerOf(req, `x-amz-checksum-${a}`);
    if (v !== undefined) given[a] = digest(v, DIGEST_BYTES[a], `x-amz-checksum-${a}`).toString('base64');
  }
  if (headerOf(req, 'x-amz-checksum-crc64nvme') !== undefined) throw notImplemented('x-amz-checksum-crc64nvme');
  const trailing = (headerOf(req, 'x-amz-trailer') ?? '').split(',').map((s) => s.trim().toLowerCase()).filter(Boolean);
  const fromTrailer: ChecksumAlgorithm[] = [];
  for (const t of trailing) {
    const a = t.replace(/^x-amz-checksum-/, '') as ChecksumAlgorithm;
    if (!t.startsWith('x-amz-checksum-') || !ALGORITHMS.includes(a)) throw notImplemented(`x-amz-trailer: ${t}`);
    fromTrailer.push(a);
  }
  const asked = (headerOf(req, 'x-amz-sdk-checksum-algorithm') ?? headerOf(req, 'x-amz-checksum-algorithm'))?.toLowerCase() as ChecksumAlgorithm | undefined;
  if (asked !== undefined && !ALGORITHMS.includes(asked)) {
    if (asked === ('crc64nvme' as ChecksumAlgorithm)) throw notImplemented('checksum algorithm CRC64NVME');
    throw invalidArgument('Checksum algorithm provided is unsupported. Please try again with any of the valid types: [CRC32, CRC32C, SHA1, SHA256]', 'x-amz-sdk-checksum-algorithm', asked);
  }
  const checksums = [...new Set([...(Object.keys(given) as ChecksumAlgorithm[]), ...fromTrailer, ...(asked ? [asked] : [])])];
  const expected: Expected = {
    ...(md5 !== undefined ? { md5: digest(md5, 16, 'content-md5').toString('hex') } : {}),
    checksums: () => {
      const all: Checksums = { ...given };
      for (const a of fromTrailer) {
        const v = trailers[`x-amz-checksum-${a}`];
        if (v === undefined) throw new S3Error('InvalidRequest', `The trailing header x-amz-checksum-${a} was declared in x-amz-trailer but not sent`, 400);
        all[a] = digest(v, DIGEST_BYTES[a], `x-amz-checksum-${a}`).toString('base64');
      }
      return all;
    },
  };
  return { checksums, expected };
}

/**
 * A Range header as a range, or undefined to send the whole object (absent, several ranges, not
 * bytes, or a last byte before the first: ignored, as S3). Positions past any object's size (more
 * than 2^53 - 1) are clamped to Number.MAX_SAFE_INTEGER, so they stay exact and mean what they say:
 * a first byte past the end (InvalidRange), a last byte or a suffix past it (up to the end).
 */
export function rangeOf(value: string | undefined): ObjectRange | undefined {
  if (value === undefined) return undefined;
  const m = /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/i.exec(value);
  if (!m || (m[1] === '' && m[2] === '')) return undefined;
  if (m[1] === '') return { suffix: position(m[2]!) };
  if (m[2] !== '' && BigInt(m[2]!) < BigInt(m[1]!)) return undefined;
  const start = position(m[1]!);
  return m[2] === '' ? { start } : { start, end: position(m[2]!) };
}

const position = (digits: string): number => (BigInt(digits) > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(digits));

const httpDate = (v: string | undefined) => {
  if (v === undefined) return undefined;
  const t = Date.parse(v);
  return Number.isNaN(t) ? undefined : t;
};

/** The conditions of a GET or HEAD (or, with `x-amz-copy-source-`, of a copy's source). */
export function conditionsOf(req: GatewayRequest, prefix = ''): Conditions | undefined {
  const c: Conditions = {};
  const ifMatch = headerOf(req, `${prefix}if-match`);
  const ifNoneMatch = headerOf(req, `${prefix}if-none-match`);
  const ifModifiedSince = httpDate(headerOf(req, `${prefix}if-modified-since`));
  const ifUnmodifiedSince = httpDate(headerOf(req, `${prefix}if-unmodified-since`));
  if (ifMatch !== undefined) c.ifMatch = ifMatch;
  if (ifNoneMatch !== undefined) c.ifNoneMatch = ifNoneMatch;
  if (ifModifiedSince !== undefined) c.ifModifiedSince = ifModifiedSince;
  if (ifUnmodifiedSince !== undefined) c.ifUnmodifiedSince = ifUnmodifiedSince;
  return Object.keys(c).length ? c : undefined;
}

/** Response-header overrides a GET may ask for (presigned URLs use them). */
const OVERRIDES: Record<string, string> = {
  'response-content-type': 'content-type',
  'response-content-language': 'content-language',
  'response-expires': 'expires',
  'response-cache-control': 'cache-control',
  'response-content-disposition': 'content-disposition',
  'response-content-encoding': 'content-encoding',
};

/**
 * The headers a GET or HEAD asks to be answered with (?response-content-type=… and the others),
 * checked before the object is opened: a value HTTP cannot carry is S3's 400 InvalidArgument.
 */
export function overridesOf(query: URLSearchParams): Record<string, string> {
  const h: Record<string, string> = {};
  for (const [param, name] of Object.entries(OVERRIDES)) {
    const v = query.get(param);
    if (v === null) continue;
    try {
      validateHeaderValue(name, v); // Node's own check, the one writeHead would fail on
    } catch {
      throw invalidArgument(/[^\u0000-\u00ff]/.test(v) ? 'Header value cannot be represented using ISO-8859-1.' : 'Header value cannot hold control characters.', param, v);
    }
    h[name] = v;
  }
  return h;
}

/** An object's headers on GET and HEAD; checksums only when asked (x-amz-checksum-mode: ENABLED) and the whole object is sent. */
export function objectHeaders(entry: ObjectEntry, o: { checksums: boolean; overrides: Record<string, string> }): Record<string, string> {
  const h: Record<string, string> = {
    etag: `"${entry.etag}"`,
    'last-modified': new Date(entry.modified).toUTCString(),
    'accept-ranges': 'bytes',
    'content-type': entry.metadata['content-type'] ?? DEFAULT_CONTENT_TYPE,
  };
  for (const [name, value] of Object.entries(entry.metadata)) h[name] = value;
  Object.assign(h, o.overrides);
  if (o.checksums) {
    for (const [a, v] of Object.entries(entry.checksums)) {
      h[`x-amz-checksum-${a}`] = v;
      h['x-amz-checksum-type'] = v.includes('-') ? 'COMPOSITE' : 'FULL_OBJECT';
    }
  }
  return h;
}

/** Checksum headers of a write's answer (what was computed, in x-amz-checksum-* form). */
export function checksumHeaders(checksums: Checksums): Record<string, string> {
  const h: Record<string, string> = {};
  for (const [a, v] of Object.entries(checksums)) h[`x-amz-checksum-${a}`] = v;
  return h;
}

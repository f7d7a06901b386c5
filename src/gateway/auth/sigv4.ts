// Verifies AWS Signature Version 4: the Authorization header (Kinesis, Lambda, S3) and, for S3,
// presigned query strings and the signatures of aws-chunked uploads' chunks and trailers. Signing
// libraries decide themselves which headers to sign; a verifier must instead rebuild the canonical
// request from exactly the headers the client listed in SignedHeaders, so this follows the SigV4
// specification directly.
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { OPEN_PRINCIPAL as OPEN, type Principal } from './scopes.js';

export const MAX_CLOCK_SKEW_MS = 15 * 60 * 1000; // AWS accepts signatures within 15 minutes
export const MAX_PRESIGNED_EXPIRES_S = 7 * 24 * 3600; // a presigned URL lives at most 7 days, as S3's
export const UNSIGNED_PAYLOAD = 'UNSIGNED-PAYLOAD';
export const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

/** Why a signature is refused; `code` is the Kinesis/Lambda name, `reason` lets S3 choose its own. */
export type SigV4Failure =
  | { code: 'MissingAuthenticationTokenException'; message: string; reason: 'missing' }
  | { code: 'IncompleteSignatureException'; message: string; reason: 'malformed' | 'wrongService' }
  | { code: 'UnrecognizedClientException'; message: string; reason: 'unknownKey' }
  | { code: 'InvalidSignatureException'; message: string; reason: 'badSignature' | 'skewed' | 'expired' | 'notYetValid' };

export interface SignedRequest {
  method: string;
  /** Path and query as received, e.g. '/?a=b'. */
  url: string;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** What a verified S3 request's signature leaves to check later: the payload's hash, chunk and trailer signatures. */
export interface SigningContext {
  principal: Principal;
  /** The payload hash the signature covers: a hex SHA-256, UNSIGNED-PAYLOAD or a STREAMING-… form. */
  payload: string;
  presigned: boolean;
  /** The derived signing key, the request time and credential scope, and the seed signature: what chunk signatures chain from. */
  key: Buffer;
  amzDate: string;
  scope: string;
  signature: string;
}

const AUTH = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, ?SignedHeaders=([a-z0-9;:-]+), ?Signature=([0-9a-f]{64})$/;
const CREDENTIAL = /^([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request$/;

const sha256 = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');
const hmac = (key: string | Buffer, data: string) => createHmac('sha256', key).update(data).digest();
const SIGNATURE_MISMATCH = 'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method.';

/**
 * The principal that signed a request to an AWS-shaped API of the gateway (Kinesis, Lambda). An
 * open gateway accepts any signature, except one made with a function's own key pair: that holds
 * (a function acts within its permissions even under `sluice dev`).
 */
export function verifyRequest(gw: { open: boolean; accessKeys: ReadonlyMap<string, Principal>; clock: { now(): number }; isAdded(id: string | undefined): boolean }, req: { method?: string; url?: string; headers: SignedRequest['headers'] }, body: Buffer, service: string): Principal | SigV4Failure {
  if (gw.open) {
    const auth = req.headers['authorization'];
    const accessKey = typeof auth === 'string' ? /Credential=([^/]+)\//.exec(auth)?.[1] : undefined;
    const signer = accessKey === undefined ? undefined : gw.accessKeys.get(accessKey);
    if (!signer || !gw.isAdded(signer.id)) return OPEN;
  }
  return verifySigV4({ method: req.method ?? 'POST', url: req.url ?? '/', headers: req.headers, body }, gw.accessKeys, gw.clock.now(), service);
}

/**
 * Returns the principal whose key signed the request, or why the signature is not accepted. The
 * payload hash is the body's own, whatever x-amz-content-sha256 says (a JSON API signs its body:
 * taking the header's word let a captured signature carry any body of the same length, and
 * UNSIGNED-PAYLOAD any body at all); the scope must name the API's service.
 */
export function verifySigV4(req: SignedRequest, byAccessKey: ReadonlyMap<string, Principal>, now: number, service: string): Principal | SigV4Failure {
  const parsed = parseAuthorization(req);
  if ('reason' in parsed) return parsed;
  if (parsed.service !== service) return { code: 'InvalidSignatureException', message: `Credential should be scoped to correct service: '${service}'.`, reason: 'badSignature' };
  const payload = sha256(req.body);
  const result = check(req, parsed, canonicalQuery(queryOf(req.url)), payload, byAccessKey, now);
  return 'reason' in result ? result : result.principal;
}

/** Whether a request carries an S3 signature at all: the Authorization header or presigned query parameters. */
export function isSigned(req: { url?: string; headers: SignedRequest['headers'] }): boolean {
  return typeof req.headers['authorization'] === 'string' || /[?&]X-Amz-Signature=/i.test(req.url ?? '');
}

/** The access key id a request was signed with (header or query), before any check. */
export function accessKeyOf(req: { url?: string; headers: SignedRequest['headers'] }): string | undefined {
  const auth = req.headers['authorization'];
  if (typeof auth === 'string') return /Credential=([^/]+)\//.exec(auth)?.[1];
  const credential = new URLSearchParams(queryOf(req.url ?? '')).get('X-Amz-Credential');
  return credential?.split('/')[0];
}

/**
 * Verifies an S3 request's signature, in the Authorization header or presigned in the query string
 * (X-Amz-Algorithm, -Credential, -Date, -Expires, -SignedHeaders, -Signature). The payload is not
 * read: the context says what its hash must be, and how to check chunk signatures.
 */
export function verifyS3(req: { method: string; url: string; headers: SignedRequest['headers'] }, byAccessKey: ReadonlyMap<string, Principal>, now: number): SigningContext | SigV4Failure {
  const signed = { ...req, body: Buffer.alloc(0) };
  const query = queryOf(req.url);
  if (typeof req.headers['authorization'] === 'string') {
    const parsed = parseAuthorization(signed);
    if ('reason' in parsed) return parsed;
    const payload = header(signed, 'x-amz-content-sha256');
    if (payload === undefined) return malformed('Missing required header for this request: x-amz-content-sha256');
    const result = check(signed, parsed, canonicalQuery(query), payload, byAccessKey, now);
    return 'reason' in result ? result : { ...result, payload, presigned: false };
  }
  const parsed = parsePresigned(query, now);
  if ('reason' in parsed) return parsed;
  const payload = new URLSearchParams(query).get('X-Amz-Content-Sha256') ?? UNSIGNED_PAYLOAD;
  const result = check(signed, parsed, canonicalQuery(query, 'X-Amz-Signature'), payload, byAccessKey, undefined);
  return 'reason' in result ? result : { ...result, payload, presigned: true };
}

/** The signature of one aws-chunked chunk (STREAMING-AWS4-HMAC-SHA256-PAYLOAD), chained from the previous one. */
export function chunkSignature(ctx: Pick<SigningContext, 'key' | 'amzDate' | 'scope'>, previous: string, chunkSha256: string): string {
  return createHmac('sha256', ctx.key).update(`AWS4-HMAC-SHA256-PAYLOAD\n${ctx.amzDate}\n${ctx.scope}\n${previous}\n${EMPTY_SHA256}\n${chunkSha256}`).digest('hex');
}

/** The signature of an aws-chunked upload's trailing headers, given as `name:value\n` lines. */
export function trailerSignature(ctx: Pick<SigningContext, 'key' | 'amzDate' | 'scope'>, previous: string, trailer: string): string {
  return createHmac('sha256', ctx.key).update(`AWS4-HMAC-SHA256-TRAILER\n${ctx.amzDate}\n${ctx.scope}\n${previous}\n${sha256(trailer)}`).digest('hex');
}

/** Compares two hex signatures in constant time. */
export function sameSignature(a: string, b: string): boolean {
  return a.length === b.length && /^[0-9a-f]*$/.test(b) && timingSafeEqual(Buffer.from(a, 'hex'), Buffer.from(b, 'hex'));
}

interface Parsed {
  accessKeyId: string;
  date: string;
  region: string;
  service: string;
  signedHeaders: string;
  signature: string;
  amzDate: string;
}

const malformed = (message: string): SigV4Failure => ({ code: 'IncompleteSignatureException', message, reason: 'malformed' });

function parseAuthorization(req: SignedRequest): Parsed | SigV4Failure {
  const auth = req.headers['authorization'];
  if (typeof auth !== 'string') return { code: 'MissingAuthenticationTokenException', message: 'Missing Authentication Token', reason: 'missing' };
  const m = AUTH.exec(auth.trim());
  if (!m) return malformed('Authorization header requires Credential, SignedHeaders and Signature (AWS4-HMAC-SHA256)');
  const [, accessKeyId, date, region, service, signedHeaders, signature] = m as unknown as string[];
  const amzDate = header(req, 'x-amz-date') ?? '';
  return { accessKeyId: accessKeyId!, date: date!, region: region!, service: service!, signedHeaders: signedHeaders!, signature: signature!, amzDate };
}

function parsePresigned(query: string, now: number): Parsed | SigV4Failure {
  const q = new URLSearchParams(query);
  const get = (name: string) => q.get(name) ?? undefined;
  if (get('X-Amz-Algorithm') !== 'AWS4-HMAC-SHA256') return malformed('X-Amz-Algorithm only supports "AWS4-HMAC-SHA256"');
  const credential = CREDENTIAL.exec(get('X-Amz-Credential') ?? '');
  const [amzDate, signedHeaders, signature, expires] = ['X-Amz-Date', 'X-Amz-SignedHeaders', 'X-Amz-Signature', 'X-Amz-Expires'].map(get);
  if (!credential || !amzDate || !signedHeaders || !signature || !expires) {
    return malformed('Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters.');
  }
  const seconds = Number(expires);
  if (!Number.isInteger(seconds) || seconds < 0) return malformed('X-Amz-Expires should be a number');
  if (seconds > MAX_PRESIGNED_EXPIRES_S) return malformed('X-Amz-Expires must be less than a week (in seconds) that is 604800');
  if (!/^[0-9a-f]{64}$/.test(signature) || !/^[a-z0-9;:-]+$/.test(signedHeaders)) return malformed('X-Amz-Signature or X-Amz-SignedHeaders is malformed');
  const signedAt = parseAmzDate(amzDate);
  if (signedAt === undefined) return malformed(`X-Amz-Date must be in the ISO8601 Long Format "yyyyMMdd'T'HHmmss'Z'"`);
  if (signedAt - now > MAX_CLOCK_SKEW_MS) return { code: 'InvalidSignatureException', message: 'Request is not valid yet', reason: 'notYetValid' };
  if (now > signedAt + seconds * 1000) return { code: 'InvalidSignatureException', message: 'Request has expired', reason: 'expired' };
  const [, accessKeyId, date, region, service] = credential as unknown as string[];
  return { accessKeyId: accessKeyId!, date: date!, region: region!, service: service!, signedHeaders, signature, amzDate };
}

/** Checks a parsed signature; `now` undefined skips the skew check (presigned URLs are checked against their expiry). */
function check(req: SignedRequest, p: Parsed, query: string, payload: string, byAccessKey: ReadonlyMap<string, Principal>, now: number | undefined): { principal: Principal; key: Buffer; amzDate: string; scope: string; signature: string } | SigV4Failure {
  const principal = byAccessKey.get(p.accessKeyId);
  if (!principal?.secretAccessKey) return { code: 'UnrecognizedClientException', message: 'The security token included in the request is invalid.', reason: 'unknownKey' };
  const signedAt = parseAmzDate(p.amzDate);
  if (signedAt === undefined || !p.amzDate.startsWith(p.date)) return malformed('x-amz-date is missing or does not match the credential scope date');
  if (now !== undefined && Math.abs(now - signedAt) > MAX_CLOCK_SKEW_MS) {
    return { code: 'InvalidSignatureException', message: `Signature expired: ${p.amzDate} is more than 15 minutes from the server time`, reason: 'skewed' };
  }
  const names = p.signedHeaders.split(';');
  // Over HTTP/2 the AWS SDK signs the ':authority' pseudo-header in place of 'host'.
  if (!names.includes('host') && !names.includes(':authority')) return malformed("SignedHeaders must include 'host'");
  const canonical = canonicalRequest(req, names, p.signedHeaders, query, payload);
  if (canonical === undefined) return malformed('the request path is not valid percent-encoding');
  const scope = `${p.date}/${p.region}/${p.service}/aws4_request`;
  const toSign = `AWS4-HMAC-SHA256\n${p.amzDate}\n${scope}\n${sha256(canonical)}`;
  const key = hmac(hmac(hmac(hmac('AWS4' + principal.secretAccessKey, p.date), p.region), p.service), 'aws4_request');
  const expected = createHmac('sha256', key).update(toSign).digest('hex');
  if (!sameSignature(expected, p.signature)) return { code: 'InvalidSignatureException', message: SIGNATURE_MISMATCH, reason: 'badSignature' };
  return { principal, key, amzDate: p.amzDate, scope, signature: p.signature };
}

function canonicalRequest(req: SignedRequest, names: string[], signedHeaders: string, query: string, payload: string): string | undefined {
  const q = req.url.indexOf('?');
  const path = canonicalPath(q < 0 ? req.url : req.url.slice(0, q));
  if (path === undefined) return undefined;
  const headers = names.map((n) => `${n}:${(header(req, n) ?? '').trim().replace(/\s+/g, ' ')}\n`).join('');
  return [req.method, path, query, headers, signedHeaders, payload].join('\n');
}

function header(req: Pick<SignedRequest, 'headers'>, name: string): string | undefined {
  const v = req.headers[name] ?? (name === 'host' ? req.headers[':authority'] : undefined);
  return Array.isArray(v) ? v.join(',') : v;
}

const queryOf = (url: string) => {
  const q = url.indexOf('?');
  return q < 0 ? '' : url.slice(q + 1);
};

const encode = (s: string) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());

const decode = (s: string) => {
  try {
    return decodeURIComponent(s);
  } catch {
    return undefined;
  }
};

/**
 * Each segment decoded and encoded once, as S3 signs it (the path is neither normalised nor
 * encoded twice: '..' and '%2F' in a key stay what they are). The Kinesis and Lambda paths have
 * nothing to encode, so the same rule serves them.
 */
function canonicalPath(path: string): string | undefined {
  const segments = path.split('/').map(decode);
  if (segments.some((s) => s === undefined)) return undefined;
  return segments.map((s) => encode(s!)).join('/') || '/';
}

function canonicalQuery(query: string, without?: string): string {
  if (!query) return '';
  const pairs: (readonly [string, string])[] = [];
  for (const p of query.split('&')) {
    if (!p) continue;
    const i = p.indexOf('=');
    const k = decode(i < 0 ? p : p.slice(0, i)) ?? p;
    if (k === without) continue;
    const v = i < 0 ? '' : (decode(p.slice(i + 1)) ?? p.slice(i + 1));
    pairs.push([encode(k), encode(v)]);
  }
  pairs.sort((a, b) => (a[0] === b[0] ? (a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0) : a[0] < b[0] ? -1 : 1));
  return pairs.map(([k, v]) => `${k}=${v}`).join('&');
}

function parseAmzDate(s: string): number | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(s);
  return m ? Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!) : undefined;
}

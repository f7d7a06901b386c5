// Verifies AWS Signature Version 4 on Kinesis requests. Signing libraries decide themselves which
// headers to sign; a verifier must instead rebuild the canonical request from exactly the headers
// the client listed in SignedHeaders, so this follows the SigV4 specification directly.
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { OPEN_PRINCIPAL as OPEN, type Principal } from './scopes.js';

export const MAX_CLOCK_SKEW_MS = 15 * 60 * 1000; // AWS accepts signatures within 15 minutes

export type SigV4Failure =
  | { code: 'MissingAuthenticationTokenException'; message: string }
  | { code: 'IncompleteSignatureException'; message: string }
  | { code: 'UnrecognizedClientException'; message: string }
  | { code: 'InvalidSignatureException'; message: string };

export interface SignedRequest {
  method: string;
  /** Path and query as received, e.g. '/?a=b'. */
  url: string;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

const AUTH = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, ?SignedHeaders=([a-z0-9;:-]+), ?Signature=([0-9a-f]{64})$/;

const sha256 = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');
const hmac = (key: string | Buffer, data: string) => createHmac('sha256', key).update(data).digest();

/**
 * The principal that signed a request to an AWS-shaped API of the gateway (Kinesis, Lambda). An
 * open gateway accepts any signature, except one made with a function's own key pair: that holds
 * (a function acts within its permissions even under `sluice dev`).
 */
export function verifyRequest(gw: { open: boolean; accessKeys: ReadonlyMap<string, Principal>; clock: { now(): number }; isAdded(id: string | undefined): boolean }, req: { method?: string; url?: string; headers: SignedRequest['headers'] }, body: Buffer): Principal | SigV4Failure {
  if (gw.open) {
    const auth = req.headers['authorization'];
    const accessKey = typeof auth === 'string' ? /Credential=([^/]+)\//.exec(auth)?.[1] : undefined;
    const signer = accessKey === undefined ? undefined : gw.accessKeys.get(accessKey);
    if (!signer || !gw.isAdded(signer.id)) return OPEN;
  }
  return verifySigV4({ method: req.method ?? 'POST', url: req.url ?? '/', headers: req.headers, body }, gw.accessKeys, gw.clock.now());
}

/** Returns the principal whose key signed the request, or why the signature is not accepted. */
export function verifySigV4(
  req: SignedRequest,
  byAccessKey: ReadonlyMap<string, Principal>,
  now: number,
): Principal | SigV4Failure {
  const auth = req.headers['authorization'];
  if (typeof auth !== 'string') return { code: 'MissingAuthenticationTokenException', message: 'Missing Authentication Token' };
  const m = AUTH.exec(auth.trim());
  if (!m) return { code: 'IncompleteSignatureException', message: 'Authorization header requires Credential, SignedHeaders and Signature (AWS4-HMAC-SHA256)' };
  const [, accessKeyId, date, region, service, signedHeaders, signature] = m as unknown as string[];
  const principal = byAccessKey.get(accessKeyId!);
  if (!principal?.secretAccessKey) return { code: 'UnrecognizedClientException', message: 'The security token included in the request is invalid.' };
  const amzDate = header(req, 'x-amz-date');
  const signedAt = amzDate ? parseAmzDate(amzDate) : undefined;
  if (signedAt === undefined || !amzDate!.startsWith(date!)) {
    return { code: 'IncompleteSignatureException', message: 'x-amz-date is missing or does not match the credential scope date' };
  }
  if (Math.abs(now - signedAt) > MAX_CLOCK_SKEW_MS) {
    return { code: 'InvalidSignatureException', message: `Signature expired: ${amzDate} is more than 15 minutes from the server time` };
  }
  const names = signedHeaders!.split(';');
  // Over HTTP/2 the AWS SDK signs the ':authority' pseudo-header in place of 'host'.
  if (!names.includes('host') && !names.includes(':authority')) {
    return { code: 'IncompleteSignatureException', message: "SignedHeaders must include 'host'" };
  }
  const canonical = canonicalRequest(req, names, signedHeaders!);
  const scope = `${date}/${region}/${service}/aws4_request`;
  const toSign = `AWS4-HMAC-SHA256\n${amzDate}\n${scope}\n${sha256(canonical)}`;
  const key = hmac(hmac(hmac(hmac('AWS4' + principal.secretAccessKey, date!), region!), service!), 'aws4_request');
  const expected = createHmac('sha256', key).update(toSign).digest();
  if (!timingSafeEqual(expected, Buffer.from(signature!, 'hex'))) {
    return {
      code: 'InvalidSignatureException',
      message: 'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method.',
    };
  }
  return principal;
}

function canonicalRequest(req: SignedRequest, names: string[], signedHeaders: string): string {
  const q = req.url.indexOf('?');
  const path = q < 0 ? req.url : req.url.slice(0, q);
  const query = q < 0 ? '' : req.url.slice(q + 1);
  const headers = names.map((n) => `${n}:${(header(req, n) ?? '').trim().replace(/\s+/g, ' ')}\n`).join('');
  const payload = header(req, 'x-amz-content-sha256') ?? sha256(req.body);
  return [req.method, canonicalPath(path), canonicalQuery(query), headers, signedHeaders, payload].join('\n');
}

function header(req: SignedRequest, name: string): string | undefined {
  const v = req.headers[name] ?? (name === 'host' ? req.headers[':authority'] : undefined);
  return Array.isArray(v) ? v.join(',') : v;
}

const encode = (s: string) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());

function canonicalPath(path: string): string {
  return path.split('/').map((seg) => encode(decodeURIComponent(seg))).join('/') || '/';
}

function canonicalQuery(query: string): string {
  if (!query) return '';
  const pairs = query.split('&').filter(Boolean).map((p) => {
    const i = p.indexOf('=');
    const k = decodeURIComponent(i < 0 ? p : p.slice(0, i));
    const v = i < 0 ? '' : decodeURIComponent(p.slice(i + 1));
    return [encode(k), encode(v)] as const;
  });
  pairs.sort((a, b) => (a[0] === b[0] ? (a[1] < b[1] ? -1 : 1) : a[0] < b[0] ? -1 : 1));
  return pairs.map(([k, v]) => `${k}=${v}`).join('&');
}

function parseAmzDate(s: string): number | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(s);
  return m ? Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!) : undefined;
}

// Webhook signatures, Stripe's scheme: the header `Sluice-Signature: t=<unix seconds>,v1=<hex>`
// where hex is HMAC-SHA256(secret, "<t>.<body>"). The timestamp is inside the signed text, so a
// receiver that refuses old timestamps (DEFAULT_SIGNATURE_TOLERANCE_S) also refuses replays of a
// captured request; a retry is signed again with its own time (its Idempotency-Key stays).
import { createHmac, timingSafeEqual } from 'node:crypto';
import { DEFAULT_SIGNATURE_TOLERANCE_S } from './options.js';

/** The signature header's value for `body` sent at `t` (unix seconds). */
export function signWebhook(secret: string, body: string, t: number): string {
  return `t=${t},v1=${createHmac('sha256', secret).update(`${t}.${body}`).digest('hex')}`;
}

/**
 * For receivers: whether `header` signs `body` under `secret` with a timestamp within
 * `toleranceS` (default 300 s) of `nowS`. Any of several `v1=` values may match (secret rotation).
 * @example verifyWebhookSignature(secret, req.headers['sluice-signature'], rawBody)
 */
export function verifyWebhookSignature(secret: string, header: string | undefined, body: string, o: { nowS?: number; toleranceS?: number } = {}): boolean {
  if (!header) return false;
  const parts = header.split(',').map((p) => p.trim().split('=') as [string, string]);
  const t = Number(parts.find(([k]) => k === 't')?.[1]);
  if (!Number.isInteger(t)) return false;
  const now = o.nowS ?? Math.floor(Date.now() / 1000);
  if (Math.abs(now - t) > (o.toleranceS ?? DEFAULT_SIGNATURE_TOLERANCE_S)) return false;
  const want = Buffer.from(createHmac('sha256', secret).update(`${t}.${body}`).digest('hex'));
  return parts.some(([k, v]) => k === 'v1' && v !== undefined && v.length === want.length && timingSafeEqual(Buffer.from(v), want));
}

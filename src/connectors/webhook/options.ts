// Options of the webhook sink: defaults in named constants, merged and checked once.
import { InvalidArgumentError } from '../../engine/errors.js';
import type { DependencyOptions } from '../../resilience/index.js';

/** Records per POST. */
export const DEFAULT_WEBHOOK_BATCH_SIZE = 500;
/** Per-attempt deadline of one POST (connect, send, and the whole answer). */
export const DEFAULT_WEBHOOK_TIMEOUT_MS = 10_000;
/** Attempts of one POST before the unit gives up on it for now (and tries again after its pause). */
export const DEFAULT_WEBHOOK_ATTEMPTS = 5;
/** The signature header (Stripe's scheme: `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`). */
export const DEFAULT_SIGNATURE_HEADER = 'Sluice-Signature';
/** What a receiver should accept between the signature's timestamp and its clock. */
export const DEFAULT_SIGNATURE_TOLERANCE_S = 300;

export interface WebhookSinkOptions {
  /** Where batches are POSTed (http or https). Required. */
  url: string;
  /** Headers sent with every POST (an `Authorization`, say). Default none. */
  headers?: Record<string, string>;
  /** Sign each POST's body with HMAC-SHA256 under `secret`, in `header` (default 'Sluice-Signature'). Default: unsigned. */
  signing?: { secret: string; header?: string };
  /** Records per POST: a batch read from the input is cut into POSTs of at most this many. Default 500. */
  batchSize?: number;
  /** The dependency's policies; unset parts keep their defaults. Default: 10 s timeout, 5 attempts. */
  policy?: Omit<DependencyOptions, 'clock' | 'sharedBudgets'>;
}

export type ResolvedWebhookOptions = Required<Omit<WebhookSinkOptions, 'signing' | 'policy'>> & Pick<WebhookSinkOptions, 'signing' | 'policy'>;

/** Headers a sink sets itself: configured ones may not replace them. */
const OWN_HEADERS = new Set(['content-type', 'content-length', 'idempotency-key', 'host', 'transfer-encoding']);

export function resolveWebhookOptions(o: WebhookSinkOptions): ResolvedWebhookOptions {
  const bad = (field: string, why: string) => new InvalidArgumentError(`webhook sink: ${field} ${why}`, field);
  let url: URL;
  try {
    url = new URL(o.url);
  } catch {
    throw bad('url', `must be a URL, got ${JSON.stringify(o.url)}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw bad('url', `must be http or https, got ${url.protocol}`);
  const batchSize = o.batchSize ?? DEFAULT_WEBHOOK_BATCH_SIZE;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw bad('batchSize', `must be an integer ≥ 1, got ${batchSize}`);
  for (const [name, value] of Object.entries(o.headers ?? {})) {
    if (OWN_HEADERS.has(name.toLowerCase())) throw bad(`headers.${name}`, 'is set by the sink');
    if (typeof value !== 'string') throw bad(`headers.${name}`, 'must be a string');
  }
  if (o.signing && (typeof o.signing.secret !== 'string' || o.signing.secret.length < 16)) throw bad('signing.secret', 'must be a string of at least 16 characters');
  return { url: o.url, headers: o.headers ?? {}, signing: o.signing, batchSize, policy: o.policy };
}

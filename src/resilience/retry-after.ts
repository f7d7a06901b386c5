// The retry-after hint an error may carry (a 429's Retry-After, an overloaded gateway's, an open
// circuit's): `retryAfterMs`, or `retryAfterS` as src/gateway/errors.ts carries it, on the error
// or along its `cause` chain; and the Retry-After header itself, as HTTP clients of Sluice read it.

const MAX_CAUSE_DEPTH = 8;

/** Milliseconds the error asks to wait before a retry, or undefined when it carries no hint. */
export function retryAfterMsOf(e: unknown): number | undefined {
  for (let depth = 0; typeof e === 'object' && e !== null && depth <= MAX_CAUSE_DEPTH; depth++) {
    const { retryAfterMs, retryAfterS, cause } = e as { retryAfterMs?: unknown; retryAfterS?: unknown; cause?: unknown };
    if (isDuration(retryAfterMs)) return retryAfterMs;
    if (isDuration(retryAfterS)) return retryAfterS * 1000;
    e = cause;
  }
  return undefined;
}

const isDuration = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v >= 0;

/** A Retry-After header (delay-seconds or an HTTP date) in ms from `now`; undefined when absent or unreadable. */
export function parseRetryAfter(v: string | null | undefined, now: number): number | undefined {
  const text = v?.trim();
  if (!text) return undefined;
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  if (!/[A-Za-z]{3}/.test(text)) return undefined; // an HTTP date names its day or month ('-1' and '1.5' parse as dates too)
  const t = Date.parse(text);
  return Number.isFinite(t) ? Math.max(0, t - now) : undefined;
}

// Durations in configuration and requests: a number of milliseconds, or text such as '500ms',
// '90s', '15m', '24h', '7d'.

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Milliseconds of a duration, or undefined when the text is not one. */
export function parseDuration(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) && v >= 0 ? Math.round(v) : undefined;
  if (typeof v !== 'string') return undefined;
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)\s*$/.exec(v);
  return m ? Math.round(Number(m[1]) * UNITS[m[2]!]!) : undefined;
}

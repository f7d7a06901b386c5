// Exponential backoff with full jitter: the n-th retry (from 0) waits random(0, min(cap, base·2^n)),
// so clients that failed together spread out instead of coming back together.

/** The delay before the retry numbered `retry` (0 for the first). */
export type Backoff = (retry: number) => number;

export interface FullJitterOptions {
  baseMs: number;
  capMs: number;
  /** A source of numbers in [0, 1). Default Math.random; tests give a fixed one. */
  random?: () => number;
}

/** The bound random(0, ·) draws under for the retry numbered `retry`: min(cap, base·2^retry). */
export const fullJitterBound = (baseMs: number, capMs: number, retry: number): number => Math.min(capMs, baseMs * 2 ** retry);

/** Full-jitter exponential backoff (AWS' "full jitter"). */
export function fullJitter({ baseMs, capMs, random = Math.random }: FullJitterOptions): Backoff {
  return (retry) => random() * fullJitterBound(baseMs, capMs, retry);
}

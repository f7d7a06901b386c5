// The one interface every resilience policy implements, and wrap() to compose them.

/** A function run by a policy: it gets the signal it must honour (aborted by a timeout or by the caller). */
export type Operation<T> = (signal: AbortSignal) => T | PromiseLike<T>;

export interface Policy {
  /**
   * Runs `fn` under this policy. `signal` aborts the whole call: waits (backoff, queue) end at once
   * with the signal's reason, and `fn` receives a signal that aborts with it.
   */
  execute<T>(fn: Operation<T>, signal?: AbortSignal): Promise<T>;
}

/** A signal that never aborts, handed to functions whose caller gave none. */
export const neverAborted: AbortSignal = new AbortController().signal;

/**
 * Composes policies, the first outermost: `wrap(retry, breaker, timeout).execute(fn)` runs
 * `retry.execute(s => breaker.execute(s2 => timeout.execute(fn, s2), s), signal)`, so every
 * attempt of the retry passes the breaker and gets its own timeout.
 */
export function wrap(...policies: Policy[]): Policy {
  if (policies.length === 0) return { execute: async (fn, signal) => fn(signal ?? neverAborted) };
  const [outer, ...rest] = policies as [Policy, ...Policy[]];
  if (rest.length === 0) return outer;
  const inner = wrap(...rest);
  return { execute: (fn, signal) => outer.execute((s) => inner.execute(fn, s), signal) };
}

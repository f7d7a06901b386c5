// The mark a retry puts on the error it gives up with when a retry budget refused the next retry.
// The error itself is thrown unchanged (its class still says what failed); the mark says why it
// was not retried.

const exhausted = new WeakSet<object>();

/** Marks `e` (an object) as the last error of a call whose retry a budget refused. */
export function markBudgetExhausted(e: unknown): void {
  if (typeof e === 'object' && e !== null) exhausted.add(e);
}

/** True when `e` was thrown because a retry budget refused to retry it. */
export const isBudgetExhausted = (e: unknown): boolean => typeof e === 'object' && e !== null && exhausted.has(e);

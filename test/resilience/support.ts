// Helpers for the resilience tests: everything runs on a ManualClock, so "waiting" is letting
// promise callbacks run, never sleeping.
import { setImmediate } from 'node:timers/promises';

/** Lets every pending promise callback run (a macrotask turn drains the microtask queue). */
export async function flush(turns = 3): Promise<void> {
  for (let i = 0; i < turns; i++) await setImmediate();
}

/** A promise's state, read without waiting for it. */
export async function stateOf(p: Promise<unknown>): Promise<'pending' | 'resolved' | 'rejected'> {
  let state: 'pending' | 'resolved' | 'rejected' = 'pending';
  p.then(() => (state = 'resolved'), () => (state = 'rejected'));
  await flush();
  return state;
}

/** An error as a `pg` client raises it: a SQLSTATE in `code`. */
export const pgError = (code: string) => Object.assign(new Error(`pg ${code}`), { code, severity: 'ERROR' });

/** An error carrying an HTTP status. */
export const httpError = (status: number, field: 'status' | 'statusCode' = 'status') => Object.assign(new Error(`HTTP ${status}`), { [field]: status });

/** A retriable error, as a flaky dependency throws. */
export const transient = (message = 'connection reset') => Object.assign(new Error(message), { code: 'ECONNRESET' });

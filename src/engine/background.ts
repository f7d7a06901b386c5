// The engines' background work (checkpoints, retention timers, object recovery and sweeps) runs on
// timers with nobody to throw to: its failures are logged once while they last, not swallowed.
import { EngineClosedError } from './errors.js';
import type { FailureLog } from '../observe/log.js';

/** Runs background work, its failures logged once while they last (a closed engine's are not failures). */
export function background(log: FailureLog, work: () => void | Promise<unknown>): void {
  const failed = (e: unknown) => (e instanceof EngineClosedError ? undefined : log.failed(e));
  try {
    const r = work();
    if (r) void r.then(() => log.succeeded(), failed);
    else log.succeeded();
  } catch (e) {
    failed(e);
  }
}

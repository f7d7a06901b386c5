// The engine's housekeeping in a running Sluice: retention (records past their stream's retention,
// expired de-duplication ids) on an interval of the injected clock, on every engine. A failure is
// logged when retention starts failing and when it works again, not at every attempt.
import type { Clock } from '../clock.js';
import type { Logger } from '../observe/log.js';
import type { Engine } from './engine.js';

export const RETENTION_INTERVAL_MS = 60_000;

export interface MaintenanceOptions {
  clock: Clock;
  log: Logger;
  signal: AbortSignal;
  /** Default 1 minute. */
  intervalMs?: number;
}

/** Runs `engine.enforceRetention()` every interval until the signal aborts. Resolves when stopped. */
export async function maintainRetention(engine: Engine, o: MaintenanceOptions): Promise<void> {
  const interval = o.intervalMs ?? RETENTION_INTERVAL_MS;
  let failingSince: number | undefined;
  let failures = 0;
  while (!o.signal.aborted) {
    try {
      await o.clock.sleep(interval, o.signal);
    } catch {
      return; // stopped
    }
    try {
      await engine.enforceRetention({ signal: o.signal });
      if (failingSince !== undefined) o.log.info({ failures }, `retention works again after ${failures} failed run${failures === 1 ? '' : 's'}`);
      failingSince = undefined;
      failures = 0;
    } catch (e) {
      if (o.signal.aborted) return;
      failures++;
      if (failingSince === undefined) o.log.warn({ err: (e as Error).message }, `retention failed: ${(e as Error).message} (tried again every ${interval / 1000} s; logged again when it works)`);
      failingSince ??= o.clock.now();
    }
  }
}

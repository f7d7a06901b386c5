// One abort listener on a caller's signal however many of our waits hang on it. A signal given to
// many concurrent calls (a sink's shutdown signal) would otherwise collect one listener per queued
// call or backoff, and past 10 Node warns of a leak (MaxListenersExceededWarning).
import { neverAborted } from './policy.js';

/** Told when the signal it was added for aborts. */
export interface AbortHandler {
  aborted(): void;
}

interface Fan {
  readonly listener: () => void;
  readonly handlers: Set<AbortHandler>;
}

export class AbortFan {
  private readonly fans = new Map<AbortSignal, Fan>();

  /** Calls `handler.aborted()` once when `signal` aborts, unless removed first. */
  add(signal: AbortSignal, handler: AbortHandler): void {
    if (signal === neverAborted) return; // shared by every policy, and cannot abort
    let fan = this.fans.get(signal);
    if (!fan) {
      const handlers = new Set<AbortHandler>();
      const listener = () => {
        this.fans.delete(signal);
        for (const h of [...handlers]) h.aborted();
        handlers.clear();
      };
      fan = { listener, handlers };
      this.fans.set(signal, fan);
      signal.addEventListener('abort', listener, { once: true });
    }
    fan.handlers.add(handler);
  }

  remove(signal: AbortSignal, handler: AbortHandler): void {
    const fan = this.fans.get(signal);
    if (!fan || !fan.handlers.delete(handler) || fan.handlers.size > 0) return;
    signal.removeEventListener('abort', fan.listener);
    this.fans.delete(signal);
  }
}

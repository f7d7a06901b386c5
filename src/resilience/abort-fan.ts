// One abort listener on a caller's signal however many of our waits hang on it. A signal given to
// many concurrent calls (a sink's shutdown signal) would otherwise collect one listener per queued
// call or backoff, and past 10 Node warns of a leak (MaxListenersExceededWarning).
import { neverAborted } from './policy.js';

interface Fan {
  readonly listener: () => void;
  readonly handlers: Set<{ run: () => void }>;
}

export class AbortFan {
  private readonly fans = new Map<AbortSignal, Fan>();

  /** Runs `onAbort` once when `signal` aborts, unless the returned function is called first. */
  on(signal: AbortSignal, onAbort: () => void): () => void {
    if (signal === neverAborted) return () => {}; // shared by every policy, and cannot abort
    let fan = this.fans.get(signal);
    if (!fan) {
      const handlers = new Set<{ run: () => void }>();
      const listener = () => {
        this.fans.delete(signal);
        for (const h of [...handlers]) h.run();
      };
      fan = { listener, handlers };
      this.fans.set(signal, fan);
      signal.addEventListener('abort', listener, { once: true });
    }
    const handler = { run: onAbort };
    const { handlers, listener } = fan;
    handlers.add(handler);
    return () => {
      if (!handlers.delete(handler) || handlers.size > 0) return;
      signal.removeEventListener('abort', listener);
      if (this.fans.get(signal)?.handlers === handlers) this.fans.delete(signal);
    };
  }
}

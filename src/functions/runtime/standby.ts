// Standby threads: one pre-started worker thread per profile (memory limit; tsx or not) while any
// thread runtime is open, so a cold start skips Node's boot of a thread and tsx's registration —
// the pool takes the standby, sends it the function (module, environment), and another standby
// starts once that worker is ready. Standbys hold no function's code or environment, are counted
// in no pool, and do not keep the process alive.
import type { Worker } from 'node:worker_threads';

export interface ThreadProfile {
  memoryMB: number;
  ts: boolean;
}

const keyOf = (p: ThreadProfile) => `${p.memoryMB}/${p.ts ? 'ts' : 'js'}`;

export class Standby {
  private readonly threads = new Map<string, Worker>();
  private users = 0;

  constructor(private readonly boot: (p: ThreadProfile) => Worker) {}

  /** A runtime opened: standbys may be kept. */
  open(): void {
    this.users++;
  }

  /** A runtime closed: the last one ends the standbys. */
  close(): void {
    if (--this.users > 0) return;
    for (const w of this.threads.values()) void w.terminate();
    this.threads.clear();
  }

  /** The standby of this profile (booted, or still booting), if there is one. */
  take(p: ThreadProfile): Worker | undefined {
    const key = keyOf(p);
    const w = this.threads.get(key);
    if (!w) return undefined;
    this.threads.delete(key);
    w.ref();
    return w;
  }

  /** Starts a standby of this profile unless there is one. */
  prime(p: ThreadProfile): void {
    const key = keyOf(p);
    if (this.users === 0 || this.threads.has(key)) return;
    const w = this.boot(p);
    w.unref();
    w.once('exit', () => {
      if (this.threads.get(key) === w) this.threads.delete(key);
    });
    this.threads.set(key, w);
  }
}

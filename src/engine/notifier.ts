// Wakes readers waiting for new data in a partition, without busy polling: appends in this
// process notify directly; `poke()` (driven by a cheap cross-process change check) wakes all.

type Waiter = () => void;

export class Notifier {
  private readonly waiters = new Map<string, Set<Waiter>>();

  /** Resolves on the next notify() of this channel or poke(), or when the signal aborts. */
  wait(channel: string, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      if (signal?.aborted) return resolve();
      let set = this.waiters.get(channel);
      if (!set) this.waiters.set(channel, (set = new Set()));
      const done = () => {
        set!.delete(done);
        if (set!.size === 0) this.waiters.delete(channel);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      set.add(done);
      signal?.addEventListener('abort', done, { once: true });
    });
  }

  notify(channel: string): void {
    const set = this.waiters.get(channel);
    if (set) for (const w of [...set]) w();
  }

  /** Wakes every waiter (they re-check their condition). */
  poke(): void {
    for (const set of [...this.waiters.values()]) for (const w of [...set]) w();
  }

  get size(): number {
    return this.waiters.size;
  }
}

export const channelOf = (stream: string, partition: number): string => `${stream}\u0000${partition}`;

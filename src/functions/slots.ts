// A function's concurrency: synchronous callers take a slot or are throttled at once (Lambda's
// TooManyRequestsException); triggers (stream mappings, the async queue) wait for one.

export class Slots {
  private busy = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(readonly size: number) {}

  get inFlight(): number {
    return this.busy;
  }

  /** A slot now, or false when all are taken. */
  tryTake(): boolean {
    if (this.busy >= this.size) return false;
    this.busy++;
    return true;
  }

  /** Waits for a slot (in arrival order); rejects with the signal's reason when it aborts first. */
  take(signal?: AbortSignal): Promise<void> {
    if (this.tryTake()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const wake = () => {
        signal?.removeEventListener('abort', abort);
        this.busy++;
        resolve();
      };
      const abort = () => {
        const i = this.waiting.indexOf(wake);
        if (i >= 0) this.waiting.splice(i, 1);
        reject(signal!.reason);
      };
      if (signal?.aborted) return abort();
      signal?.addEventListener('abort', abort, { once: true });
      this.waiting.push(wake);
    });
  }

  give(): void {
    this.busy--;
    this.waiting.shift()?.();
  }
}

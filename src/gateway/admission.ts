// Overload control: request bodies in memory are bounded, and so is the queue in front of the
// engine. Past a bound the gateway refuses at once — OverShareError for a client over its fair
// share, OverloadedError for everyone else, each with the wait to retry after — instead of
// queueing without bound.
import { OverloadedError, OverShareError } from './errors.js';

export interface AdmissionOptions {
  maxInflightBytes: number;
  maxPendingAppends: number;
  retryAfterS: number;
}

export class Admission {
  private inflightBytes = 0;
  private readonly byClient = new Map<string, number>();
  private pending = 0;

  constructor(private readonly o: AdmissionOptions) {}

  /** Reserves `bytes` of body memory for a client; throws OverShareError / OverloadedError when the budget is spent. */
  reserve(client: string, bytes: number): void {
    if (this.inflightBytes + bytes > this.o.maxInflightBytes) {
      const held = this.byClient.get(client) ?? 0;
      const share = this.o.maxInflightBytes / Math.max(1, this.byClient.size);
      if (held + bytes > share) throw new OverShareError(client, this.o.retryAfterS);
      throw new OverloadedError('the gateway holds as many request bytes as it may; retry later', this.o.retryAfterS);
    }
    this.inflightBytes += bytes;
    this.byClient.set(client, (this.byClient.get(client) ?? 0) + bytes);
  }

  release(client: string, bytes: number): void {
    this.inflightBytes -= bytes;
    const left = (this.byClient.get(client) ?? 0) - bytes;
    if (left <= 0) this.byClient.delete(client);
    else this.byClient.set(client, left);
  }

  /** Takes a place in the queue in front of the engine; OverloadedError when the queue is full. */
  enterAppend(): () => void {
    if (this.pending >= this.o.maxPendingAppends) throw new OverloadedError('the engine is not keeping up; retry later', this.o.retryAfterS);
    this.pending++;
    let left = false;
    return () => {
      if (!left) this.pending--;
      left = true;
    };
  }

  get stats(): { inflightBytes: number; pendingAppends: number; clients: number } {
    return { inflightBytes: this.inflightBytes, pendingAppends: this.pending, clients: this.byClient.size };
  }
}

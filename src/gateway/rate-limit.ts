// Per-client token buckets in records per second, on the injected clock.
import type { Clock } from '../clock.js';
import { RateLimitedError, TooManyRecordsError } from './errors.js';
import type { RateLimit } from './options.js';

export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  private readonly burst: number;

  constructor(private readonly limit: RateLimit, private readonly clock: Clock) {
    this.burst = limit.burst ?? limit.recordsPerSecond;
  }

  /** Takes `records` tokens from the client's bucket, or throws RateLimitedError with the wait. */
  take(client: string, records: number): void {
    if (records > this.burst) {
      // Waiting would never help: the bucket never holds this many tokens.
      throw new TooManyRecordsError(`the request holds ${records} records, more than the rate limit's burst of ${this.burst}; send smaller requests`, this.burst);
    }
    const now = this.clock.now();
    const b = this.buckets.get(client) ?? { tokens: this.burst, at: now };
    b.tokens = Math.min(this.burst, b.tokens + ((now - b.at) / 1000) * this.limit.recordsPerSecond);
    b.at = now;
    this.buckets.set(client, b);
    if (records > b.tokens) {
      const waitS = Math.max(1, Math.ceil((records - b.tokens) / this.limit.recordsPerSecond));
      throw new RateLimitedError(client, this.limit.recordsPerSecond, waitS);
    }
    b.tokens -= records;
  }
}

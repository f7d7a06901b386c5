// The outcomes of the calls of the last `durationMs`, in ten buckets: a bucket's calls age out
// together once it is a whole window old.
import type { OutcomeWindow } from './window.js';

const BUCKETS = 10;

export class TimeWindow implements OutcomeWindow {
  private readonly bucketMs: number;
  private readonly bucketCalls = new Float64Array(BUCKETS);
  private readonly bucketFailures = new Float64Array(BUCKETS);
  private readonly bucketSlow = new Float64Array(BUCKETS);
  private bucket = 0;
  private epoch = -Infinity; // floor(now / bucketMs) of the current bucket
  calls = 0;
  failures = 0;
  slowCalls = 0;

  constructor(readonly durationMs: number) {
    this.bucketMs = durationMs / BUCKETS;
  }

  record(failed: boolean, slow: boolean, now: number): void {
    this.roll(now);
    const b = this.bucket;
    this.bucketCalls[b]!++;
    this.calls++;
    if (failed) {
      this.bucketFailures[b]!++;
      this.failures++;
    }
    if (slow) {
      this.bucketSlow[b]!++;
      this.slowCalls++;
    }
  }

  reset(): void {
    for (const a of [this.bucketCalls, this.bucketFailures, this.bucketSlow]) a.fill(0);
    this.calls = this.failures = this.slowCalls = 0;
  }

  /** Moves to the bucket of `now`, emptying those a whole window old. */
  private roll(now: number): void {
    const epoch = Math.floor(now / this.bucketMs);
    if (epoch <= this.epoch) return; // the same bucket (or the clock went back: keep writing it)
    const steps = Math.min(BUCKETS, epoch - this.epoch);
    for (let k = 0; k < steps; k++) {
      const b = (this.bucket = (this.bucket + 1) % BUCKETS);
      this.calls -= this.bucketCalls[b]!;
      this.failures -= this.bucketFailures[b]!;
      this.slowCalls -= this.bucketSlow[b]!;
      this.bucketCalls[b] = this.bucketFailures[b] = this.bucketSlow[b] = 0;
    }
    this.epoch = epoch;
  }
}

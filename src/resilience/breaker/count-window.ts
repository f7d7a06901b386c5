// The outcomes of the last `size` calls, in a ring.
import type { OutcomeWindow } from './window.js';

const FAILED = 1;
const SLOW = 2;

export class CountWindow implements OutcomeWindow {
  private readonly ring: Uint8Array;
  private next = 0;
  calls = 0;
  failures = 0;
  slowCalls = 0;

  constructor(readonly size: number) {
    this.ring = new Uint8Array(size);
  }

  record(failed: boolean, slow: boolean): void {
    if (this.calls === this.ring.length) this.forget(this.ring[this.next]!);
    else this.calls++;
    const outcome = (failed ? FAILED : 0) | (slow ? SLOW : 0);
    this.ring[this.next] = outcome;
    if (failed) this.failures++;
    if (slow) this.slowCalls++;
    this.next = (this.next + 1) % this.ring.length;
  }

  reset(): void {
    this.ring.fill(0);
    this.next = this.calls = this.failures = this.slowCalls = 0;
  }

  private forget(outcome: number): void {
    if (outcome & FAILED) this.failures--;
    if (outcome & SLOW) this.slowCalls--;
  }
}

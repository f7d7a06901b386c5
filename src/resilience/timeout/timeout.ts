// A deadline for each call, cooperative and enforced: the function gets a signal that aborts at
// the deadline (or with the caller's signal), and the caller is released at that moment with a
// TimeoutError (or the caller's abort reason) even if the function ignores its signal.
import { systemClock, type Clock } from '../../clock.js';
import { withDefaults } from '../../defaults.js';
import { InvalidArgumentError } from '../../engine/errors.js';
import { TimeoutError } from '../errors/timeout-error.js';
import { Emitter } from '../events.js';
import { neverAborted, type Operation, type Policy } from '../policy.js';
import { checkInteger } from '../validate.js';
import { Deadlines, type PendingCall } from './deadlines.js';

export const DEFAULT_TIMEOUT_MS = 10_000;
export const DEFAULT_TIMEOUT_RESOLUTION_MS = 10; // deadlines are rounded up to this (calls share timers)

export interface TimeoutOptions {
  /** A call is released this long after it started, at the latest. Default 10 s. */
  timeoutMs?: number;
  /**
   * Deadlines are rounded up to a multiple of this, so a call times out between timeoutMs and
   * timeoutMs + resolutionMs after it started, and calls share timers and signals. Default 10 ms
   * (at most timeoutMs).
   */
  resolutionMs?: number;
  /** Injected time. Default: the system clock. */
  clock?: Clock;
}

export interface TimeoutEvent {
  timeoutMs: number;
}

export class TimeoutPolicy implements Policy {
  private readonly timeoutEmitter = new Emitter<TimeoutEvent>();
  /** For each call released at its deadline. */
  readonly onTimeout = this.timeoutEmitter.on;
  readonly timeoutMs: number;
  private readonly deadlines: Deadlines;

  constructor(options: TimeoutOptions = {}) {
    const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const o = withDefaults({ timeoutMs, resolutionMs: Math.min(DEFAULT_TIMEOUT_RESOLUTION_MS, timeoutMs), clock: systemClock }, options);
    checkInteger('timeout', 'timeoutMs', o.timeoutMs);
    checkInteger('timeout', 'resolutionMs', o.resolutionMs);
    if (o.resolutionMs > o.timeoutMs) {
      throw new InvalidArgumentError(`timeout.resolutionMs (${o.resolutionMs}) must not exceed timeout.timeoutMs (${o.timeoutMs})`, 'resolutionMs');
    }
    this.timeoutMs = o.timeoutMs;
    this.deadlines = new Deadlines(
      o.clock,
      o.timeoutMs,
      o.resolutionMs,
      (count) => {
        for (let i = 0; i < count; i++) this.timeoutEmitter.emit({ timeoutMs: this.timeoutMs });
      },
      () => new TimeoutError(this.timeoutMs),
    );
  }

  execute<T>(fn: Operation<T>, signal: AbortSignal = neverAborted): Promise<T> {
    if (signal.aborted) return Promise.reject(signal.reason);
    const deadlines = this.deadlines;
    const slot = deadlines.slotFor(signal === neverAborted ? undefined : signal);
    // Inline arrows only: this path runs per call, and named closures cost more under tsx.
    return new Promise<T>((resolve, reject) => {
      const call: PendingCall = { reject };
      slot.pending.add(call);
      try {
        Promise.resolve(fn(slot.controller.signal)).then(
          (v) => deadlines.settle(slot, call) && resolve(v),
          (e) => deadlines.settle(slot, call) && reject(e),
        );
      } catch (e) {
        if (deadlines.settle(slot, call)) reject(e);
      }
    });
  }

  /**
   * Cancels the one timer this policy keeps (it outlives the last call by up to timeoutMs, which
   * holds a process open on the system clock). Call at shutdown; a later call starts it again.
   */
  dispose(): void {
    this.deadlines.dispose();
  }
}

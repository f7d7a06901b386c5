// The sliding window a circuit breaker judges by: the outcomes of the last N calls, or of the
// calls of the last T milliseconds. Implementations: count-window.ts, time-window.ts.

export interface OutcomeWindow {
  /** Adds one call's outcome, at clock time `now`. */
  record(failed: boolean, slow: boolean, now: number): void;
  /** Calls in the window (as of the last record). */
  readonly calls: number;
  readonly failures: number;
  readonly slowCalls: number;
  /** Forgets every outcome (the breaker changed state). */
  reset(): void;
}

export type WindowOptions =
  /** The last `size` calls. */
  | { kind: 'count'; size: number }
  /** The calls of the last `durationMs`, aged out in tenths of it. */
  | { kind: 'time'; durationMs: number };

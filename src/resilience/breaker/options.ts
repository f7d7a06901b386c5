// Options of the circuit breaker: defaults in named constants, merged once, then validated.
// Why these values: docs/decisions/016-resilience-policies.md.
import { systemClock, type Clock } from '../../clock.js';
import { withDefaults } from '../../defaults.js';
import { InvalidArgumentError } from '../../engine/errors.js';
import { isRetriableError } from '../classify.js';
import { checkInteger, checkRate } from '../validate.js';
import type { WindowOptions } from './window.js';

export const DEFAULT_BREAKER_FAILURE_RATE = 0.5; // resilience4j's
export const DEFAULT_BREAKER_SLOW_CALL_RATE = 0.8; // resilience4j: 1.0
export const DEFAULT_BREAKER_SLOW_CALL_MS = 5_000; // half the default timeout; resilience4j: 60 s
export const DEFAULT_BREAKER_WINDOW: WindowOptions = { kind: 'time', durationMs: 30_000 }; // resilience4j: the last 100 calls
export const DEFAULT_BREAKER_MINIMUM_CALLS = 20; // resilience4j: 100
export const DEFAULT_BREAKER_OPEN_MS = 10_000; // resilience4j: 60 s
export const DEFAULT_BREAKER_HALF_OPEN_CALLS = 5; // resilience4j: 10

export interface CircuitBreakerOptions {
  /** Named in BrokenCircuitError. Default 'dependency'. */
  name?: string;
  /** The circuit opens when at least this share of the window's calls failed, (0, 1]. Default 0.5. */
  failureRateThreshold?: number;
  /** ... or when at least this share of them were slow, (0, 1]. Default 0.8. */
  slowCallRateThreshold?: number;
  /** A call is slow when it takes at least this long (failed or not). Default 5 s. */
  slowCallDurationMs?: number;
  /** The window judged: `{ kind: 'count', size }` or `{ kind: 'time', durationMs }`. Default the last 30 s. */
  window?: WindowOptions;
  /** No judgment before the window holds this many calls. Default 20. */
  minimumCalls?: number;
  /** An open circuit refuses calls this long, then lets trial calls through (half-open). Default 10 s. */
  openMs?: number;
  /** Trial calls let through half-open; all must succeed (and not mostly be slow) to close. Default 5. */
  halfOpenCalls?: number;
  /** Which errors count as failures; others count as successes (the dependency answered). Aborts count as neither. Default isRetriableError. */
  isFailure?: (error: unknown) => boolean;
  /** Injected time. Default: the system clock. */
  clock?: Clock;
}

export type ResolvedBreakerOptions = Required<CircuitBreakerOptions>;

export function resolveBreakerOptions(options: CircuitBreakerOptions = {}): ResolvedBreakerOptions {
  const o = withDefaults({
    name: 'dependency',
    failureRateThreshold: DEFAULT_BREAKER_FAILURE_RATE,
    slowCallRateThreshold: DEFAULT_BREAKER_SLOW_CALL_RATE,
    slowCallDurationMs: DEFAULT_BREAKER_SLOW_CALL_MS,
    window: DEFAULT_BREAKER_WINDOW,
    minimumCalls: DEFAULT_BREAKER_MINIMUM_CALLS,
    openMs: DEFAULT_BREAKER_OPEN_MS,
    halfOpenCalls: DEFAULT_BREAKER_HALF_OPEN_CALLS,
    isFailure: isRetriableError,
    clock: systemClock,
  }, options);
  checkRate('breaker', 'failureRateThreshold', o.failureRateThreshold);
  checkRate('breaker', 'slowCallRateThreshold', o.slowCallRateThreshold);
  checkInteger('breaker', 'slowCallDurationMs', o.slowCallDurationMs);
  checkInteger('breaker', 'minimumCalls', o.minimumCalls);
  checkInteger('breaker', 'openMs', o.openMs);
  checkInteger('breaker', 'halfOpenCalls', o.halfOpenCalls);
  const w = o.window;
  if (w.kind === 'count') {
    checkInteger('breaker', 'window.size', w.size);
    if (o.minimumCalls > w.size) {
      throw new InvalidArgumentError(`breaker.minimumCalls (${o.minimumCalls}) must not exceed breaker.window.size (${w.size})`, 'minimumCalls');
    }
  } else if (w.kind === 'time') {
    checkInteger('breaker', 'window.durationMs', w.durationMs, 10);
  } else {
    throw new InvalidArgumentError(`breaker.window.kind must be 'count' or 'time', got ${(w as { kind: unknown }).kind}`, 'window');
  }
  return o;
}

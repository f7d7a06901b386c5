// A call refused by a circuit breaker without reaching the dependency.
import { SluiceError } from '../../errors.js';

/**
 * The circuit is open (or its half-open trials are all in flight): the call failed fast. Retriable
 * later, not at once: a retry policy gives up on it rather than wait for the circuit, and a caller
 * that queues work (a producer) can wait `retryAfterMs`.
 */
export class BrokenCircuitError extends SluiceError {
  readonly code = 'BrokenCircuit';
  override readonly retriable = true;
  /**
   * @param state the breaker's state when it refused
   * @param halfOpenAt when an open circuit lets its first trial calls through (clock ms); unknown in half-open
   * @param retryAfterMs how long until then; undefined while half-open trials are in flight
   */
  constructor(
    readonly dependency: string,
    readonly state: 'open' | 'half-open',
    readonly halfOpenAt: number | undefined,
    readonly retryAfterMs: number | undefined,
  ) {
    super(
      state === 'open'
        ? `the circuit of '${dependency}' is open; trial calls in ${retryAfterMs} ms`
        : `the circuit of '${dependency}' is half-open and its trial calls are in flight`,
    );
  }
}

export const isBrokenCircuitError = (e: unknown): e is BrokenCircuitError => e instanceof BrokenCircuitError;

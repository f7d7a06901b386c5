// The circuit breaker's state machine, on the injected clock:
//   closed    → open       when the window holds minimumCalls and the failure or slow-call rate reaches its threshold
//   open      → half-open  on the first call after openMs (until then calls fail fast: BrokenCircuitError)
//   half-open → closed     when halfOpenCalls trial calls succeeded (and fewer than the slow-call rate were slow)
//   half-open → open       on a trial's failure (or slow trials); calls beyond the trials in flight fail fast
// Outcomes of calls started in an earlier state are not counted (each state starts a generation).
import type { Clock } from '../../clock.js';
import { isAbortError } from '../classify.js';
import { BrokenCircuitError } from '../errors/broken-circuit-error.js';
import { Emitter } from '../events.js';
import { neverAborted, type Operation, type Policy } from '../policy.js';
import { CountWindow } from './count-window.js';
import { resolveBreakerOptions, type CircuitBreakerOptions, type ResolvedBreakerOptions } from './options.js';
import { TimeWindow } from './time-window.js';
import type { OutcomeWindow } from './window.js';

export type CircuitState = 'closed' | 'open' | 'half-open';

export type TransitionReason = 'failure-rate' | 'slow-call-rate' | 'wait-elapsed' | 'trial-failed' | 'trials-slow' | 'trials-succeeded';

export interface StateChangeEvent {
  from: CircuitState;
  to: CircuitState;
  reason: TransitionReason;
  /** The window's (or the trials') rates that decided it. */
  failureRate: number;
  slowCallRate: number;
}

export interface BreakerRejectEvent {
  state: 'open' | 'half-open';
  retryAfterMs: number | undefined;
}

export class CircuitBreakerPolicy implements Policy {
  private readonly stateEmitter = new Emitter<StateChangeEvent>();
  private readonly rejectEmitter = new Emitter<BreakerRejectEvent>();
  /** Every transition. */
  readonly onStateChange = this.stateEmitter.on;
  /** Every call refused while open or while the half-open trials are in flight. */
  readonly onReject = this.rejectEmitter.on;

  private readonly o: ResolvedBreakerOptions;
  private readonly clock: Clock;
  private readonly window: OutcomeWindow;
  private current: CircuitState = 'closed';
  private generation = 0;
  private halfOpenAtMs = 0;
  private trialsStarted = 0;
  private trialsSucceeded = 0;
  private trialsSlow = 0;

  constructor(options: CircuitBreakerOptions = {}) {
    this.o = resolveBreakerOptions(options);
    this.clock = this.o.clock;
    const w = this.o.window;
    this.window = w.kind === 'count' ? new CountWindow(w.size) : new TimeWindow(w.durationMs);
  }

  /** The state as of the last call (an open circuit past its wait reads 'open' until a call comes). */
  get state(): CircuitState {
    return this.current;
  }

  /** When an open circuit lets trial calls through (clock ms); undefined unless open. */
  get halfOpenAt(): number | undefined {
    return this.current === 'open' ? this.halfOpenAtMs : undefined;
  }

  async execute<T>(fn: Operation<T>, signal: AbortSignal = neverAborted): Promise<T> {
    if (signal.aborted) throw signal.reason;
    const start = this.clock.now();
    this.admit(start);
    const generation = this.generation;
    try {
      const value = await fn(signal);
      this.settle(generation, false, start);
      return value;
    } catch (e) {
      if (signal.aborted || isAbortError(e)) this.abandon(generation);
      else this.settle(generation, this.o.isFailure(e), start);
      throw e;
    }
  }

  /** Lets a call through or throws BrokenCircuitError. */
  private admit(now: number): void {
    if (this.current === 'closed') return;
    if (this.current === 'open') {
      if (now < this.halfOpenAtMs) this.reject('open', this.halfOpenAtMs - now);
      this.transition('half-open', 'wait-elapsed', 0, 0);
    }
    if (this.trialsStarted >= this.o.halfOpenCalls) this.reject('half-open', undefined);
    this.trialsStarted++;
  }

  private reject(state: 'open' | 'half-open', retryAfterMs: number | undefined): never {
    this.rejectEmitter.emit({ state, retryAfterMs });
    throw new BrokenCircuitError(this.o.name, state, state === 'open' ? this.halfOpenAtMs : undefined, retryAfterMs);
  }

  /** Counts a finished call of `generation` that started at `start` (calls of an earlier state are not counted). */
  private settle(generation: number, failed: boolean, start: number): void {
    if (generation !== this.generation) return;
    const now = this.clock.now();
    const slow = now - start >= this.o.slowCallDurationMs;
    if (this.current === 'closed') this.judgeWindow(failed, slow, now);
    else if (this.current === 'half-open') this.judgeTrial(failed, slow);
  }

  /** An aborted call says nothing about the dependency; a trial's slot goes to the next call. */
  private abandon(generation: number): void {
    if (generation === this.generation && this.current === 'half-open') this.trialsStarted--;
  }

  private judgeWindow(failed: boolean, slow: boolean, now: number): void {
    const w = this.window;
    w.record(failed, slow, now);
    if (w.calls < this.o.minimumCalls) return;
    const failureRate = w.failures / w.calls;
    const slowCallRate = w.slowCalls / w.calls;
    if (failureRate >= this.o.failureRateThreshold) this.open('failure-rate', failureRate, slowCallRate);
    else if (slowCallRate >= this.o.slowCallRateThreshold) this.open('slow-call-rate', failureRate, slowCallRate);
  }

  private judgeTrial(failed: boolean, slow: boolean): void {
    const n = this.o.halfOpenCalls;
    if (failed) return this.open('trial-failed', 1 / (this.trialsSucceeded + 1), this.trialsSlow / (this.trialsSucceeded + 1));
    this.trialsSucceeded++;
    if (slow) this.trialsSlow++;
    if (this.trialsSucceeded < n) return;
    const slowCallRate = this.trialsSlow / n;
    if (slowCallRate >= this.o.slowCallRateThreshold) this.open('trials-slow', 0, slowCallRate);
    else this.transition('closed', 'trials-succeeded', 0, slowCallRate);
  }

  private open(reason: TransitionReason, failureRate: number, slowCallRate: number): void {
    this.halfOpenAtMs = this.clock.now() + this.o.openMs;
    this.transition('open', reason, failureRate, slowCallRate);
  }

  private transition(to: CircuitState, reason: TransitionReason, failureRate: number, slowCallRate: number): void {
    const from = this.current;
    this.current = to;
    this.generation++;
    this.window.reset();
    this.trialsStarted = this.trialsSucceeded = this.trialsSlow = 0;
    this.stateEmitter.emit({ from, to, reason, failureRate, slowCallRate });
  }
}

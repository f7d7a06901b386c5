// Turns a failure into a value: the last policy of a chain, for callers that can answer without
// the dependency (a cached value, an empty result, a default).
import { isAbortError } from './classify.js';
import { Emitter } from './events.js';
import { neverAborted, type Operation } from './policy.js';

export interface FallbackOptions<R> {
  /** The value to answer with instead of `error`. */
  value: (error: unknown) => R | PromiseLike<R>;
  /** Which errors fall back. Default: all but aborts (an aborted caller wants no answer). */
  handles?: (error: unknown) => boolean;
}

export interface FallbackEvent {
  error: unknown;
}

/** Not a Policy (its result type is its own): put it outermost, around a wrap(). */
export class FallbackPolicy<R> {
  private readonly fallbackEmitter = new Emitter<FallbackEvent>();
  /** When a failure is answered with the fallback value. */
  readonly onFallback = this.fallbackEmitter.on;
  private readonly value: (error: unknown) => R | PromiseLike<R>;
  private readonly handles: (error: unknown) => boolean;

  constructor(options: FallbackOptions<R>) {
    this.value = options.value;
    this.handles = options.handles ?? ((e) => !isAbortError(e));
  }

  async execute<T>(fn: Operation<T>, signal: AbortSignal = neverAborted): Promise<T | R> {
    try {
      return await fn(signal);
    } catch (e) {
      if (signal.aborted || !this.handles(e)) throw e;
      this.fallbackEmitter.emit({ error: e });
      return await this.value(e);
    }
  }
}

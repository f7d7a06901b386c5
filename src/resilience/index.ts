// Resilience policies for Sluice's dependencies: timeout, retry with budgets, circuit breaker,
// bulkhead, fallback, composed per named dependency. Why: docs/decisions/016-resilience-policies.md.
export { neverAborted, wrap, type Operation, type Policy } from './policy.js';
export type { Event, Unsubscribe } from './events.js';
export { classify, isAbortError, isRetriableError, isRetriableSqlState, isRetriableStatus, type Classification } from './classify.js';
export { parseRetryAfter, retryAfterMsOf } from './retry-after.js';
export { fullJitter, fullJitterBound, type Backoff, type FullJitterOptions } from './backoff.js';
export {
  DEFAULT_TIMEOUT_MS, DEFAULT_TIMEOUT_RESOLUTION_MS, TimeoutPolicy, type TimeoutEvent, type TimeoutOptions,
} from './timeout/timeout.js';
export {
  DEFAULT_RETRY_BASE_DELAY_MS, DEFAULT_RETRY_MAX_ATTEMPTS, DEFAULT_RETRY_MAX_DELAY_MS, DEFAULT_RETRY_MAX_RETRY_AFTER_MS,
  RetryPolicy, defaultRetryOn, type GiveUpEvent, type GiveUpReason, type RetryEvent, type RetryOptions,
} from './retry.js';
export {
  DEFAULT_BUDGET_MIN_RETRIES_PER_SEC, DEFAULT_BUDGET_PERCENT_CAN_RETRY, DEFAULT_BUDGET_TTL_MS, RetryBudget, type RetryBudgetOptions,
} from './budget.js';
export {
  CircuitBreakerPolicy, type BreakerRejectEvent, type CircuitState, type StateChangeEvent, type TransitionReason,
} from './breaker/breaker.js';
export {
  DEFAULT_BREAKER_FAILURE_RATE, DEFAULT_BREAKER_HALF_OPEN_CALLS, DEFAULT_BREAKER_MINIMUM_CALLS, DEFAULT_BREAKER_OPEN_MS,
  DEFAULT_BREAKER_SLOW_CALL_MS, DEFAULT_BREAKER_SLOW_CALL_RATE, DEFAULT_BREAKER_WINDOW, type CircuitBreakerOptions,
} from './breaker/options.js';
export type { WindowOptions } from './breaker/window.js';
export {
  BulkheadPolicy, DEFAULT_BULKHEAD_MAX_CONCURRENT, DEFAULT_BULKHEAD_MAX_QUEUED, type BulkheadOptions, type BulkheadRejectEvent,
} from './bulkhead.js';
export { FallbackPolicy, type FallbackEvent, type FallbackOptions } from './fallback.js';
export { Dependency, type DependencyOptions, type DependencyStats } from './dependency.js';
export { Dependencies, type DependenciesOptions } from './dependencies.js';
export { TimeoutError, isTimeoutError } from './errors/timeout-error.js';
export { BrokenCircuitError, isBrokenCircuitError } from './errors/broken-circuit-error.js';
export { BulkheadRejectedError, isBulkheadRejectedError } from './errors/bulkhead-rejected-error.js';
export { NonRetriableError, isNonRetriableError } from './errors/non-retriable-error.js';
export { isBudgetExhausted, markBudgetExhausted } from './errors/budget-exhausted.js';

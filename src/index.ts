// The public API of the `sluice` package. Optional parts are subpath exports (`sluice/config`).
export type {
  AppendRecord, AppendResult, BlobInfo, CallOptions, CommitResult, CommitUnit, Engine, OffsetCommit, PartitionInfo,
  ReadFrom, ReadResult, StateEntry, StateWrite, StoredRecord, StreamInfo, StreamOptions,
} from './engine/engine.js';
export { DEFAULT_DEDUP_WINDOW_MS, DEFAULT_PARTITIONS, DEFAULT_RETENTION_MS } from './engine/engine.js';
export { ConflictError, EngineClosedError, EngineUnavailableError, InvalidArgumentError, StreamExistsError, StreamNotFoundError } from './engine/errors.js';
export { SqliteEngine, type SqliteEngineOptions } from './engine/sqlite/index.js';
export { openEngine, type EngineConfig, type SqliteEngineConfig } from './engine/open.js';
export { partitionOfKey, hashRangeOf } from './engine/partitioner.js';
export { Gateway } from './gateway/gateway.js';
export type { GatewayOptions, RateLimit } from './gateway/options.js';
export type { Action, Principal } from './gateway/auth/scopes.js';
export { createApiKey } from './gateway/auth/api-keys.js';
export { defineConfig, loadConfig, validateConfig, ConfigError, type SluiceConfig } from './config/index.js';
export { SluiceError, isRetriable } from './errors.js';
export { ManualClock, systemClock, type Clock } from './clock.js';
export { Dependencies, Dependency, TimeoutPolicy, RetryPolicy, CircuitBreakerPolicy, BulkheadPolicy, FallbackPolicy, RetryBudget, wrap, classify, isRetriableError, NonRetriableError, TimeoutError, BrokenCircuitError, BulkheadRejectedError, isNonRetriableError, isTimeoutError, isBrokenCircuitError, isBulkheadRejectedError, isBudgetExhausted, type Policy, type DependencyOptions, type DependenciesOptions, type DependencyStats, type TimeoutOptions, type RetryOptions, type CircuitBreakerOptions, type BulkheadOptions, type RetryBudgetOptions, type CircuitState } from './resilience/index.js';
export {
  Producer, ProducerRecordError, ProducerUnavailableError, ProducerBufferFullError, ProducerClosedError, isProducerRecordError, isProducerUnavailable, isProducerBufferFull,
  type ProducerOptions, type ProducerRecord, type ProducerStats, type Receipt,
} from './producer/producer.js';

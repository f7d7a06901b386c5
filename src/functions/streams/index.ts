// Stream event source mappings: Lambda's Kinesis triggers over Sluice streams (the registry
// creates one per `{ stream: … }` trigger), and the EventBridge patterns of their filterCriteria.
export { createStreamMapping, mappingGroup, StreamMapping, type StreamMappingSpec } from './mapping.js';
export {
  DEFAULT_BATCH_SIZE,
  DEFAULT_MAXIMUM_BATCHING_WINDOW_S,
  DEFAULT_MAXIMUM_RECORD_AGE_S,
  DEFAULT_MAXIMUM_RETRY_ATTEMPTS,
  DEFAULT_PARALLELIZATION_FACTOR,
  DEFAULT_STARTING_POSITION,
  resolveMappingOptions,
  type ResolvedMappingOptions,
  type StartingPosition,
  type StreamMappingOptions,
} from './options.js';
export type { KinesisStreamEvent, StreamRecordsEvent } from './event.js';
export { streamArnOf } from './event.js';
export type { FailureCondition, FailureRecord } from './failure.js';
export { compileFilterCriteria, compilePattern, UNPARSEABLE, type EventPattern, type FilterCriteria } from './filter.js';
export type { LogLevel } from './lane.js';
export type { MappingCounters, PartitionState, PartitionStats, StreamMappingStats } from './stats.js';
export {
  DestinationNotFoundError,
  InvalidFilterPatternError,
  InvalidMappingOptionError,
  isDestinationNotFoundError,
  isInvalidFilterPatternError,
  isInvalidMappingOptionError,
} from './errors.js';

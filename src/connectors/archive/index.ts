// The archive sink: a stream's records as NDJSON objects in a bucket, rolled by size and time,
// each committed with its resume offset and its object-created event (README, "Archives").
export { ArchiveRun, DEFAULT_ARCHIVE_BATCH, type ArchiveRunOptions, type ArchiveStats } from './run.js';
export { ArchivePartition, type PartitionContext, type PartitionStats } from './partition.js';
export { archiveKey, archiveErrorsStream, archiveLeaseKey, archiveStateKey, META } from './layout.js';
export { DEFAULT_ROLL_SIZE, DEFAULT_ROLL_INTERVAL_MS, MAX_ROLL_SIZE, MAX_ROLL_INTERVAL_MS, resolveArchiveOptions, type ArchiveOptions, type Compression, type ResolvedArchiveOptions } from './options.js';
export { ArchiveLeaseLostError } from './errors.js';
export { archivesSchema, type ArchiveConfig } from './config.js';

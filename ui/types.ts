// The shapes the dashboard reads: the native API's streams and records, and the observe API of
// decision 017 (docs/decisions/017-observe-api.md). Fields the contract adds later are optional.

export interface StreamInfo {
  name: string;
  partitions: number;
  retentionMs: number;
  partitionKeyField?: string;
  dedupWindowMs: number;
  createdAt: number;
}

export interface PartitionInfo {
  partition: number;
  earliest: number;
  next: number;
  lastTimestamp?: number;
  /** Retained bytes (decision 017). */
  bytes?: number;
}

export interface ConsumerPartition {
  partition: number;
  offset: number;
  /** null when the engine cannot count it cheaply (nats). */
  lagRecords: number | null;
  lagSeconds: number;
}

export interface Consumer {
  group: string;
  partitions: ConsumerPartition[];
}

export interface StreamDescription extends StreamInfo {
  partitionInfo: PartitionInfo[];
  consumers?: Consumer[];
}

export interface StreamRecord {
  partition: number;
  offset: number;
  timestamp: number;
  key?: string;
  value?: unknown;
  /** Base64 of bytes that are not UTF-8 JSON. */
  data?: string;
}

export interface RecordsPage {
  records: StreamRecord[];
  next: number;
}

export type Health = 'ok' | 'failing' | 'stopped';

export interface PipelineHealth {
  name: string;
  health: Health;
  units: number;
  recordsPerSec: number;
  watermark: number | null;
  watermarkLagS: number | null;
  late: number;
  errors: number;
  lastError: string | null;
}

export interface Overview {
  version: string;
  engine: string;
  startedAt: number;
  uptimeS: number;
  open: boolean;
  ingest: {
    recordsPerSec: number;
    bytesPerSec: number;
    rejectedPerSec: number;
    throttledPerSec: number;
    records: number;
    rejected: number;
    throttled: number;
  };
  streams: number;
  pipelines: PipelineHealth[];
}

export type Point = [number, number];

export interface SeriesAnswer {
  intervalMs: number;
  names: string[];
  series: Record<string, Point[]>;
}

export interface PipelineSummary {
  name: string;
  health: Health;
  keyGroups: number;
  workers: number;
  units: number;
}

export type NodeKind = 'source' | 'filter' | 'map' | 'flatMap' | 'union' | 'window' | 'join' | 'lookup' | 'sink' | 'late';

export interface GraphNode {
  id: number;
  kind: NodeKind;
  label: string;
  keyed: boolean;
  stream?: string;
  table?: string;
}

export interface GraphEdge {
  from: number;
  to: number;
  records: number;
  recordsPerSec: number;
}

export interface StepStats {
  node: number;
  watermark: number | null;
  watermarkLagS: number | null;
  late: number;
  records: number;
  recordsPerSec: number;
}

export interface UnitInfo {
  unit: string;
  kind: string;
  node?: number;
  group?: number;
  stream?: string;
  partition?: number;
  records: number;
  /** Over the last sample interval (absent from gateways that do not report it). */
  recordsPerSec?: number;
  epochs: number;
  late: number;
  clampedFuture: number;
  /** Records sent to the error stream, and epochs that failed. */
  errors?: number;
  failures?: number;
  paused: number;
  stateKeys: number;
  inMemory: number;
  spilled: number;
  watermark: number | null;
  offset?: number;
  /** null on nats (offsets are not contiguous). */
  lagRecords?: number | null;
}

export interface PipelineDetail {
  name: string;
  health: Health;
  lastError: string | null;
  keyGroups: number;
  workers: number;
  lateStream: string;
  errorStream: string;
  graph: { nodes: GraphNode[]; edges: GraphEdge[] };
  steps: StepStats[];
  units: UnitInfo[];
  commits: { count: number; p50Ms: number; p99Ms: number };
  /** Totals, when the gateway gives them (else the overview's). */
  late?: number;
  errors?: number;
}

/** GET /v1/functions/{name} (and each of GET /v1/functions). */
export interface FunctionDescription {
  name: string;
  arn: string;
  runtime: string;
  handler: string;
  timeoutMs: number;
  memoryMB: number;
  concurrency: number;
  permissions: Record<string, string[]>;
  triggers: Record<string, unknown>[];
  destinations: Record<string, unknown>;
  metrics: {
    Invocations: number;
    Errors: number;
    Throttles: number;
    Duration: { invocations: number; avgMs: number; p50Ms: number; p99Ms: number; maxMs: number } | null;
    ConcurrentExecutions: number;
    IteratorAge: number | null;
    DestinationDeliveryFailures: number;
  };
  workers: { workers: number; busy: number; coldStarts: number; replaced: number };
  asyncQueue: { inFlight: number; retried: number; failedForGood: number; committed: number };
  logStream: string;
  mappings: FunctionMapping[];
  schedules: FunctionSchedule[];
}

export interface MappingPartition {
  partition: number;
  state: string;
  lastProcessingResult: string;
  iteratorAgeMs: number;
  committedOffset: number;
  readOffset: number;
  latestOffset?: number;
  lag?: number;
  batchesInFlight: number;
  invocations: number;
  functionErrors: number;
  recordsDelivered: number;
  recordsFiltered: number;
  recordsDiscarded: number;
  retries: number;
  bisections: number;
}

export interface FunctionMapping {
  id: string;
  stream: string;
  state: string;
  lastProcessingResult: string;
  iteratorAgeMs: number;
  lag?: number;
  invocations: number;
  functionErrors: number;
  recordsDelivered: number;
  recordsDiscarded: number;
  partitions: MappingPartition[];
}

export interface FunctionSchedule {
  name: string;
  expression: string;
  timezone: string;
  state: string;
  nextRuns: string[];
  lastRun?: string;
  lastResult?: string;
  running: boolean;
  runs: number;
  failures: number;
  skipped: number;
  missed: number;
}

export interface InvocationLog {
  requestId: string;
  time: number;
  lines: string[];
}

export interface BucketInfo {
  name: string;
  created: number;
}

/** GET /v1/buckets/{bucket}/objects. */
export interface ObjectsPage {
  bucket: string;
  objects: { key: string; size: number; etag: string; modified: number; contentType: string | null }[];
  prefixes: string[];
  truncated: boolean;
  nextToken?: string;
}

export type BreakerState = 'closed' | 'open' | 'half-open' | 'none';

/** GET /v1/observe/dependencies: each remote system Sluice calls, summed over the threads calling it. */
export interface DependencyView {
  name: string;
  threads: number;
  calls: number;
  successes: number;
  failures: number;
  attempts: number;
  retries: number;
  budgetRefusals: number;
  timeouts: number;
  bulkheadRejections: number;
  breakerRejections: number;
  breakerState: BreakerState;
  breakerStates: Partial<Record<BreakerState, number>>;
  breakerTransitions: { open: number; 'half-open': number; closed: number };
}

export interface DependenciesView {
  dependencies: DependencyView[];
  serverBudget: { name: string; balance: number } | null;
}

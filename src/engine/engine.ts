// The engine contract: the storage behind everything (streams, consumer offsets, keyed state,
// blobs, atomic commit). Layers above the engine are written against this interface only, and
// test/engine/conformance.ts holds the suite every engine must pass.
// Why it looks like this: docs/decisions/001-engine-contract.md.

export const DEFAULT_PARTITIONS = 4;
export const DEFAULT_RETENTION_MS = 7 * 24 * 60 * 60 * 1000; // 7 days, as Kinesis' maximum default
export const DEFAULT_DEDUP_WINDOW_MS = 2 * 60 * 1000; // 2 minutes, as JetStream's duplicate window
export const MAX_PARTITIONS = 1024;

export interface StreamOptions {
  /** Number of partitions; fixed for the stream's life. Default DEFAULT_PARTITIONS (4). */
  partitions?: number;
  /** Records older than this (by arrival time) are deleted. Default DEFAULT_RETENTION_MS (7 days). */
  retentionMs?: number;
  /** A top-level field of JSON records whose value is the partition key when a record has none. */
  partitionKeyField?: string;
  /** How long a record id is remembered to drop a retried duplicate. Default 2 minutes. */
  dedupWindowMs?: number;
  /**
   * sqlite: a partition's segment file rolls over past this many bytes (retention and `trim` free
   * disk a whole segment at a time). Default: the engine's (64 MiB). Other engines ignore it.
   */
  segmentBytes?: number;
}

/** What `updateStream` may change. */
export interface StreamUpdate {
  retentionMs?: number;
}

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
  /** Offset of the oldest retained record (equals `next` when the partition is empty). */
  earliest: number;
  /** Offset the next appended record will get. */
  next: number;
  /** Arrival time of the newest record, or undefined when none was ever appended. */
  lastTimestamp?: number;
  /** Bytes the partition's retained records take in storage (stored batches, framing included). */
  bytes: number;
}

export interface AppendRecord {
  /** The payload. The native gateway stores JSON text; the Kinesis API stores the raw Data bytes. */
  value: Uint8Array;
  /** Partition key: MD5 of it, as a 128-bit number, picks the partition (Kinesis' mapping). */
  key?: string;
  /** Explicit 128-bit hash key as a decimal string; overrides `key` for choosing the partition. */
  explicitHashKey?: string;
  /** Explicit partition; overrides key and hash key (used for keyless records). */
  partition?: number;
  /** De-duplication id: a second record with the same id within the window is not stored. */
  id?: string;
}

/**
 * Keyless records already in the stored batch form (batch-codec.ts), for one partition: appended
 * after the append's `records`, in order, without a record object each (decision 011). Each gets
 * one AppendResult: where its first record landed.
 */
export interface EncodedBatch {
  partition: number;
  /** Records in `payload` (its first u32). */
  count: number;
  payload: Buffer;
}

export type AppendResult =
  | { partition: number; offset: number; duplicate?: true }
  | { error: { code: string; message: string } };

export interface StoredRecord {
  partition: number;
  offset: number;
  /** The offset of the first record of the stored batch holding it (an append's partition slice): records of one batch arrived together. */
  batch: number;
  /** Arrival time in ms, assigned by the engine; never decreases within a partition. */
  timestamp: number;
  key?: string;
  value: Uint8Array;
}

/** Where to start reading: an offset, the oldest retained record, the next new one, or a time. */
export type ReadFrom = number | 'earliest' | 'latest' | { timestamp: number };

export interface ReadResult {
  records: StoredRecord[];
  /** The offset to read from next. */
  next: number;
}

export interface StateEntry {
  value: Uint8Array;
  /** Starts at 1 and grows by one per write; 0 means "absent" in preconditions. */
  version: number;
}

export interface StateWrite {
  key: string;
  /** null deletes the key. */
  value: Uint8Array | null;
  /** When set, the write happens only if the key is at this version (0: absent). */
  expectedVersion?: number;
}

export interface OffsetCommit {
  group: string;
  stream: string;
  partition: number;
  /** The next offset to read: the committed work covers everything before it. */
  offset: number;
}

/** A unit of work that becomes visible all or nothing. */
export interface CommitUnit {
  /**
   * A deterministic id of this unit (e.g. task + epoch). Engines that publish before they write
   * state (nats) derive message ids from it, so replaying a unit after a crash stores nothing twice.
   */
  id?: string;
  appends?: { stream: string; records: AppendRecord[]; batches?: EncodedBatch[] }[];
  state?: StateWrite[];
  offsets?: OffsetCommit[];
  /** Preconditions checked and not written: a fencing token is a lease key at a version. */
  fences?: { key: string; version: number }[];
}

export interface CommitResult {
  appends: AppendResult[][];
  /** New version of each state write, in order (0 for deletes). */
  versions: number[];
}

export interface BlobInfo {
  name: string;
  size: number;
  modified: number;
}

export interface CallOptions {
  /**
   * Aborts the call: a call not yet writing stops with the signal's reason (waitFor stops waiting);
   * once a commit has begun writing it completes, so it is all or nothing either way.
   */
  signal?: AbortSignal;
}

export interface Engine {
  readonly kind: string;
  /**
   * True when `commit` is one transaction (sqlite). False when outputs are published before state
   * is written (nats 2.9): a crash in between leaves the outputs without the state, and callers that
   * need exactly-once must make the retry reproduce the same unit (same id, same appends).
   */
  readonly atomicCommit: boolean;

  createStream(name: string, options?: StreamOptions, call?: CallOptions): Promise<StreamInfo>;
  describeStream(name: string, call?: CallOptions): Promise<StreamInfo & { partitionInfo: PartitionInfo[] }>;
  listStreams(call?: CallOptions): Promise<StreamInfo[]>;
  deleteStream(name: string, call?: CallOptions): Promise<void>;
  /** Changes what may change of a stream after creation (its retention); the partition count is fixed. */
  updateStream(name: string, update: StreamUpdate, call?: CallOptions): Promise<StreamInfo>;

  /** Appends records durably; per-record result in input order. One stored batch per partition. */
  append(stream: string, records: AppendRecord[], call?: CallOptions): Promise<AppendResult[]>;
  /** Turns a ReadFrom into an offset, now (so 'latest' means "after what exists now"). */
  resolve(stream: string, partition: number, from: ReadFrom, call?: CallOptions): Promise<number>;
  /** Reads up to `max` records from `offset` (records past retention are skipped). */
  read(stream: string, partition: number, offset: number, max: number, call?: CallOptions): Promise<ReadResult>;
  /** Resolves once the partition holds a record at or after `offset`, or the signal aborts. */
  waitFor(stream: string, partition: number, offset: number, call?: CallOptions): Promise<void>;

  getOffsets(group: string, stream: string, call?: CallOptions): Promise<Map<number, number>>;

  getState(key: string, call?: CallOptions): Promise<StateEntry | undefined>;
  listState(prefix: string, call?: CallOptions): Promise<Map<string, StateEntry>>;

  /** Outputs, state changes and offsets, all or nothing; ConflictError when a precondition fails. */
  commit(unit: CommitUnit, call?: CallOptions): Promise<CommitResult>;

  putBlob(name: string, data: Uint8Array, call?: CallOptions): Promise<void>;
  getBlob(name: string, call?: CallOptions): Promise<Uint8Array | undefined>;
  listBlobs(prefix: string, call?: CallOptions): Promise<BlobInfo[]>;
  deleteBlob(name: string, call?: CallOptions): Promise<boolean>;

  /**
   * Deletes the records of a partition before `before`, whole stored batches only (a batch holding
   * `before` stays), for streams whose only readers committed past them (pipelines' internal streams).
   */
  trim(stream: string, partition: number, before: number, call?: CallOptions): Promise<void>;

  /** Deletes records past their stream's retention (by the engine's clock) and expired de-duplication ids. */
  enforceRetention(call?: CallOptions): Promise<void>;

  close(): Promise<void>;
}

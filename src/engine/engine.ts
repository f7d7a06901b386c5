// The engine contract: the storage behind everything (streams, consumer offsets, keyed state,
// blobs, atomic commit). Layers above the engine are written against this interface only, and
// test/engine/conformance.ts holds the suite every engine must pass.
// Why it looks like this: docs/decisions/001-engine-contract.md; objects: docs/decisions/018-objects.md.
import type { Readable } from 'node:stream';

export const DEFAULT_PARTITIONS = 4;
export const DEFAULT_RETENTION_MS = 7 * 24 * 60 * 60 * 1000; // 7 days, as Kinesis' maximum default
export const DEFAULT_DEDUP_WINDOW_MS = 2 * 60 * 1000; // 2 minutes, as JetStream's duplicate window
export const MAX_PARTITIONS = 1024;
/** The longest retention or de-duplication window: 100 years (JetStream counts durations in int64 nanoseconds, up to ~292 years). */
export const MAX_DURATION_MS = 100 * 365 * 24 * 60 * 60 * 1000;

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
  appends?: CommitAppend[];
  state?: StateWrite[];
  offsets?: OffsetCommit[];
  /** Preconditions checked and not written: a fencing token is a lease key at a version. */
  fences?: { key: string; version: number }[];
  /** Object writes (puts and deletes), visible all together with the rest of the unit. */
  objects?: ObjectWrite[];
  /**
   * Builds appends from the objects as written (their new versions), stored in this same unit
   * after `appends`: an object-created event announced this way commits with the object (never
   * one without the other, kill -9 included). Called once, synchronously, when the objects'
   * preconditions held and their versions are assigned; should the unit fail after, nothing of it
   * is stored, what `announce` returned included. It must not throw.
   */
  announce?: (written: ObjectWritten[]) => CommitAppend[];
}

/** One stream's outputs of a unit. */
export interface CommitAppend {
  stream: string;
  records: AppendRecord[];
  batches?: EncodedBatch[];
}

export interface CommitResult {
  /** Per append of the unit, then per append `announce` returned, in order. */
  appends: AppendResult[][];
  /** New version of each state write, in order (0 for deletes). */
  versions: number[];
  /** Per object write, in order (empty when the unit had none). */
  objects: ObjectWritten[];
}

// ---- Objects (docs/decisions/018-objects.md) ----------------------------------------------

/** S3's largest single object (and single PUT): 5 GiB. */
export const MAX_OBJECT_BYTES = 5 * 1024 ** 3;
/** Longest object name, in UTF-8 bytes: S3's 1,024-byte key under its longest bucket name and a slash (63 + 1 + 1,024). */
export const MAX_OBJECT_NAME_BYTES = 1088;
/** A staged object not committed or discarded within this time is discarded by the engine. */
export const DEFAULT_STAGED_TTL_MS = 60 * 60 * 1000; // 1 hour
/** Default and largest page of `listObjects`. */
export const DEFAULT_LIST_LIMIT = 1000;
export const MAX_LIST_LIMIT = 10_000;

/** Checksums `stageObject` computes besides MD5 (S3's `x-amz-checksum-*`). */
export type ChecksumAlgorithm = 'crc32' | 'crc32c' | 'sha1' | 'sha256';
export type Checksums = Partial<Record<ChecksumAlgorithm, string>>;

/**
 * The bytes of an object: a stream (a Node Readable is one) or one buffer. A chunk once yielded is
 * the caller's no more: staging keeps views of chunks until they are written, not copies, so an
 * iterable that reuses its buffer for the next chunk would store other bytes than it hashed.
 */
export type ObjectBody = AsyncIterable<Uint8Array> | Uint8Array;

export interface StageOptions extends CallOptions {
  /**
   * More bytes than this fail the staging with ObjectTooLargeError (nothing is kept; the rest of
   * the body is not read). Default MAX_OBJECT_BYTES (5 GiB).
   */
  maxBytes?: number;
  /** Checksums to compute while the bytes stream through, besides MD5 (always). Default none. */
  checksums?: readonly ChecksumAlgorithm[];
}

/**
 * Bytes written to storage and not visible to anyone: a `commit` that names it in an
 * ObjectWrite publishes it, `discardStaged` drops it. Usable by one commit only, in the process
 * that staged it; one neither committed nor discarded is dropped after DEFAULT_STAGED_TTL_MS
 * (1 hour), and one left by a process that died is swept (sqlite: when the engine opens; nats: by
 * the periodic sweep, once older than the TTL).
 */
export interface StagedObject {
  /** Engine-made, unique; identifies the staged bytes in errors and logs. */
  readonly id: string;
  readonly size: number;
  /** MD5 of the bytes as 32 lowercase hex digits (S3's ETag of a single-part object). */
  readonly md5: string;
  /** The checksums asked for, each as base64 of its big-endian digest (the form of `x-amz-checksum-*`). */
  readonly checksums: Readonly<Checksums>;
}

/** Content taken from a committed object, by reference (no byte is copied). */
export interface ObjectRef {
  object: string;
  /** When set, the source must be at this version, else the unit fails with ConflictError. */
  version?: number;
}

/** One piece of an object's content: staged bytes, or a whole committed object's content. */
export type ObjectPiece = StagedObject | ObjectRef;

/** A put or delete of one object name, part of a CommitUnit. */
export interface ObjectWrite {
  name: string;
  /**
   * The new content: one staged object (a PUT); pieces concatenated in order (a multipart
   * complete from parts committed as objects, a copy), stored as a list of references — no
   * byte is copied; or null to delete the name (deleting an absent name writes nothing).
   */
  content: StagedObject | readonly ObjectPiece[] | null;
  /** The write happens only if the name is at this version (0: absent); else ConflictError fails the whole unit. */
  expectedVersion?: number;
  /** Kept with the object and returned by stat/open/list: Content-Type, x-amz-meta-*, … Default {}. */
  metadata?: Record<string, string>;
  /** Default: the MD5 hex of the content when it is one staged object, else ''. */
  etag?: string;
  /** Default: the staged object's checksums when the content is one staged object, else {}. */
  checksums?: Checksums;
}

export interface ObjectInfo {
  name: string;
  size: number;
  /**
   * Grows with every write of the name (puts and deletes, also across a delete and a new put);
   * never 0 for an object; not contiguous. Preconditions compare it; it orders events of one name
   * (S3's `sequencer`).
   */
  version: number;
  etag: string;
  /** MD5 hex of the whole content, when it was staged in one piece. */
  md5?: string;
  /** When the write committed, ms since the epoch (the engine's clock). */
  modified: number;
  metadata: Record<string, string>;
  checksums: Checksums;
}

/** What an ObjectWrite did, given to `announce` and returned in CommitResult.objects. */
export type ObjectWritten =
  | { name: string; deleted: false; info: ObjectInfo }
  /** `version` is the delete's own (0 when the name was absent: nothing was written). */
  | { name: string; deleted: true; existed: boolean; version: number };

/** Inclusive byte range (S3's `Range: bytes=start-end`); `end` past the last byte means to the end. */
export type ObjectRange = { start: number; end?: number } | { suffix: number };

export interface OpenOptions extends CallOptions {
  /** Default: the whole object. A start at or past the size fails with InvalidRangeError. */
  range?: ObjectRange;
  /** Open only that version; another one fails with ConflictError (a reader that stat-ed first). */
  version?: number;
}

export interface OpenedObject {
  info: ObjectInfo;
  /** First and last byte the body carries (inclusive; end = start - 1 for an empty object). */
  start: number;
  end: number;
  /**
   * The bytes, streamed from storage in chunks of about 1 MiB; an abort of the call's signal
   * destroys it with the signal's reason. The reader must consume or destroy it (it holds files
   * or a subscription). Content deleted or replaced meanwhile keeps reading (sqlite; on nats
   * see decision 018).
   */
  body: Readable;
}

export interface ListObjectsOptions extends CallOptions {
  /** Only names starting with this. Default ''. */
  prefix?: string;
  /** Names with this after the prefix roll up into one entry of `prefixes` (S3's CommonPrefixes). */
  delimiter?: string;
  /** Start after this name, exclusive (S3's StartAfter). */
  after?: string;
  /** A page's `next`: continue where it stopped (takes precedence over `after`). */
  cursor?: string;
  /** Most entries (objects + prefixes) in the page. Default DEFAULT_LIST_LIMIT (1000), at most MAX_LIST_LIMIT. */
  limit?: number;
}

/** One page of a listing, sorted by name in UTF-8 byte order (as S3). */
export interface ObjectListing {
  objects: ObjectInfo[];
  /** Common prefixes (with a delimiter), each once, in order among the objects. */
  prefixes: string[];
  /** Set when more entries follow: pass it as `cursor` (an opaque string; ASCII-safe). */
  next?: string;
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

  /**
   * Writes a body to storage, invisible, computing its size, MD5 and the checksums asked for;
   * commit an ObjectWrite naming it to publish it. A failed, aborted or cut-off body leaves
   * nothing; a full disk fails with StorageFullError, too many bytes with ObjectTooLargeError.
   */
  stageObject(body: ObjectBody, options?: StageOptions): Promise<StagedObject>;
  /** Drops a staged object's bytes (idempotent). */
  discardStaged(staged: StagedObject, call?: CallOptions): Promise<void>;
  /** The object's description, or undefined when there is none of that name. */
  statObject(name: string, call?: CallOptions): Promise<ObjectInfo | undefined>;
  /** Streams the object (or a range of it), or undefined when there is none of that name. */
  openObject(name: string, options?: OpenOptions): Promise<OpenedObject | undefined>;
  /** A page of objects by name; cheap for small pages (`limit: 1` says whether a prefix is empty). */
  listObjects(options?: ListObjectsOptions): Promise<ObjectListing>;

  /** Whole small objects (archives), over the object calls above; names checked by checkBlobName. */
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

// The embedded engine: SQLite (better-sqlite3) in WAL mode. Each commit is one IMMEDIATE
// transaction, so a unit of work is visible all or nothing, and survives kill -9 once acknowledged.
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { systemClock, type Clock } from '../../clock.js';
import { withDefaults } from '../../defaults.js';
import { decodeRecords } from '../batch-codec.js';
import type {
  AppendRecord, AppendResult, BlobInfo, CallOptions, CommitAppend, CommitResult, CommitUnit, Engine, ListObjectsOptions, ObjectBody, OpenOptions, PartitionInfo, StageOptions,
  ObjectInfo, ObjectListing, OpenedObject, ReadFrom, ReadResult, StagedObject, StateEntry, StreamInfo, StreamOptions, StoredRecord, StreamUpdate,
} from '../engine.js';
import { ConflictError, EngineClosedError, InvalidArgumentError, StorageFullError, StreamExistsError, StreamNotFoundError } from '../errors.js';
import { channelOf, Notifier } from '../notifier.js';
import { checkPartition, checkRetention, checkStreamName, resolveStreamOptions } from '../validate.js';
import * as blobs from '../blobs.js';
import { OBJECT_TABLES, SCHEMA, SCHEMA_VERSION, type StreamRow } from './schema.js';
import { SqliteObjects } from './objects.js';
import { isFull } from './object-files.js';
import { WriteLock } from './write-lock.js';
import { StateValues, type StateRow } from './state-values.js';
import { DEFAULT_SEGMENT_BYTES, Segments } from './segments.js';
import { Statements } from './statements.js';
import { Checkpointer } from './checkpointer.js';
import { FailureLog, silentLogger, type Logger } from '../../observe/log.js';
import { background } from '../background.js';
import { appendBatches, appendInTransaction, type AppendContext } from './append.js';

export const DEFAULT_POLL_INTERVAL_MS = 250; // cross-process change check, only while someone waits
export const DEFAULT_RETENTION_INTERVAL_MS = 60 * 1000; // 1 minute
const STAGED_EXPIRY_CHECK_MS = 60 * 1000; // staged objects past their TTL are looked for every minute

export interface SqliteEngineOptions {
  /** Directory holding `sluice.db` and `blobs/`; created when missing. */
  dataDir: string;
  /** 'process' (default) survives kill -9 of the process; 'fsync' also survives power loss. */
  durability?: 'process' | 'fsync';
  /** Injected time. Default: the system clock. */
  clock?: Clock;
  /** How often a waiting reader checks for appends by other processes. Default 250 ms. */
  pollIntervalMs?: number;
  /** How often retention runs by itself; 0 turns the timer off. Default 1 minute. */
  retentionIntervalMs?: number;
  /** A partition starts a new segment file past this size. Default 64 MiB. */
  segmentBytes?: number;
  /** Whether this connection runs WAL checkpoints (on a thread of its own). Default true; a second connection to the same data in one process may leave them to the first. */
  checkpoints?: boolean;
  /**
   * The turns this connection's commits take with other connections of the process' threads
   * (write-lock.ts): another connection's `writeLockBuffer`. Default: a lock of its own.
   */
  writeLock?: SharedArrayBuffer;
  /** Where failures of background work (WAL checkpoints, the retention timer, staged-object expiry) are logged, once while they last. Default: nowhere. */
  log?: Logger;
}

const EMPTY = Buffer.alloc(0);

type Deleted = { partition: number; len: number };

export class SqliteEngine implements Engine {
  readonly kind = 'sqlite';
  readonly atomicCommit = true;
  private readonly db: Database.Database;
  private readonly q: Statements;
  private readonly clock: Clock;
  private readonly notifier = new Notifier();
  private readonly objects: SqliteObjects;
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly commitTx: Database.Transaction<(unit: CommitUnit) => { result: CommitResult; streams: string[] }>;
  private readonly resolveTx: Database.Transaction<(stream: string, partition: number, from: ReadFrom) => number>;
  private readonly readTx: Database.Transaction<(stream: string, partition: number, offset: number, max: number) => ReadResult>;
  private readonly sticky = { next: 0 };
  private readonly checkpointer?: Checkpointer;
  private readonly segments: Segments;
  private readonly stateValues: StateValues;
  private readonly appendCtx: AppendContext;
  private readonly writeLock: WriteLock;
  /** Give it to connections opened in other threads (option `writeLock`): their commits then take turns with this one's. */
  readonly writeLockBuffer: SharedArrayBuffer;
  private dataVersion = 0;
  private closed = false;

  constructor(options: SqliteEngineOptions) {
    const o = withDefaults({ durability: 'process' as 'process' | 'fsync', pollIntervalMs: DEFAULT_POLL_INTERVAL_MS, retentionIntervalMs: DEFAULT_RETENTION_INTERVAL_MS, segmentBytes: DEFAULT_SEGMENT_BYTES }, options);
    if (o.durability !== 'process' && o.durability !== 'fsync') {
      throw new InvalidArgumentError(`durability must be 'process' or 'fsync', got '${o.durability}'`, 'durability');
    }
    mkdirSync(o.dataDir, { recursive: true });
    this.clock = o.clock ?? systemClock;
    const file = join(o.dataDir, 'sluice.db');
    const synchronous = o.durability === 'fsync' ? 'FULL' : 'NORMAL';
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma(`synchronous = ${synchronous}`);
    this.db.pragma('busy_timeout = 5000');
    this.db.pragma('wal_autocheckpoint = 0'); // the checkpointer thread does it
    try {
      migrate(this.db, file);
    } catch (e) {
      this.db.close();
      throw e;
    }
    const log = options.log ?? silentLogger();
    if (options.checkpoints !== false) {
      const checkpoints = new FailureLog(log, 'WAL checkpoints');
      this.checkpointer = new Checkpointer(file, synchronous, (r) => (r.ok ? checkpoints.succeeded() : checkpoints.failed(r.error)));
    }
    this.q = new Statements(this.db);
    this.segments = new Segments(join(o.dataDir, 'segments'), o.durability === 'fsync');
    this.stateValues = new StateValues(this.db, join(o.dataDir, 'state'), o.durability === 'fsync', o.segmentBytes);
    this.stateValues.sweep();
    this.appendCtx = { q: this.q, segments: this.segments, segmentBytes: o.segmentBytes, sticky: this.sticky };
    this.objects = new SqliteObjects(this.db, join(o.dataDir, 'objects'), o.durability === 'fsync', this.clock);
    this.objects.sweep();
    this.commitTx = this.db.transaction((unit: CommitUnit) => this.commitInTransaction(unit));
    this.writeLockBuffer = options.writeLock ?? new SharedArrayBuffer(4);
    this.writeLock = new WriteLock(this.writeLockBuffer);
    this.resolveTx = this.db.transaction((stream: string, partition: number, from: ReadFrom) => this.resolveSnapshot(stream, partition, from));
    this.readTx = this.db.transaction((stream: string, partition: number, offset: number, max: number) => this.readSnapshot(stream, partition, offset, max));
    this.dataVersion = this.db.pragma('data_version', { simple: true }) as number;
    this.timers.push(setInterval(() => this.pollForeignChanges(), o.pollIntervalMs).unref());
    const expiry = new FailureLog(log, 'expiring staged objects');
    this.timers.push(setInterval(() => background(expiry, () => this.objects.expire()), STAGED_EXPIRY_CHECK_MS).unref());
    if (o.retentionIntervalMs > 0) {
      const retention = new FailureLog(log, 'retention');
      this.timers.push(setInterval(() => background(retention, () => this.enforceRetention()), o.retentionIntervalMs).unref());
    }
  }

  async createStream(name: string, options?: StreamOptions): Promise<StreamInfo> {
    this.checkOpen();
    checkStreamName(name);
    const o = resolveStreamOptions(options);
    const createdAt = this.clock.now();
    const insert = this.db.transaction(() => {
      if (this.q.streamByName.get(name)) throw new StreamExistsError(name);
      this.q.insertStream.run(name, o.partitions, o.retentionMs, o.partitionKeyField ?? null, o.dedupWindowMs, createdAt, o.segmentBytes ?? null);
    });
    insert.immediate();
    return this.infoOf(this.streamRow(name));
  }

  async describeStream(name: string): Promise<StreamInfo & { partitionInfo: PartitionInfo[] }> {
    this.checkOpen();
    const row = this.streamRow(name);
    const partitionInfo: PartitionInfo[] = [];
    for (let p = 0; p < row.partitions; p++) partitionInfo.push(this.partitionInfo(row, p));
    return { ...this.infoOf(row), partitionInfo };
  }

  async listStreams(): Promise<StreamInfo[]> {
    this.checkOpen();
    return (this.q.allStreams.all() as StreamRow[]).map((r) => this.infoOf(r));
  }

  async deleteStream(name: string): Promise<void> {
    this.checkOpen();
    const del = this.db.transaction(() => {
      const row = this.streamRow(name);
      for (const stmt of [this.q.deleteBatches, this.q.deleteHeads, this.q.deleteDedup]) stmt.run(row.id);
      this.q.deleteStream.run(row.id);
      return row.id;
    });
    this.segments.dropStream(del.immediate()); // ids are never reused (AUTOINCREMENT)
    this.notifier.poke();
  }

  async updateStream(name: string, update: StreamUpdate): Promise<StreamInfo> {
    this.checkOpen();
    const row = this.streamRow(name);
    if (update.retentionMs !== undefined) this.writeLock.run(() => this.q.updateRetention.run(checkRetention(update.retentionMs), row.id));
    return this.infoOf(this.streamRow(name));
  }

  async trim(stream: string, partition: number, before: number): Promise<void> {
    this.checkOpen();
    const row = this.streamRow(stream);
    checkPartition(row, partition);
    if (!Number.isSafeInteger(before) || before < 0) throw new InvalidArgumentError(`invalid offset ${before}`, 'offset');
    const deleted = this.writeLock.run(() => this.db.transaction(() => this.forget(row.id, this.q.trimBatches.all(row.id, partition, before) as Deleted[])).immediate());
    if (deleted > 0) this.dropSegmentsBefore(row, partition);
  }

  async append(stream: string, records: AppendRecord[], call?: CallOptions): Promise<AppendResult[]> {
    return (await this.commit({ appends: [{ stream, records }] }, call)).appends[0]!;
  }

  async resolve(stream: string, partition: number, from: ReadFrom): Promise<number> {
    this.checkOpen();
    return this.resolveTx(stream, partition, from);
  }

  private resolveSnapshot(stream: string, partition: number, from: ReadFrom): number {
    const row = this.streamRow(stream);
    const info = this.partitionInfo(row, checkPartition(row, partition));
    if (from === 'earliest') return info.earliest;
    if (from === 'latest') return info.next;
    if (typeof from === 'number') {
      if (!Number.isSafeInteger(from) || from < 0) throw new InvalidArgumentError(`invalid offset ${from}`, 'offset');
      return from;
    }
    const hit = this.q.firstBatchAtOrAfterTime.get(row.id, partition, from.timestamp) as { base_offset: number } | undefined;
    return hit ? Math.max(hit.base_offset, info.earliest) : info.next;
  }

  async read(stream: string, partition: number, offset: number, max: number): Promise<ReadResult> {
    this.checkOpen();
    return this.readTx(stream, partition, offset, max);
  }

  /**
   * One read transaction: its queries see one snapshot. (As separate statements, an append by
   * another connection in between could make the second query skip the batch starting at `offset`.)
   */
  private readSnapshot(stream: string, partition: number, offset: number, max: number): ReadResult {
    const row = this.streamRow(stream);
    checkPartition(row, partition);
    if (!Number.isSafeInteger(offset) || offset < 0) throw new InvalidArgumentError(`invalid offset ${offset}`, 'offset');
    const records: StoredRecord[] = [];
    let next = offset;
    type BatchRow = { base_offset: number; count: number; ts: number; seg_base: number; pos: number; len: number };
    const containing = this.q.batchContaining.get(row.id, partition, offset) as BatchRow | undefined;
    const take = (b: BatchRow) => {
      const start = Math.max(next, b.base_offset);
      const payload = this.segments.read(row.id, partition, b.seg_base, b.pos, b.len);
      next = start + decodeRecords(payload, start - b.base_offset, max - records.length, partition, b.base_offset, b.ts, records);
    };
    if (containing && containing.base_offset + containing.count > offset) take(containing); // offset inside a batch
    if (records.length < max) {
      for (const b of this.q.batchesAfter.iterate(row.id, partition, offset) as IterableIterator<BatchRow>) {
        take(b);
        if (records.length >= max) break;
      }
    }
    if (records.length === 0) next = Math.max(offset, this.partitionInfo(row, partition).earliest);
    return { records, next };
  }

  async waitFor(stream: string, partition: number, offset: number, call?: CallOptions): Promise<void> {
    const channel = channelOf(stream, partition);
    while (!this.closed && !call?.signal?.aborted) {
      const row = this.streamRow(stream);
      if (this.partitionInfo(row, checkPartition(row, partition)).next > offset) return;
      await this.notifier.wait(channel, call?.signal);
    }
  }

  async getOffsets(group: string, stream: string): Promise<Map<number, number>> {
    this.checkOpen();
    const rows = this.q.offsetsOf.all(group, stream) as { partition: number; offset: number }[];
    return new Map(rows.map((r) => [r.partition, r.offset]));
  }

  async getState(key: string): Promise<StateEntry | undefined> {
    this.checkOpen();
    return this.readingState(() => {
      const row = this.q.stateGet.get(key) as StateRow | undefined;
      return row && { value: this.stateValues.valueOf(row), version: row.version };
    });
  }

  async listState(prefix: string): Promise<Map<string, StateEntry>> {
    this.checkOpen();
    return this.readingState(() => {
      const rows = this.q.stateRange.all(prefix, prefix + '\uffff') as (StateRow & { key: string })[];
      return new Map(rows.map((r) => [r.key, { value: this.stateValues.valueOf(r), version: r.version }]));
    });
  }

  /**
   * Runs a state read. A value's file can be deleted by another connection between reading its row
   * and its bytes (the value was replaced or deleted and committed meanwhile): the read is then
   * retried on a newer snapshot.
   */
  private readingState<T>(read: () => T): T {
    for (let attempt = 0; ; attempt++) {
      try {
        return read();
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT' || attempt >= 3) throw e;
      }
    }
  }

  async commit(unit: CommitUnit, call?: CallOptions): Promise<CommitResult> {
    this.checkOpen();
    call?.signal?.throwIfAborted(); // (one synchronous transaction: nothing to stop once it began)
    let done: { result: CommitResult; streams: string[] };
    try {
      done = this.writeLock.run(() => this.commitTx.immediate(unit));
    } catch (e) {
      this.stateValues.settle(false);
      if (unit.objects?.length) this.objects.settle(false);
      if (isFull(e)) throw new StorageFullError(`the disk holding the data directory is full: the unit of work was not committed`, { cause: e });
      throw e;
    }
    this.stateValues.settle(true); // files no value points into any more are deleted
    if (unit.objects?.length) this.objects.settle(true);
    done.result.appends.forEach((results, i) => {
      const touched = new Set<number>();
      for (const r of results) if ('offset' in r && !r.duplicate) touched.add(r.partition);
      for (const p of touched) this.notifier.notify(channelOf(done.streams[i]!, p));
    });
    return done.result;
  }

  stageObject(body: ObjectBody, options?: StageOptions): Promise<StagedObject> {
    this.checkOpen();
    return this.objects.stage(body, options);
  }
  discardStaged(staged: StagedObject): Promise<void> {
    this.checkOpen();
    return this.objects.discard(staged);
  }
  async statObject(name: string): Promise<ObjectInfo | undefined> {
    this.checkOpen();
    return this.objects.stat(name);
  }
  async openObject(name: string, options?: OpenOptions): Promise<OpenedObject | undefined> {
    this.checkOpen();
    return this.objects.open(name, options);
  }
  async listObjects(options?: ListObjectsOptions): Promise<ObjectListing> {
    this.checkOpen();
    return this.objects.list(options);
  }

  putBlob(name: string, data: Uint8Array, call?: CallOptions): Promise<void> {
    return blobs.putBlob(this, name, data, call);
  }
  getBlob(name: string, call?: CallOptions): Promise<Uint8Array | undefined> {
    return blobs.getBlob(this, name, call);
  }
  listBlobs(prefix: string, call?: CallOptions): Promise<BlobInfo[]> {
    return blobs.listBlobs(this, prefix, call);
  }
  deleteBlob(name: string, call?: CallOptions): Promise<boolean> {
    return blobs.deleteBlob(this, name, call);
  }

  async enforceRetention(): Promise<void> {
    this.checkOpen();
    const now = this.clock.now();
    const run = this.db.transaction(() => {
      for (const s of this.q.allStreams.all() as StreamRow[]) {
        this.forget(s.id, this.q.deleteExpired.all(s.id, now - s.retention_ms) as Deleted[]);
        this.q.deleteExpiredDedup.run(s.id, now - s.dedup_window_ms);
      }
    });
    run.immediate();
    this.dropExpiredSegments();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const t of this.timers) clearInterval(t);
    this.notifier.poke();
    this.db.close();
    this.segments.close();
    this.stateValues.close();
    await this.checkpointer?.close();
  }

  private commitInTransaction(unit: CommitUnit): { result: CommitResult; streams: string[] } {
    for (const f of unit.fences ?? []) this.checkVersion(f.key, f.version);
    const objects = unit.objects?.length ? this.objects.write(unit.objects) : [];
    const outputs: CommitAppend[] = [...(unit.appends ?? []), ...(unit.announce ? unit.announce(objects) : [])];
    const appends = outputs.map((a) => {
      const row = this.streamRow(a.stream);
      const results = appendInTransaction(this.appendCtx, row, a.records, this.clock.now());
      return a.batches?.length ? results.concat(appendBatches(this.appendCtx, row, a.batches, this.clock.now())) : results;
    });
    const versions = (unit.state ?? []).map((w) => {
      const { version: current, seg } = this.checkVersion(w.key, w.expectedVersion);
      const file = this.stateValues.replace(seg, w.value);
      if (w.value === null) {
        this.q.stateDelete.run(w.key);
        return 0;
      }
      if (file) this.q.stateUpsert.run(w.key, current + 1, EMPTY, file.seg, file.pos, file.len);
      else this.q.stateUpsert.run(w.key, current + 1, w.value, null, null, null);
      return current + 1;
    });
    for (const o of unit.offsets ?? []) this.q.offsetUpsert.run(o.group, o.stream, o.partition, o.offset);
    return { result: { appends, versions, objects }, streams: outputs.map((a) => a.stream) };
  }

  /** Takes deleted batches' bytes off their partitions' totals; returns how many batches. */
  private forget(stream: number, deleted: Deleted[]): number {
    const bytes = new Map<number, number>();
    for (const d of deleted) bytes.set(d.partition, (bytes.get(d.partition) ?? 0) + d.len);
    for (const [p, n] of bytes) this.q.headBytes.run(n, stream, p);
    return deleted.length;
  }

  /** Deletes segment files that no remaining batch points into (never the one being written). */
  private dropExpiredSegments(): void {
    for (const s of this.q.allStreams.all() as StreamRow[]) for (let p = 0; p < s.partitions; p++) this.dropSegmentsBefore(s, p);
  }

  private dropSegmentsBefore(s: StreamRow, p: number): void {
    const first = this.q.firstBatch.get(s.id, p) as { seg_base: number } | undefined;
    const head = this.q.headGet.get(s.id, p) as { seg_base: number } | undefined;
    if (head) this.segments.dropBefore(s.id, p, first?.seg_base ?? head.seg_base);
  }

  /** The key's current version (0: absent), refused when it is not `expected`; and the state file its value is in, if any. */
  private checkVersion(key: string, expected: number | undefined): { version: number; seg: number | null } {
    const row = this.q.stateVersion.get(key) as { version: number; seg: number | null } | undefined;
    const actual = row?.version ?? 0;
    if (expected !== undefined && expected !== actual) throw new ConflictError(key, expected, actual);
    return { version: actual, seg: row?.seg ?? null };
  }

  private streamRow(name: string): StreamRow {
    const row = this.q.streamByName.get(name) as StreamRow | undefined;
    if (!row) throw new StreamNotFoundError(name);
    return row;
  }


  private partitionInfo(row: StreamRow, partition: number): PartitionInfo {
    const head = this.q.headGet.get(row.id, partition) as { next_offset: number; last_ts: number; bytes: number } | undefined;
    const first = this.q.firstBatch.get(row.id, partition) as { base_offset: number } | undefined;
    const next = head?.next_offset ?? 0;
    return { partition, earliest: first?.base_offset ?? next, next, lastTimestamp: head?.last_ts, bytes: head?.bytes ?? 0 };
  }

  private infoOf(row: StreamRow): StreamInfo {
    return {
      name: row.name,
      partitions: row.partitions,
      retentionMs: row.retention_ms,
      ...(row.key_field === null ? {} : { partitionKeyField: row.key_field }),
      dedupWindowMs: row.dedup_window_ms,
      createdAt: row.created_at,
    };
  }

  /** Wakes waiting readers when another process (or connection) committed since the last check. */
  private pollForeignChanges(): void {
    if (this.closed || this.notifier.size === 0) return;
    const v = this.db.pragma('data_version', { simple: true }) as number;
    if (v !== this.dataVersion) {
      this.dataVersion = v;
      this.notifier.poke();
    }
  }

  private checkOpen(): void {
    if (this.closed) throw new EngineClosedError();
  }
}

/** Creates the schema in a new database; refuses one written by another schema version. */
function migrate(db: Database.Database, file: string): void {
  const version = db.pragma('user_version', { simple: true }) as number;
  const hasTables = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'streams'").get() !== undefined;
  if (version === SCHEMA_VERSION) return;
  if (version === 4) {
    // Version 5 adds the object tables (decision 018). Blobs of a version 4 data dir were files under
    // <dataDir>/blobs: they stay there, no longer read (no release wrote any).
    db.exec(OBJECT_TABLES);
    db.pragma(`user_version = ${SCHEMA_VERSION}`);
    return;
  }
  if (version !== 0 || hasTables) {
    throw new InvalidArgumentError(`${file} was written by storage schema version ${version || 1}; this Sluice reads version ${SCHEMA_VERSION} (no release wrote another: start with a new data directory)`, 'dataDir');
  }
  db.exec(SCHEMA);
  db.pragma(`user_version = ${SCHEMA_VERSION}`);
}

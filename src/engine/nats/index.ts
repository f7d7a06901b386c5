// The scale-out engine: NATS JetStream. Mapping and its departures from ARCHITECTURE.md are in
// docs/decisions/001-engine-contract.md; partitions in partitions.ts; state in state.ts.
import { randomBytes } from 'node:crypto';
import { nanos, type NatsConnection, type Subscription } from '@nats-io/nats-core';
import { jetstream, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import { Objm } from '@nats-io/obj';
import { systemClock, type Clock } from '../../clock.js';
import { decodeRecords, type BatchEntry } from '../batch-codec.js';
import type {
  AppendRecord, AppendResult, BlobInfo, CallOptions, CommitAppend, CommitResult, CommitUnit, EncodedBatch, Engine, ListObjectsOptions, ObjectBody, OpenOptions, PartitionInfo, StageOptions,
  ObjectInfo, ObjectListing, OpenedObject, ReadFrom, ReadResult, StagedObject, StateEntry, StoredRecord, StreamInfo, StreamOptions, StreamUpdate,
} from '../engine.js';
import { SluiceError } from '../../errors.js';
import { ConflictError, EngineClosedError, EngineUnavailableError, InvalidArgumentError, StreamExistsError, StreamNotFoundError } from '../errors.js';
import { channelOf, Notifier } from '../notifier.js';
import { keylessPartition } from '../route.js';
import { mapLimit } from '../limit.js';
import { checkEncodedBatch, checkPartition, checkRetention, checkStreamName, resolveStreamOptions } from '../validate.js';
import { connectJetStream, DEFAULT_PREFIX, DEFAULT_REQUEST_TIMEOUT_MS, type NatsEngineConfig } from './connect.js';
import { cut, entriesOf, planAppend, type Chunk } from './append.js';
import { DedupStore, type Stored } from './dedup.js';
import {
  createPartition, duplicateWindowOf, lastMessage, offsetOf, partitionRef, publishBatch, readRecords, seqAtTime, seqOf, tsOf,
  type PartitionRef,
} from './partitions.js';
import { StateStore, type Current } from './state.js';
import { NatsObjects, type Prepared } from './objects.js';
import { guardJs, guardJsm, guardKv } from './guard.js';
import { NatsRequests, type NatsRequestsOptions } from './requests.js';
import { FailureLog, silentLogger, type Logger } from '../../observe/log.js';
import { background } from '../background.js';
import * as blobs from '../blobs.js';

export type { NatsEngineConfig } from './connect.js';
export { NATS_DEPENDENCY, type NatsPolicyOptions, type NatsRequestsOptions } from './requests.js';

/** Values read at once by a commit's preconditions (each up to a state chunk, 256 KB). */
const MAX_INFLIGHT_READS = 16;
/** A delete without precondition needs no read of the key. */
const NO_CHECK: Current = { version: 0, revision: 0 };

/** Intents of dead writers are looked for this often; unreferenced object chunks are swept this often. */
const RECOVER_INTERVAL_MS = 30_000;
const SWEEP_INTERVAL_MS = 10 * 60_000; // 10 minutes

interface StreamMeta extends StreamInfo {
  id: string;
}

export class NatsEngine implements Engine {
  readonly kind = 'nats';
  readonly atomicCommit = false;
  private readonly notifier = new Notifier();
  private readonly subscriptions = new Map<string, Subscription>();
  private readonly chains = new Map<string, Promise<unknown>>();
  private readonly lastTs = new Map<string, number>();
  private readonly sticky = { next: 0 };
  private readonly maxPayload: number;
  private readonly objects: NatsObjects;
  private readonly timers: NodeJS.Timeout[] = [];
  private closed = false;

  private constructor(
    private readonly nc: NatsConnection,
    /** The requests' policies (the 'nats' dependency). */
    readonly requests: NatsRequests,
    private readonly js: JetStreamClient,
    private readonly jsm: JetStreamManager,
    private readonly meta: KV,
    private readonly state: StateStore,
    objectKv: KV,
    private readonly dedup: DedupStore,
    private readonly prefix: string,
    private readonly replicas: number,
    private readonly clock: Clock,
    timeoutMs: number,
  ) {
    this.maxPayload = nc.info?.max_payload ?? 1024 * 1024;
    this.objects = new NatsObjects({
      js: guardJs(js, requests), jsm, kv: objectKv, kvStream: `KV_${prefix}_objects`, bucket: `${prefix}_blobs`, maxPayload: this.maxPayload, clock, timeoutMs,
      publish: (appends, unit) => this.publishAppends(appends, unit),
    });
  }

  /**
   * Connects, checks JetStream, and opens (creating when missing) the engine's buckets. `log`:
   * where failures of background work (object recovery and sweeps) are logged, once while they
   * last. `options.dependencies`: the process's, whose 'nats' dependency every request goes through.
   */
  static async open(config: NatsEngineConfig, clock: Clock = systemClock, log: Logger = silentLogger(), options: NatsRequestsOptions = {}): Promise<NatsEngine> {
    const { nc, jsm: rawJsm } = await connectJetStream(config);
    const prefix = config.prefix ?? DEFAULT_PREFIX;
    const replicas = config.replicas ?? 1;
    const timeoutMs = config.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    const requests = new NatsRequests(clock, timeoutMs, { ...options, policies: { ...config.policies, ...options.policies } });
    try {
      const js = jetstream(nc, { timeout: timeoutMs });
      const jsm = guardJsm(rawJsm, requests);
      const kvm = new Kvm(js);
      const bucket = async (name: string) => guardKv(await requests.run(() => kvm.create(`${prefix}_${name}`, { history: 1, replicas })), requests);
      const meta = await bucket('streams');
      const state = await bucket('state');
      await requests.run(() => new Objm(js).create(`${prefix}_blobs`, { replicas })); // its stream carries object chunks (decision 018)
      const objectKv = await bucket('objects');
      const dedup = new DedupStore(kvm, prefix, replicas, requests);
      return await NatsEngine.start(new NatsEngine(nc, requests, js, jsm, meta, new StateStore(state), objectKv, dedup, prefix, replicas, clock, timeoutMs), log);
    } catch (e) {
      requests.dispose();
      await nc.close().catch(() => {});
      throw e;
    }
  }

  /** Finishes the units of writers that died mid-commit, then starts the object recovery and sweep timers. */
  private static async start(engine: NatsEngine, log: Logger): Promise<NatsEngine> {
    await engine.objects.recover().catch(unavailable); // writers that died mid-commit: their units complete
    const recovery = new FailureLog(log, 'recovering object writes');
    const sweep = new FailureLog(log, 'sweeping object chunks');
    engine.timers.push(setInterval(() => background(recovery, () => engine.objects.recover()), RECOVER_INTERVAL_MS).unref());
    engine.timers.push(setInterval(() => background(sweep, () => engine.sweepObjects()), SWEEP_INTERVAL_MS).unref());
    return engine;
  }

  async createStream(name: string, options?: StreamOptions): Promise<StreamInfo> {
    this.checkOpen();
    checkStreamName(name);
    const o = resolveStreamOptions(options);
    if (await this.findMeta(name)) throw new StreamExistsError(name);
    const m: StreamMeta = { name, partitions: o.partitions, retentionMs: o.retentionMs, dedupWindowMs: o.dedupWindowMs, createdAt: this.clock.now(), id: randomBytes(6).toString('hex') };
    if (o.partitionKeyField !== undefined) m.partitionKeyField = o.partitionKeyField;
    for (let p = 0; p < m.partitions; p++) await createPartition(this.jsm, this.ref(m, p), { ...o, replicas: this.replicas });
    await this.dedup.create(m.id, m.dedupWindowMs);
    try {
      await this.meta.create(metaKey(name), JSON.stringify(m));
    } catch {
      await this.dropPartitions(m);
      throw new StreamExistsError(name); // another process created it meanwhile
    }
    return infoOf(m);
  }

  async describeStream(name: string): Promise<StreamInfo & { partitionInfo: PartitionInfo[] }> {
    const m = await this.metaOf(name);
    const partitionInfo = await Promise.all([...Array(m.partitions).keys()].map((p) => this.partitionInfo(m, p)));
    return { ...infoOf(m), partitionInfo };
  }

  async listStreams(): Promise<StreamInfo[]> {
    return (await this.allMeta()).map(infoOf);
  }

  async deleteStream(name: string): Promise<void> {
    const m = await this.metaOf(name);
    await this.meta.delete(metaKey(name));
    await this.dropPartitions(m);
    await this.dedup.drop(m.id);
    this.notifier.poke();
  }

  async updateStream(name: string, update: StreamUpdate): Promise<StreamInfo> {
    this.checkOpen();
    const entry = await this.meta.get(metaKey(name)).catch(unavailable);
    if (entry?.operation !== 'PUT') throw new StreamNotFoundError(name);
    const m = JSON.parse(entry.string()) as StreamMeta;
    if (update.retentionMs === undefined) return infoOf(m);
    m.retentionMs = checkRetention(update.retentionMs);
    for (let p = 0; p < m.partitions; p++) {
      const ref = this.ref(m, p);
      const { config } = await this.jsm.streams.info(ref.name).catch(unavailable);
      await this.jsm.streams.update(ref.name, { ...config, max_age: nanos(m.retentionMs), duplicate_window: nanos(duplicateWindowOf(m)) }).catch(unavailable);
    }
    await this.meta.update(metaKey(name), JSON.stringify(m), entry.revision).catch(unavailable);
    return infoOf(m);
  }

  async trim(stream: string, partition: number, before: number): Promise<void> {
    const m = await this.metaOf(stream);
    checkPartition(m, partition);
    if (!Number.isSafeInteger(before) || before < 0) throw new InvalidArgumentError(`invalid offset ${before}`, 'offset');
    // Messages before the one holding `before` hold only records before it.
    const keep = seqOf(before);
    if (keep > 1) await this.jsm.streams.purge(this.ref(m, partition).name, { seq: keep }).catch(unavailable);
  }

  async append(stream: string, records: AppendRecord[], call?: CallOptions): Promise<AppendResult[]> {
    return (await this.commit({ appends: [{ stream, records }] }, call)).appends[0]!;
  }

  async resolve(stream: string, partition: number, from: ReadFrom): Promise<number> {
    const m = await this.metaOf(stream);
    const info = await this.partitionInfo(m, checkPartition(m, partition));
    if (from === 'earliest') return info.earliest;
    if (from === 'latest') return info.next;
    if (typeof from === 'number') {
      if (!Number.isSafeInteger(from) || from < 0) throw new InvalidArgumentError(`invalid offset ${from}`, 'offset');
      return from;
    }
    if (info.earliest === info.next) return info.next;
    return offsetOf(await seqAtTime(this.jsm, this.ref(m, partition), seqOf(info.earliest), seqOf(info.next) - 1, from.timestamp));
  }

  async read(stream: string, partition: number, offset: number, max: number): Promise<ReadResult> {
    const m = await this.metaOf(stream);
    checkPartition(m, partition);
    if (!Number.isSafeInteger(offset) || offset < 0) throw new InvalidArgumentError(`invalid offset ${offset}`, 'offset');
    const result = await readRecords(this.jsm, this.ref(m, partition), partition, offset, max).catch(unavailable);
    if (result.records.length === 0) {
      const info = await this.partitionInfo(m, partition);
      result.next = Math.max(offset, info.earliest);
    }
    return result;
  }

  async waitFor(stream: string, partition: number, offset: number, call?: CallOptions): Promise<void> {
    const m = await this.metaOf(stream);
    const ref = this.ref(m, checkPartition(m, partition));
    const channel = channelOf(stream, partition);
    this.subscribe(ref, channel); // before checking, so an append in between still wakes us
    while (!this.closed && !call?.signal?.aborted) {
      if ((await this.partitionInfo(m, partition)).next > offset) return;
      await this.notifier.wait(channel, call?.signal);
    }
  }

  getOffsets(group: string, stream: string): Promise<Map<number, number>> {
    this.checkOpen();
    return this.state.getOffsets(group, stream);
  }

  getState(key: string): Promise<StateEntry | undefined> {
    this.checkOpen();
    return this.state.get(key);
  }

  listState(prefix: string): Promise<Map<string, StateEntry>> {
    this.checkOpen();
    return this.state.list(prefix);
  }

  /**
   * Preconditions are all checked before anything is written, so a stale owner writes nothing.
   * Then outputs are published (with msg ids derived from `unit.id`, so a replayed unit is
   * de-duplicated by JetStream), then state with compare-and-set, then offsets.
   */
  async commit(unit: CommitUnit, call?: CallOptions): Promise<CommitResult> {
    this.checkOpen();
    return this.commitUnit(unit, call?.signal).catch(unavailable);
  }

  /** An abort is honoured until the first publish: from there on the unit is written whole. */
  private async commitUnit(unit: CommitUnit, signal?: AbortSignal): Promise<CommitResult> {
    signal?.throwIfAborted();
    // Each check reads the key's whole value (NATS 2.9 has no revision-only read): a bounded number
    // at a time, so resetting a pipeline's 1,200 state keys does not hold 130 MB of replies at once.
    await mapLimit(unit.fences ?? [], MAX_INFLIGHT_READS, (f) => this.state.check(f.key, f.version));
    const current: (Current | undefined)[] = await mapLimit(unit.state ?? [], MAX_INFLIGHT_READS, (w) =>
      w.value === null && w.expectedVersion === undefined ? Promise.resolve(undefined) : this.state.check(w.key, w.expectedVersion));
    // Objects: read, checked and versioned before anything is written; then announced (decision 018).
    const prepared: Prepared | undefined = unit.objects?.length ? await this.objects.prepare(unit.objects) : undefined;
    const outputs: CommitAppend[] = [...(unit.appends ?? []), ...(unit.announce ? unit.announce(prepared?.written ?? []) : [])];
    for (const a of outputs) {
      if (!a.batches?.length) continue;
      const m = await this.metaOf(a.stream);
      for (const b of a.batches) checkEncodedBatch(a.stream, m.partitions, b); // before anything is published
    }
    signal?.throwIfAborted();
    // A unit with objects gets an id (its appends' message ids derive from it) and an intent, so a
    // recovery can finish it: written entries and published announcements then always agree.
    const unitId = unit.id ?? (prepared ? `objects/${randomBytes(9).toString('hex')}` : undefined);
    let intent: string | undefined;
    if (prepared && (prepared.ops.length || outputs.length)) {
      intent = await this.objects.begin(unitId!, prepared.ops, outputs);
      try {
        await this.objects.apply(prepared.ops);
      } catch (e) {
        if (e instanceof ConflictError) await this.objects.abandon(intent); // a racing writer: nothing announced
        throw e;
      }
    }
    const appends = await this.publishAppends(outputs, unitId);
    // Outputs whose publish failed leave the unit uncommitted: its state must not move past them.
    const lost = appends.flat().find((r) => 'error' in r && r.error.code === 'Unavailable');
    if (lost && 'error' in lost && (unit.state?.length || unit.offsets?.length)) {
      throw new EngineUnavailableError(`NATS: an output of the unit of work was not stored (${lost.error.message}); nothing of its state was written`);
    }
    const versions: number[] = [];
    for (const [i, w] of (unit.state ?? []).entries()) versions.push(await this.state.write(w.key, w.value, current[i] ?? NO_CHECK, w.expectedVersion !== undefined));
    for (const o of unit.offsets ?? []) await this.state.putOffset(o.group, o.stream, o.partition, o.offset);
    // An announcement not known to be stored keeps the intent: the recovery publishes it again.
    if (prepared) await this.objects.end(lost ? undefined : intent, prepared.used);
    return { appends, versions, objects: prepared?.written ?? [] };
  }

  /** Publishes a unit's appends in order, message ids `<unit>/<i>` when the unit has an id. */
  private async publishAppends(outputs: CommitAppend[], unitId: string | undefined): Promise<AppendResult[][]> {
    const appends: AppendResult[][] = [];
    for (const [i, a] of outputs.entries()) {
      const batches = a.batches ?? [];
      // Encoded batches are published as records (views into their payloads): chunked under max_payload like any.
      const records = batches.length === 0 ? a.records : [...a.records, ...batches.flatMap(batchRecords)];
      const results = await this.appendOne(a.stream, records, unitId === undefined ? undefined : `${unitId}/${i}`);
      if (batches.length === 0) appends.push(results);
      else {
        // The records' results, then one per batch: its first record's.
        const out = results.slice(0, a.records.length);
        let first = a.records.length;
        for (const b of batches) {
          out.push(results[first]!);
          first += b.count;
        }
        appends.push(out);
      }
    }
    return appends;
  }

  stageObject(body: ObjectBody, options?: StageOptions): Promise<StagedObject> {
    this.checkOpen();
    return this.objects.stage(body, options); // its errors are the body's, the signal's, or mapped already
  }
  discardStaged(staged: StagedObject): Promise<void> {
    this.checkOpen();
    return this.objects.discard(staged).catch(unavailable);
  }
  statObject(name: string): Promise<ObjectInfo | undefined> {
    this.checkOpen();
    return this.objects.stat(name).catch(unavailable);
  }
  openObject(name: string, options?: OpenOptions): Promise<OpenedObject | undefined> {
    this.checkOpen();
    return this.objects.open(name, options).catch(unavailable);
  }
  listObjects(options?: ListObjectsOptions): Promise<ObjectListing> {
    this.checkOpen();
    return this.objects.list(options).catch(unavailable);
  }
  /** Redoes dead writers' intents and purges object chunks nothing points at (runs every 10 minutes); how many chunk subjects went. */
  sweepObjects(): Promise<number> {
    this.checkOpen();
    return this.objects.sweep().catch(unavailable);
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

  /** Purges batches older than retention by the engine's clock (JetStream's max_age is the backstop). */
  async enforceRetention(): Promise<void> {
    this.checkOpen();
    const now = this.clock.now();
    for (const m of await this.allMeta()) {
      for (let p = 0; p < m.partitions; p++) {
        const pi = await this.partitionInfo(m, p);
        if (pi.earliest === pi.next) continue;
        const keep = await seqAtTime(this.jsm, this.ref(m, p), seqOf(pi.earliest), seqOf(pi.next) - 1, now - m.retentionMs);
        if (keep > seqOf(pi.earliest)) await this.jsm.streams.purge(this.ref(m, p).name, { seq: keep });
      }
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.requests.close();
    for (const t of this.timers) clearInterval(t);
    this.notifier.poke();
    await Promise.allSettled([...this.chains.values()]);
    for (const s of this.subscriptions.values()) s.unsubscribe();
    await this.nc.close();
    this.requests.dispose();
  }

  private async appendOne(stream: string, records: AppendRecord[], unitId: string | undefined): Promise<AppendResult[]> {
    const m = await this.metaOf(stream);
    const results: AppendResult[] = new Array(records.length);
    const plan = planAppend(records, m.partitions, keylessPartition(records, m.partitions, this.sticky), this.maxPayload, unitId, results);
    // Nothing is published unless the lookup succeeded: a failed lookup fails the append whole.
    const stored = await this.dedup.lookup(m, records, plan.chunks.flatMap((c) => c.indexes), this.clock.now());
    const byPartition = new Map<number, Chunk[]>();
    for (const planned of plan.chunks) {
      for (const c of this.toPublish(records, planned, stored, results)) {
        const list = byPartition.get(c.partition);
        if (list) list.push(c);
        else byPartition.set(c.partition, [c]);
      }
    }
    const published = await Promise.all([...byPartition].map(([p, chunks]) => this.publishChunks(m, p, chunks, records, results)));
    await this.dedup.remember(m, published.flat(), this.clock.now());
    for (const [copy, f] of plan.copies) {
      const r = results[f]!;
      results[copy] = 'offset' in r ? { partition: r.partition, offset: r.offset, duplicate: true } : r;
    }
    return results;
  }

  /**
   * What of a planned chunk to publish. All of it, under its id, unless some of its records were
   * stored by another message (another request sent their ids): those are answered as duplicates
   * and the rest go out as chunks of their own. A chunk whose records were all stored is not sent.
   */
  private toPublish(records: AppendRecord[], chunk: Chunk, stored: Map<number, Stored>, results: AppendResult[]): Chunk[] {
    const elsewhere = chunk.indexes.some((i) => stored.has(i) && stored.get(i)!.msgID !== chunk.msgID);
    const all = chunk.indexes.every((i) => stored.has(i));
    if (!elsewhere && !all) return [chunk]; // JetStream drops it if a first attempt stored it under this id
    const rest: number[] = [];
    for (const i of chunk.indexes) {
      const s = stored.get(i);
      if (s) results[i] = { partition: s.partition, offset: s.offset, duplicate: true };
      else rest.push(i);
    }
    return rest.length === 0 ? [] : cut(records, chunk.partition, rest, this.maxPayload, `${chunk.msgID}/rest`);
  }

  /**
   * Publishes a partition's chunks in order, one partition's appends after another's (arrival
   * time never goes back). Once a chunk fails, the later ones are not sent: a retry must not find
   * them stored before it. Returns the ids of the records stored, for de-duplication.
   */
  private publishChunks(m: StreamMeta, p: number, chunks: Chunk[], records: AppendRecord[], results: AppendResult[]): Promise<{ id: string; at: Stored }[]> {
    const key = `${m.id}/${p}`;
    const run = async () => {
      const ref = this.ref(m, p);
      const ts = Math.max(this.clock.now(), await this.lastTsOf(key, ref));
      const remembered: { id: string; at: Stored }[] = [];
      let failure: string | undefined;
      for (const chunk of chunks) {
        if (failure !== undefined) {
          for (const i of chunk.indexes) results[i] = { error: { code: 'Unavailable', message: `not stored: an earlier part of this append to partition ${p} failed (${failure})` } };
          continue;
        }
        const ack = await this.publishChunk(ref, entriesOf(records, chunk), ts, chunk.msgID, duplicateWindowOf(m));
        if ('error' in ack) {
          failure = ack.error;
          for (const i of chunk.indexes) results[i] = { error: { code: 'Unavailable', message: `not known whether stored: ${ack.error}; send it again with the same id (Idempotency-Key) to store it once` } };
          continue;
        }
        chunk.indexes.forEach((i, j) => {
          const at = { partition: p, offset: offsetOf(ack.seq, j), msgID: chunk.msgID };
          results[i] = ack.duplicate ? { partition: p, offset: at.offset, duplicate: true } : { partition: p, offset: at.offset };
          const id = records[i]!.id;
          if (id !== undefined) remembered.push({ id, at });
        });
      }
      this.lastTs.set(key, ts);
      this.notifier.notify(channelOf(m.name, p));
      return remembered;
    };
    const next = (this.chains.get(key) ?? Promise.resolve()).then(run, run);
    this.chains.set(key, next.catch(() => {}));
    return next;
  }

  /**
   * Publishes one chunk through the 'nats' dependency, again under the same message id when an
   * attempt fails (a timeout may come after JetStream stored it: the next attempt is then answered
   * as its duplicate), while half the partition's duplicate window covers the retry. A duplicate
   * answer to a retry is this call's own write.
   */
  private async publishChunk(ref: PartitionRef, entries: BatchEntry[], ts: number, msgID: string, windowMs: number): Promise<{ seq: number; duplicate: boolean } | { error: string }> {
    let attempts = 0;
    try {
      const ack = await this.requests.publish(() => publishBatch(this.js, ref, entries, ts, msgID), windowMs / 2, () => attempts++);
      // nats-server 2.9 stages an id before storing; a write lost in a leader election leaves it
      // staged, and repeats are "duplicates" of sequence 0 until the window passes: not stored.
      if (ack.duplicate && ack.seq === 0) return { error: `JetStream holds message id ${msgID} from a write a leader election lost; it is taken again once its duplicate window (${Math.round(windowMs / 1000)} s) has passed` };
      return { seq: ack.seq, duplicate: ack.duplicate && attempts === 1 };
    } catch (e) {
      return { error: (e as Error).message };
    }
  }

  private async lastTsOf(key: string, ref: PartitionRef): Promise<number> {
    const known = this.lastTs.get(key);
    if (known !== undefined) return known;
    const last = await lastMessage(this.jsm, ref).catch(() => null);
    return last ? tsOf(last) : 0;
  }

  private subscribe(ref: PartitionRef, channel: string): void {
    if (this.subscriptions.has(channel)) return;
    const sub = this.nc.subscribe(ref.subject, { callback: () => this.notifier.notify(channel) });
    this.subscriptions.set(channel, sub);
  }

  private async partitionInfo(m: StreamMeta, p: number): Promise<PartitionInfo> {
    const ref = this.ref(m, p);
    const s = (await this.jsm.streams.info(ref.name).catch(unavailable)).state;
    const next = offsetOf(s.last_seq + 1);
    const info: PartitionInfo = { partition: p, earliest: s.messages > 0 ? offsetOf(s.first_seq) : next, next, bytes: s.bytes };
    const known = this.lastTs.get(`${m.id}/${p}`);
    if (s.messages > 0) info.lastTimestamp = known ?? tsOf((await lastMessage(this.jsm, ref))!);
    return info;
  }

  private async dropPartitions(m: StreamMeta): Promise<void> {
    for (let p = 0; p < m.partitions; p++) {
      await this.jsm.streams.delete(this.ref(m, p).name).catch(() => false);
      this.subscriptions.get(channelOf(m.name, p))?.unsubscribe();
      this.subscriptions.delete(channelOf(m.name, p));
      this.lastTs.delete(`${m.id}/${p}`);
    }
  }

  private ref(m: StreamMeta, p: number): PartitionRef {
    return partitionRef(this.prefix, m.id, p);
  }

  private async allMeta(): Promise<StreamMeta[]> {
    this.checkOpen();
    const out: StreamMeta[] = [];
    for await (const k of await this.meta.keys()) {
      const e = await this.meta.get(k);
      if (e?.operation === 'PUT') out.push(JSON.parse(e.string()) as StreamMeta);
    }
    return out.sort((a, b) => (a.name < b.name ? -1 : 1));
  }

  private async findMeta(name: string): Promise<StreamMeta | undefined> {
    const e = await this.meta.get(metaKey(name)).catch(unavailable);
    return e?.operation === 'PUT' ? (JSON.parse(e.string()) as StreamMeta) : undefined;
  }

  private async metaOf(name: string): Promise<StreamMeta> {
    this.checkOpen();
    const m = await this.findMeta(name);
    if (!m) throw new StreamNotFoundError(name);
    return m;
  }


  private checkOpen(): void {
    if (this.closed) throw new EngineClosedError();
  }
}

/** NATS client failures (timeouts, no responders during a leader election) are retriable. */
function unavailable(e: unknown): never {
  if (e instanceof SluiceError || (e as Error)?.name === 'AbortError') throw e;
  throw new EngineUnavailableError(`NATS: ${(e as Error)?.message ?? e}`, { cause: e });
}

const metaKey = (name: string) => Buffer.from(name).toString('hex');

function infoOf(m: StreamMeta): StreamInfo {
  const { id: _id, ...info } = m;
  return info;
}

/** An encoded batch's records, for its partition (values are views into the payload). */
function batchRecords(b: EncodedBatch): AppendRecord[] {
  const out: StoredRecord[] = [];
  decodeRecords(b.payload, 0, b.count, b.partition, 0, 0, out);
  return out.map((r) => ({ partition: b.partition, value: r.value }));
}

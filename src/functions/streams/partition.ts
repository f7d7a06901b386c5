// One partition of a stream mapping: reads from the committed offset, passes over records no
// filter matches, deals the rest to lanes by partition key, starts a lane's batch when it is full or
// its batching window has passed, and commits the lowest offset not yet done (at-least-once, in
// order per partition). It waits with engine.waitFor and the injected clock: no polling.
import type { Clock } from '../../clock.js';
import type { Engine } from '../../engine/engine.js';
import type { Payload } from '../runtime/payload.js';
import type { InvokeOutcome } from '../runtime/types.js';
import { envelopeBytes, eventBytesOf, filterView, mapRecord, type EventSource } from './event.js';
import { checkAppended, type Destination } from '../destinations.js';
import { failureMessages, type Discard } from './failure.js';
import { Lane, retryDelay, type LaneHost, type LogLevel } from './lane.js';
import { MAX_PAYLOAD_BYTES, type ResolvedMappingOptions } from './options.js';
import { RESULT_DESTINATION_FAILED, RESULT_NONE, zeroCounters, type PartitionStats } from './stats.js';

const READ_MAX = 10_000; // records per engine read
const MIN_READ_AHEAD = 1_000; // records read ahead at least: a read decodes a whole stored batch, so small reads cost as much as large ones
const MAX_READ_AHEAD_BYTES = 64 * 1024 * 1024; // record bytes held waiting or in flight, per partition
/** Commits coalesce up to this many batches, records or milliseconds (see requestCommit): what a crash may redeliver beyond the batches in flight. */
export const COMMIT_EVERY_BATCHES = 8;
const COMMIT_EVERY_RECORDS = 1_000;
const COMMIT_EVERY_MS = 200;
/**
 * The smallest batchSize whose events are built ahead (prepareAhead): a smaller event costs less to
 * build than the extra turn of the event loop that lets its predecessor be sent first, and at batch
 * size 1 the main thread is what limits invocations per second.
 */
const BUILD_AHEAD_MIN_BATCH = 10;
/** Ends an idle wait's engine wait and sleep (caught, never seen): abort() without a reason builds a DOMException, stack and all, per wait. */
const IDLE_OVER = new Error('the stream mapping stopped waiting');

/** What every partition of one mapping shares. */
export interface MappingContext {
  engine: Engine;
  clock: Clock;
  functionArn: string;
  stream: string;
  /** The consumer group offsets are committed under. */
  group: string;
  /** The stream's creation time (sequence numbers carry it). */
  createdAt: number;
  opts: ResolvedMappingOptions;
  invoke(event: Payload, signal: AbortSignal): Promise<InvokeOutcome>;
  log(line: string, level: LogLevel): void;
  /** The onFailure destination, with its policies (set with opts.onFailure). */
  destination: Destination | undefined;
}

/** Resolves after the promise jobs queued now have run, such as sending an invocation to its worker (setImmediate: not a timer). */
const sent = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** FNV-1a: the lane of a partition key. */
function hashKey(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

export class PartitionPoller implements LaneHost {
  readonly counters = zeroCounters();
  readonly lanes: Lane[];
  readonly clock: Clock;
  readonly opts: ResolvedMappingOptions;
  private next: number;
  private committed: number;
  private commits: Promise<void> = Promise.resolve();
  private commitQueued = false;
  /** Settled since the last commit: batches, records (filtered ones included), and when it was. */
  private since = { batches: 0, records: 0, at: 0 };
  private readonly running = new Set<Promise<void>>();
  private readonly retryingLanes = new Set<Lane>();
  private readonly readAhead: number;
  private readonly maxEventBytes: number;
  /** Whether batches are large enough to build the next one's event while one runs (see prepareAhead). */
  private readonly buildsAhead: boolean;
  private bufferedBytes = 0;
  private dirty = false;
  private waker?: () => void;
  private stopped = false;
  private lastResult = RESULT_NONE;
  private lastResultAt?: number;
  private iteratorAge = 0;

  constructor(
    private readonly ctx: MappingContext,
    readonly partition: number,
    start: number,
    readonly src: EventSource,
    readonly signal: AbortSignal,
  ) {
    this.clock = ctx.clock;
    this.opts = ctx.opts;
    this.next = this.committed = start;
    this.lanes = Array.from({ length: this.opts.parallelizationFactor }, () => new Lane(this));
    this.readAhead = Math.max(MIN_READ_AHEAD, this.opts.batchSize * (this.opts.parallelizationFactor + 1));
    this.maxEventBytes = MAX_PAYLOAD_BYTES - envelopeBytes(src);
    this.buildsAhead = this.opts.batchSize >= BUILD_AHEAD_MIN_BATCH;
  }

  /** Runs until the signal aborts, then lets running batches end and commits what they finished. */
  async run(): Promise<void> {
    let failures = 0;
    while (!this.signal.aborted) {
      this.dirty = false;
      // The batches just started reach their workers before this thread reads or builds the next ones.
      if (this.dispatch() && this.buildsAhead) await sent();
      // Read again once half the read-ahead is used up, not for every record settled (see MIN_READ_AHEAD).
      const buffered = this.buffered();
      const room = this.bufferedBytes >= MAX_READ_AHEAD_BYTES || buffered > this.readAhead / 2 ? 0 : this.readAhead - buffered;
      try {
        if (room > 0) {
          const { records, next } = await this.ctx.engine.read(this.ctx.stream, this.partition, this.next, Math.min(room, READ_MAX), { signal: this.signal });
          failures = 0;
          if (records.length > 0 || next > this.next) {
            this.accept(records, next);
            continue;
          }
        }
        if (this.buildsAhead) this.prepareAhead();
        await this.idle(room > 0);
      } catch (e) {
        if (this.signal.aborted) break;
        this.ctx.log(`reading partition ${this.partition} of '${this.ctx.stream}' failed: ${(e as Error).message}`, 'warn');
        await this.clock.sleep(retryDelay(this.opts, ++failures), this.signal).catch(() => undefined);
      }
    }
    await Promise.allSettled([...this.running]);
    this.requestCommit();
    await this.commits;
    this.stopped = true;
  }

  invoke(event: Payload, signal: AbortSignal): Promise<InvokeOutcome> {
    return this.ctx.invoke(event, signal);
  }

  log(line: string, level: LogLevel): void {
    this.ctx.log(`${this.src.shardId} of '${this.ctx.stream}': ${line}`, level);
  }

  settle(lane: Lane, count: number): void {
    for (const r of lane.queue.splice(0, count)) this.bufferedBytes -= r.value.byteLength;
    this.since.batches++;
    this.since.records += count;
    this.requestCommit();
  }

  async discard(lane: Lane, d: Discard): Promise<void> {
    const count = d.records.length;
    const to = this.ctx.destination;
    if (to !== undefined) await this.deliver(lane, d, to);
    this.counters.recordsDiscarded += count;
    this.settle(lane, count);
  }

  earliest(): Promise<number> {
    return this.ctx.engine.resolve(this.ctx.stream, this.partition, 'earliest');
  }

  result(text: string, iteratorAgeMs?: number): void {
    this.lastResult = text;
    this.lastResultAt = this.clock.now();
    if (iteratorAgeMs !== undefined) this.iteratorAge = iteratorAgeMs;
  }

  retrying(lane: Lane, on: boolean): void {
    if (on) this.retryingLanes.add(lane);
    else this.retryingLanes.delete(lane);
  }

  stats(latestOffset?: number): PartitionStats {
    const caughtUp = this.buffered() === 0 && (latestOffset === undefined || this.next >= latestOffset);
    return {
      partition: this.partition,
      shardId: this.src.shardId,
      state: this.stopped ? 'STOPPED' : this.retryingLanes.size > 0 ? 'RETRYING' : 'OK',
      lastProcessingResult: this.lastResult,
      ...(this.lastResultAt !== undefined && { lastProcessingResultAt: this.lastResultAt }),
      iteratorAgeMs: caughtUp ? 0 : this.iteratorAge,
      committedOffset: this.committed,
      readOffset: this.next,
      ...(latestOffset !== undefined && { latestOffset, lag: Math.max(0, latestOffset - this.committed) }),
      batchesInFlight: this.running.size,
      ...this.counters,
    };
  }

  private buffered(): number {
    let n = 0;
    for (const lane of this.lanes) n += lane.queue.length;
    return n;
  }

  private accept(records: Parameters<typeof mapRecord>[0][], next: number): void {
    const now = this.clock.now();
    const { filter, parallelizationFactor } = this.opts;
    const before = this.buffered();
    for (const s of records) {
      const r = mapRecord(s, this.ctx.createdAt, now);
      if (filter && !filter.matches(filterView(r))) {
        this.counters.recordsFiltered++;
        continue;
      }
      this.lanes[parallelizationFactor === 1 ? 0 : hashKey(r.partitionKey) % parallelizationFactor]!.queue.push(r);
      this.bufferedBytes += r.value.byteLength;
    }
    this.since.records += records.length - (this.buffered() - before);
    this.next = next;
    this.requestCommit(); // records passed over move the offset on when nothing before them is outstanding
  }

  /** Starts a batch on each idle lane whose batch is full or whose window has passed; whether it started any. */
  private dispatch(): boolean {
    const now = this.clock.now();
    const full = this.buffered() >= this.readAhead || this.bufferedBytes >= MAX_READ_AHEAD_BYTES;
    let started = false;
    for (const lane of this.lanes) {
      if (lane.busy || lane.queue.length === 0) continue;
      const n = this.batchLength(lane, 0);
      const ready = this.opts.windowMs === 0 || full || n < lane.queue.length || n >= this.opts.batchSize || now - lane.queue[0]!.queuedAt >= this.opts.windowMs;
      if (!ready) continue;
      const run = lane.run(n).finally(() => {
        this.running.delete(run);
        this.wake();
      });
      this.running.add(run);
      started = true;
    }
    return started;
  }

  /**
   * While a lane's batch is invoked, builds the event of the batch that will follow it if it
   * succeeds, so the main thread does that while the function runs rather than after it returns.
   * Still one batch in flight per lane: only the event is made early, and only used for exactly
   * those records (Lane.prepare). A batch that is not full and may still grow in its window waits.
   */
  private prepareAhead(): void {
    for (const lane of this.lanes) {
      const batch = lane.inFlight;
      // The in-flight batch at the front of the queue (not a bisected half, after which the guess would be wrong).
      if (batch === undefined || lane.queue[batch.length - 1] !== batch.at(-1)) continue;
      const after = lane.queue.length - batch.length;
      if (after === 0) continue;
      const n = this.batchLength(lane, batch.length);
      if (this.opts.windowMs > 0 && n === after && n < this.opts.batchSize) continue;
      lane.prepare(lane.queue.slice(batch.length, batch.length + n));
    }
  }

  /** How many of the lane's queued records from `start` on fit one batch (batchSize, and the 6 MB payload). */
  private batchLength(lane: Lane, start: number): number {
    const max = Math.min(this.opts.batchSize, lane.queue.length - start);
    let bytes = 0;
    for (let i = 0; i < max; i++) {
      bytes += eventBytesOf(lane.queue[start + i]!, this.src);
      if (bytes > this.maxEventBytes) return Math.max(1, i);
    }
    return max;
  }

  /** Waits for a lane to finish, new records, or the earliest batching window to pass. */
  private async idle(canRead: boolean): Promise<void> {
    if (this.dirty) return;
    const woken = new Promise<void>((resolve) => (this.waker = resolve));
    const deadline = this.windowDeadline();
    if (!canRead && deadline === undefined) {
      // Only a lane can end this wait (a lane ends soon after the signal aborts, and wakes it): no engine wait or sleep to cancel.
      await woken;
      this.waker = undefined;
      return;
    }
    const ac = new AbortController();
    const stop = () => ac.abort(IDLE_OVER);
    this.signal.addEventListener('abort', stop, { once: true });
    const waits: Promise<unknown>[] = [woken];
    if (canRead) waits.push(this.ctx.engine.waitFor(this.ctx.stream, this.partition, this.next, { signal: ac.signal }));
    if (deadline !== undefined) waits.push(this.clock.sleep(Math.max(0, deadline - this.clock.now()), ac.signal));
    for (const w of waits) w.catch(() => undefined);
    try {
      await Promise.race(waits);
    } finally {
      this.waker = undefined;
      ac.abort(IDLE_OVER);
      this.signal.removeEventListener('abort', stop);
    }
  }

  private wake(): void {
    this.dirty = true;
    this.waker?.();
  }

  private windowDeadline(): number | undefined {
    if (this.opts.windowMs === 0) return undefined;
    let at: number | undefined;
    for (const lane of this.lanes) {
      if (lane.busy || lane.queue.length === 0) continue;
      const t = lane.queue[0]!.queuedAt + this.opts.windowMs;
      if (at === undefined || t < at) at = t;
    }
    return at;
  }

  /** The lowest offset not yet done, if `lane` settled its first `settling` records. */
  private commitPoint(lane?: Lane, settling = 0): number {
    let point = this.next;
    for (const l of this.lanes) {
      const first = l === lane ? l.queue[settling] : l.queue[0];
      if (first !== undefined && first.offset < point) point = first.offset;
    }
    return point;
  }

  /** Runs engine writes one after another, so committed offsets only grow. */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.commits.then(fn);
    this.commits = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  /**
   * Commits the offset — coalesced: once nothing is buffered, or after COMMIT_EVERY_BATCHES batches,
   * COMMIT_EVERY_RECORDS records or COMMIT_EVERY_MS since the last commit, and when stopping. (A
   * commit per batch was a third of the main thread at batch size 1; a crash redelivers at most
   * that much more, which at-least-once allows and the counters report.)
   */
  private requestCommit(): void {
    if (this.commitQueued || this.commitPoint() <= this.committed) return;
    const due = this.signal.aborted || this.buffered() === 0 || this.since.batches >= COMMIT_EVERY_BATCHES || this.since.records >= COMMIT_EVERY_RECORDS || this.clock.now() - this.since.at >= COMMIT_EVERY_MS;
    if (!due) return;
    this.since = { batches: 0, records: 0, at: this.clock.now() };
    this.commitQueued = true;
    void this.serial(async () => {
      // A batch that a settle let start is sent to its worker first: this synchronous write does not hold it back.
      await sent();
      this.commitQueued = false;
      const offset = this.commitPoint();
      if (offset <= this.committed) return;
      try {
        await this.ctx.engine.commit({ offsets: [{ group: this.ctx.group, stream: this.ctx.stream, partition: this.partition, offset }] });
        this.committed = offset;
      } catch (e) {
        this.log(`committing offset ${offset} failed (retried with the next commit): ${(e as Error).message}`, 'warn');
      }
    });
  }

  /**
   * Writes the failure records and the offset past them in one unit, through the destination's
   * policies, called again after a pause (any error: the lane cannot move on without it) until it
   * lands or the mapping stops. Failures are logged by the destination once per state change.
   */
  private async deliver(lane: Lane, d: Discard, to: Destination): Promise<void> {
    const dest = to.stream;
    const messages = failureMessages(d, this.src, this.ctx.functionArn, this.clock.now());
    const records = messages.map((m) => ({ value: Buffer.from(m), key: this.src.shardId }));
    const id = `${this.ctx.group}:${this.partition}:discard:${d.records[0]!.offset}-${d.records.at(-1)!.offset}`;
    const commit = (signal: AbortSignal) => this.serial(async () => {
      const offset = Math.max(this.committed, this.commitPoint(lane, d.records.length));
      const r = await this.ctx.engine.commit({
        id,
        appends: [{ stream: dest, records }],
        offsets: [{ group: this.ctx.group, stream: this.ctx.stream, partition: this.partition, offset }],
      }, { signal });
      for (const a of r.appends) checkAppended(dest, a);
      this.committed = offset;
    });
    const failed = () => {
      this.counters.destinationDeliveryFailures++;
      this.result(RESULT_DESTINATION_FAILED);
    };
    await to.deliver(commit, this.signal, { again: () => true, kept: 'the records stay in their lane', failed });
    this.counters.destinationDeliveries += messages.length;
  }
}

// A lane of a partition: the records of the partition keys that hash to it, processed one batch at
// a time and in order, so a key's records are never in two batches at once (parallelizationFactor
// lanes per partition run side by side). A batch is invoked, retried with backoff, bisected, checked
// against maximumRecordAge and retention, and finally settled: done, or discarded to onFailure.
// Records always leave a lane from its front, so "done" is a prefix and the partition can commit.
import type { Clock } from '../../clock.js';
import type { Payload } from '../runtime/payload.js';
import type { InvokeOutcome } from '../runtime/types.js';
import { eventOf, type EventSource, type MappedRecord } from './event.js';
import type { Discard, LastInvocation } from './failure.js';
import type { ResolvedMappingOptions } from './options.js';
import {
  RESULT_BAD_RESPONSE,
  RESULT_FUNCTION_FAILED,
  RESULT_ITEMS_FAILED,
  RESULT_NOT_INVOKED,
  RESULT_OK,
  type MappingCounters,
} from './stats.js';
import { judge, type Verdict } from './verdict.js';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/** What a lane needs from its partition. */
export interface LaneHost {
  readonly clock: Clock;
  readonly opts: ResolvedMappingOptions;
  readonly src: EventSource;
  readonly counters: MappingCounters;
  readonly signal: AbortSignal;
  invoke(event: Payload, signal: AbortSignal): Promise<InvokeOutcome>;
  log(line: string, level: LogLevel): void;
  /** The first `count` records of the lane are done. */
  settle(lane: Lane, count: number): void;
  /** Discards the lane's first records durably (to onFailure), then settles them. */
  discard(lane: Lane, d: Discard): Promise<void>;
  /** The partition's oldest retained offset. */
  earliest(): Promise<number>;
  /** Records Lambda's LastProcessingResult and, for an invocation, IteratorAge. */
  result(text: string, iteratorAgeMs?: number): void;
  /** This lane is (or is no longer) waiting to retry a failed batch. */
  retrying(lane: Lane, on: boolean): void;
}

/** Lambda backs off between retries: base · 2^(n−1), capped. */
export const retryDelay = (opts: ResolvedMappingOptions, n: number): number =>
  Math.min(opts.retryMaxDelayMs, opts.retryBaseDelayMs * 2 ** Math.min(30, Math.max(0, n - 1)));

const range = (b: readonly MappedRecord[]) => `${b.length} record${b.length === 1 ? '' : 's'} (offsets ${b[0]!.offset}..${b.at(-1)!.offset})`;

/** An event built ahead of its invocation, and the records it holds. */
interface Prepared {
  first: MappedRecord;
  last: MappedRecord;
  count: number;
  event: Payload;
}

export class Lane {
  /** Outstanding records in offset order; while busy, the in-flight batch is at the front. */
  readonly queue: MappedRecord[] = [];
  busy = false;
  /** The batch whose invocation is running now (not while it waits to be retried). */
  inFlight: readonly MappedRecord[] | undefined;
  /**
   * The next batch's event, built while the batch before it ran (prepare). Used only for a batch of
   * exactly these records (a batch is a run of the queue, so its first record and length name it);
   * after a failure, a bisection or a record expiring the batch differs and its event is built anew.
   */
  private prepared: Prepared | undefined;

  constructor(private readonly host: LaneHost) {}

  /** Processes the first `count` queued records as one batch until they are done or discarded. */
  async run(count: number): Promise<void> {
    this.busy = true;
    try {
      await this.handle(this.queue.slice(0, count), 0, 0);
    } catch (e) {
      if (!this.host.signal.aborted) this.host.log(`stream mapping lane stopped on an unexpected error: ${(e as Error).stack ?? e}`, 'error');
    } finally {
      this.busy = false;
      this.host.retrying(this, false);
    }
  }

  /** One batch: `attempts` failed attempts so far (retries used), `invokes` invocations that held these records. */
  private async handle(batch: MappedRecord[], attempts: number, invokes: number, last?: LastInvocation): Promise<void> {
    const { host } = this;
    const { opts } = host;
    let unavailable = 0;
    for (;;) {
      batch = await this.dropExpired(batch, attempts + unavailable > 0, invokes, last);
      if (batch.length === 0) return;
      const outcome = await this.invokeOnce(batch);
      if (outcome === undefined) {
        // Not invoked (throttled, runtime closed): Lambda retries until the records expire, using no retry attempt.
        await host.clock.sleep(retryDelay(opts, ++unavailable), host.signal);
        continue;
      }
      invokes++;
      const verdict = judge(outcome, batch.map((r) => r.sequenceNumber), opts.reportBatchItemFailures);
      this.report(batch, verdict);
      if (verdict.kind === 'success') {
        host.counters.recordsDelivered += batch.length;
        host.settle(this, batch.length);
        return;
      }
      last = { functionError: verdict.kind === 'failure' ? verdict.functionError : undefined };
      if (verdict.kind === 'failure' && opts.bisect && batch.length > 1) {
        // Splitting uses no retry attempt: each half goes on with the attempts and invocations so far.
        host.counters.bisections++;
        const mid = Math.ceil(batch.length / 2);
        await this.handle(batch.slice(0, mid), attempts, invokes, last);
        await this.handle(batch.slice(mid), attempts, invokes, last);
        return;
      }
      if (verdict.kind === 'partial' && verdict.index > 0) {
        host.counters.recordsDelivered += verdict.index;
        host.settle(this, verdict.index);
        batch = batch.slice(verdict.index);
      }
      attempts++;
      if (opts.maxRetries >= 0 && attempts > opts.maxRetries) {
        host.log(`discarding ${range(batch)} after ${invokes} invocation${invokes === 1 ? '' : 's'}: retry attempts exhausted`, 'warn');
        await host.discard(this, { records: batch, condition: 'RetryAttemptsExhausted', invokeCount: invokes, last });
        return;
      }
      host.counters.retries++;
      host.retrying(this, true);
      await host.clock.sleep(retryDelay(opts, attempts), host.signal);
    }
  }

  /** Discards the front records that passed maximumRecordAge or, on a retry, left the stream's retention. */
  private async dropExpired(batch: MappedRecord[], retry: boolean, invokes: number, last?: LastInvocation): Promise<MappedRecord[]> {
    const { host } = this;
    const maxAge = host.opts.maxRecordAgeMs;
    const now = host.clock.now();
    let k = 0;
    if (maxAge !== undefined) while (k < batch.length && now - batch[k]!.timestamp > maxAge) k++;
    if (retry && k < batch.length) {
      const earliest = await host.earliest().catch(() => 0);
      while (k < batch.length && batch[k]!.offset < earliest) k++;
    }
    if (k === 0) return batch;
    const expired = batch.slice(0, k);
    host.log(`discarding ${range(expired)}: older than maximumRecordAge or past the stream's retention`, 'warn');
    await host.discard(this, { records: expired, condition: 'RecordAgeExceeded', invokeCount: invokes, last });
    return batch.slice(k);
  }

  /** Builds the event of `batch` now, so that invoking it later costs nothing more (see `prepared`). */
  prepare(batch: readonly MappedRecord[]): void {
    if (batch.length === 0 || this.preparedFor(batch)) return;
    this.prepared = { first: batch[0]!, last: batch.at(-1)!, count: batch.length, event: eventOf(batch, this.host.src) };
  }

  /** Whether the prepared event is the one of `batch`. */
  preparedFor(batch: readonly MappedRecord[]): boolean {
    const p = this.prepared;
    return p !== undefined && p.count === batch.length && p.first === batch[0] && p.last === batch.at(-1);
  }

  /** The batch's event: the prepared one when it is this batch's (then dropped: each is used once), else built now. */
  private eventFor(batch: readonly MappedRecord[]): Payload {
    if (!this.preparedFor(batch)) return eventOf(batch, this.host.src);
    const { event } = this.prepared!;
    this.prepared = undefined;
    return event;
  }

  /** Invokes once; undefined when the function could not be invoked at all. */
  private async invokeOnce(batch: MappedRecord[]): Promise<InvokeOutcome | undefined> {
    const { host } = this;
    const event = this.eventFor(batch);
    host.counters.invocations++;
    this.inFlight = batch;
    try {
      return await host.invoke(event, host.signal);
    } catch (e) {
      if (host.signal.aborted) throw e;
      host.counters.invocations--;
      host.result(`${RESULT_NOT_INVOKED}: ${(e as Error).message}`);
      host.log(`could not invoke with ${range(batch)}: ${(e as Error).message}`, 'warn');
      return undefined;
    } finally {
      this.inFlight = undefined;
    }
  }

  private report(batch: MappedRecord[], v: Verdict): void {
    const { host } = this;
    const age = Math.max(0, host.clock.now() - batch.at(-1)!.timestamp);
    if (v.kind === 'success') return host.result(RESULT_OK, age);
    if (v.kind === 'partial') {
      host.result(RESULT_ITEMS_FAILED, age);
      host.log(`${range(batch)}: the function reported failures from offset ${batch[v.index]!.offset}`, 'warn');
      return;
    }
    if (v.functionError) host.counters.functionErrors++;
    host.result(v.functionError ? RESULT_FUNCTION_FAILED : RESULT_BAD_RESPONSE, age);
    host.log(`${range(batch)} failed: ${v.reason}`, 'warn');
  }
}

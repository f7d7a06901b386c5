// The durable queue of a function's asynchronous invocations (Invoke with `Event`, schedules, object
// events): an internal stream per function, read by one consumer that invokes, retries as Lambda
// does (2 more attempts, 1 min then 2 min later), and sends what fails for good — or is older than
// maximumEventAge — to the on-failure destination, in Lambda's destination record shape. Each
// destination record goes through the destination's resilience dependency (destinations.ts); a
// record it could not deliver (a missing stream, say) is delivered again later (1 min, doubling to
// 10 min) until maximumEventAge. What waits — a retry, a delivery to make again — waits in an
// engine state entry of its own (`_sluice/functions/<fn>/async-delayed/…`), not at a place in the
// stream: the queue's offset moves past the events after it, so a restart runs none of them again.
import type { Clock } from '../clock.js';
import type { AppendRecord, Engine } from '../engine/engine.js';
import { StreamExistsError } from '../engine/errors.js';
import { checkAppended, type Destination } from './destinations.js';
import type { InvokeOutcome } from './runtime/types.js';

export const asyncStreamOf = (fn: string) => `_sluice.fn.${fn}.async`;
/** Where a function's waiting retries and deliveries are kept, one state entry each, until done. */
export const delayedPrefix = (fn: string) => `_sluice/functions/${fn}/async-delayed/`;
/** Lambda waits 1 minute before the first retry of an asynchronous event, 2 before the second. */
export const RETRY_DELAYS_MS = [60_000, 120_000];
/** Events of one function in flight at once (waiting out their retry delay, or running). */
const MAX_IN_FLIGHT = 100;
const READ_BATCH = 100;
/** The queue's stream de-duplicates by event id this long (an event queued twice in an hour is stored once). */
const QUEUE_DEDUP_WINDOW_MS = 3_600_000;

/** An asynchronous invocation as queued. */
export interface AsyncEvent {
  requestId: string;
  /** The event, JSON text. */
  payload: string;
  /** When it was first queued (epoch ms); its age counts from here. */
  queuedAt: number;
  /** Attempts made before this one. */
  attempt: number;
  /** Not to be run before (epoch ms): a retry's delay. */
  notBefore: number;
  /** Set on a destination record whose delivery failed: delivered again, the event not run. */
  delivery?: PendingDelivery;
}

/** A destination record queued again after its delivery failed. */
export interface PendingDelivery {
  to: 'onSuccess' | 'onFailure';
  condition: Condition;
  /** Lambda's destination record, as first built. */
  record: unknown;
  /** Deliveries that failed so far. */
  failures: number;
}

type Condition = 'Success' | 'RetriesExhausted' | 'EventAgeExceeded';

/** The pause before a failed destination record is delivered again: 1 minute, doubling, at most 10. */
export const redeliveryDelayMs = (failures: number): number => Math.min(600_000, 60_000 * 2 ** Math.max(0, failures - 1));

export interface AsyncQueueOptions {
  engine: Engine;
  clock: Clock;
  fn: string;
  arn: string;
  /** Retries after the first attempt (Lambda: 0–2, default 2). */
  retries: number;
  maxEventAgeMs: number;
  /** Where events that failed for good (or grew too old) go, and successful ones. Default none. */
  onFailure?: Destination;
  onSuccess?: Destination;
  /** Runs one attempt (taking a concurrency slot: it may wait). */
  invoke: (e: AsyncEvent, signal: AbortSignal) => Promise<InvokeOutcome>;
  log?: (line: string, level?: 'info' | 'warn') => void;
}

/**
 * The record that queues an event: what `enqueue` appends, and what an object trigger's
 * announcement commits with the object it announces (src/functions/objects). Its id is the request
 * id, so the same event queued twice is stored once.
 */
export function queuedRecord(requestId: string, payload: string, now: number): AppendRecord {
  const e: AsyncEvent = { requestId, payload, queuedAt: now, attempt: 0, notBefore: now };
  return { id: requestId, partition: 0, value: Buffer.from(JSON.stringify(e)) };
}

/** Creates a function's queue stream when missing (the registry at start; `sluice dev` before the gateway takes writes that announce into it). */
export async function ensureAsyncQueue(engine: Engine, fn: string): Promise<void> {
  try {
    await engine.createStream(asyncStreamOf(fn), { partitions: 1, dedupWindowMs: QUEUE_DEDUP_WINDOW_MS });
  } catch (e) {
    if (!(e instanceof StreamExistsError)) throw e;
  }
}

export class AsyncQueue {
  private readonly stream: string;
  private readonly group: string;
  private inFlight = 0;
  private retried = 0;
  private failedForGood = 0;
  private committed = 0;
  /** What runs now: events read from the stream, and delayed ones. */
  private readonly handling = new Set<Promise<void>>();
  /** Keys of the delayed entries this process runs (one run each, however often it is written). */
  private readonly delayed = new Set<string>();
  /** Callers waiting for an event's first attempt (schedules: a run lasts until then). */
  private readonly waiting = new Map<string, (outcome: InvokeOutcome | Error) => void>();

  constructor(private readonly o: AsyncQueueOptions) {
    this.stream = asyncStreamOf(o.fn);
    this.group = `fn:${o.fn}:async`;
  }

  /** Queues an event durably; resolves once it is stored (Invoke answers 202 then). */
  async enqueue(requestId: string, payload: string): Promise<void> {
    const [r] = await this.o.engine.append(this.stream, [queuedRecord(requestId, payload, this.o.clock.now())]);
    if (r && 'error' in r) throw new Error(`could not queue the event: ${r.error.message}`);
  }

  /**
   * Queues an event durably and resolves with its first attempt's outcome (a schedule's run lasts
   * that long; its retries go on in the queue). Rejects when it could not be queued, or the event
   * ended without an attempt (too old, or the queue stopped).
   */
  async enqueueAndWait(requestId: string, payload: string, signal: AbortSignal): Promise<InvokeOutcome> {
    const settled = new Promise<InvokeOutcome>((resolve, reject) => {
      const done = (o: InvokeOutcome | Error) => {
        this.waiting.delete(requestId);
        signal.removeEventListener('abort', stopped);
        if (o instanceof Error) reject(o);
        else resolve(o);
      };
      const stopped = () => done(new Error('the function stopped before the event ran'));
      this.waiting.set(requestId, done);
      signal.addEventListener('abort', stopped, { once: true });
    });
    try {
      await this.enqueue(requestId, payload);
    } catch (e) {
      this.waiting.get(requestId)?.(e as Error);
    }
    return settled;
  }

  /**
   * Consumes until the signal aborts: events run concurrently; the committed offset moves past those
   * done, in order. An event the stop caught waiting (for its retry's time, or a slot) is not done:
   * the offset stays before it, so it runs after a restart. Resolves once the events in flight settled.
   */
  async run(signal: AbortSignal): Promise<void> {
    const { engine } = this.o;
    let next = (await engine.getOffsets(this.group, this.stream)).get(0) ?? (await engine.resolve(this.stream, 0, 'earliest'));
    this.committed = next;
    for (const [key, entry] of await engine.listState(delayedPrefix(this.o.fn))) {
      const e = entry.value && parseEvent(entry.value);
      if (e) this.later(key, e, signal);
      else this.o.log?.(`function ${this.o.fn}: the delayed entry ${key} is not an event: passed over`);
    }
    const open: { offset: number; done: boolean }[] = []; // read and not yet committed past, in offset order
    const commit = async () => {
      while (open[0]?.done) open.shift();
      const to = open[0]?.offset ?? next;
      if (to <= this.committed) return;
      this.committed = to;
      await engine.commit({ offsets: [{ group: this.group, stream: this.stream, partition: 0, offset: to }] }).catch((e: Error) => this.o.log?.(`function ${this.o.fn}: could not commit its async queue offset: ${e.message}`));
    };
    const slotFreed = { wake: () => {} };
    while (!signal.aborted) {
      const { records, next: after } = await engine.read(this.stream, 0, next, READ_BATCH);
      if (records.length === 0) {
        await commit();
        await engine.waitFor(this.stream, 0, after, { signal }).catch(() => {});
        next = Math.max(next, after);
        continue;
      }
      for (const r of records) {
        while (this.inFlight >= MAX_IN_FLIGHT && !signal.aborted) await new Promise<void>((w) => (slotFreed.wake = w));
        const entry = { offset: r.offset, done: false };
        open.push(entry);
        const e = parseEvent(r.value);
        if (!e) this.o.log?.(`function ${this.o.fn}: the async queue's record at offset ${r.offset} is not an event: passed over`);
        this.track((e ? this.handle(e, signal) : Promise.resolve(true)).then((settled) => {
          entry.done = settled;
          slotFreed.wake();
          void commit();
        }));
      }
      next = after;
    }
    while (this.handling.size > 0) await Promise.allSettled([...this.handling]);
    await commit();
  }

  /** Counts `work` in flight until it settles. */
  private track(work: Promise<void>): void {
    this.inFlight++;
    const p = work.finally(() => {
      this.inFlight--;
      this.handling.delete(p);
    });
    this.handling.add(p);
  }

  /**
   * Keeps `e` (a retry, a delivery to make again) in its own state entry, then runs it when due;
   * the entry goes once it is done. Resolves false when it could not be stored.
   */
  private async delay(key: string, e: AsyncEvent, signal: AbortSignal): Promise<boolean> {
    try {
      await this.o.engine.commit({ state: [{ key, value: Buffer.from(JSON.stringify(e)) }] });
    } catch (err) {
      this.o.log?.(`function ${this.o.fn}: async event ${e.requestId}: could not keep it for later: ${(err as Error).message}`);
      return false;
    }
    this.later(key, e, signal);
    return true;
  }

  /** Runs a delayed entry (once per process), removing it when done; a stop leaves it for the next run. */
  private later(key: string, e: AsyncEvent, signal: AbortSignal): void {
    if (this.delayed.has(key) || signal.aborted) return;
    this.delayed.add(key);
    this.track(this.handle(e, signal).then(async (settled) => {
      if (settled) await this.o.engine.commit({ state: [{ key, value: null }] }).catch((err: Error) => this.o.log?.(`function ${this.o.fn}: could not remove the done delayed entry ${key}: ${err.message}`));
    }).finally(() => this.delayed.delete(key)));
  }

  stats(): { inFlight: number; retried: number; failedForGood: number; committed: number } {
    return { inFlight: this.inFlight, retried: this.retried, failedForGood: this.failedForGood, committed: this.committed };
  }

  /**
   * One event's attempt: run it when due; then a retry, a destination record, or nothing more.
   * Resolves true once its record is no longer needed; false when it must run again after a restart
   * (the queue stopped before its outcome was kept, or its retry or undelivered destination record
   * could not be kept).
   */
  private async handle(e: AsyncEvent, signal: AbortSignal): Promise<boolean> {
    const { clock } = this.o;
    try {
      if (e.delivery) return await this.redeliver(e, e.delivery, signal);
      if (clock.now() - e.queuedAt > this.o.maxEventAgeMs) {
        this.waiting.get(e.requestId)?.(new Error('the event grew older than maximumEventAge before it ran'));
        if (!(await this.destination('onFailure', e, 'EventAgeExceeded', undefined, signal))) return false;
        this.failedForGood++;
        return true;
      }
      if (e.notBefore > clock.now()) await clock.sleep(e.notBefore - clock.now(), signal);
      const outcome = await this.o.invoke(e, signal);
      if (e.attempt === 0) this.waiting.get(e.requestId)?.(outcome);
      if (outcome.ok) {
        return await this.destination('onSuccess', { ...e, attempt: e.attempt + 1 }, 'Success', outcome, signal);
      }
      if (e.attempt < this.o.retries) {
        this.retried++;
        const retry: AsyncEvent = { ...e, attempt: e.attempt + 1, notBefore: clock.now() + (RETRY_DELAYS_MS[e.attempt] ?? RETRY_DELAYS_MS.at(-1)!) };
        // (Its key makes a retry kept once, even if a crash makes this attempt run again.)
        return await this.delay(`${delayedPrefix(this.o.fn)}${e.requestId}:${retry.attempt}`, retry, signal);
      }
      if (!(await this.destination('onFailure', { ...e, attempt: e.attempt + 1 }, 'RetriesExhausted', outcome, signal))) return false;
      this.failedForGood++;
      return true;
    } catch (err) {
      this.waiting.get(e.requestId)?.(err as Error);
      if (!signal.aborted) this.o.log?.(`function ${this.o.fn}: async event ${e.requestId}: ${(err as Error).message}`);
      return false;
    }
  }

  /**
   * Lambda's destination record, appended to the destination's stream (nothing when none is set)
   * through its policies; a delivery they gave up on is made again after a pause while the error
   * is retriable (until the queue stops). A record that could not be delivered is kept to be
   * delivered again later (logged by the destination once per state change, not per event).
   * Resolves false when neither happened (the queue stopped, or it could not be kept): the event is
   * then not done, and runs again after a restart.
   */
  private async destination(kind: 'onSuccess' | 'onFailure', e: AsyncEvent, condition: Condition, outcome: InvokeOutcome | undefined, signal: AbortSignal): Promise<boolean> {
    if (!this.o[kind]) return true;
    const record = {
      version: '1.0',
      timestamp: new Date(this.o.clock.now()).toISOString(),
      requestContext: { requestId: e.requestId, functionArn: `${this.o.arn}:$LATEST`, condition, approximateInvokeCount: e.attempt },
      requestPayload: parseOr(e.payload),
      responseContext: { statusCode: 200, executedVersion: '$LATEST', ...(outcome && !outcome.ok ? { functionError: 'Unhandled' } : {}) },
      responsePayload: outcome === undefined ? null : outcome.ok ? parseOr(outcome.result) : { errorType: outcome.error.errorType, errorMessage: outcome.error.errorMessage, trace: outcome.error.trace },
    };
    return this.deliver(e, { to: kind, condition, record, failures: 0 }, signal);
  }

  /** A destination record queued again: delivered when due, or dropped (logged) once the event is older than maximumEventAge. */
  private async redeliver(e: AsyncEvent, d: PendingDelivery, signal: AbortSignal): Promise<boolean> {
    const { clock } = this.o;
    if (!this.o[d.to]) return true; // the destination is no longer configured
    const tooOld = () => {
      if (clock.now() - e.queuedAt <= this.o.maxEventAgeMs) return false;
      this.o.log?.(`function ${this.o.fn}: async event ${e.requestId}: its ${d.to} record was not delivered in ${d.failures} tries within maximumEventAge; dropped`, 'warn');
      return true;
    };
    if (tooOld()) return true;
    if (e.notBefore > clock.now()) await clock.sleep(e.notBefore - clock.now(), signal);
    return tooOld() || this.deliver(e, d, signal);
  }

  private async deliver(e: AsyncEvent, d: PendingDelivery, signal: AbortSignal): Promise<boolean> {
    const to = this.o[d.to]!;
    // Its id makes a repeat (a retry after a lost answer, a delivery made again after a restart) stored once.
    const value = [{ id: `${e.requestId}:${d.condition}`, value: Buffer.from(JSON.stringify(d.record)) }];
    try {
      await to.deliver(async (s) => checkAppended(to.stream, await this.o.engine.append(to.stream, value, { signal: s })), signal, { kept: 'queued again, delivered later (until maximumEventAge)' });
      return true;
    } catch {
      if (signal.aborted) return false;
      const failures = d.failures + 1;
      const pending: AsyncEvent = { ...e, delivery: { ...d, failures }, notBefore: this.o.clock.now() + redeliveryDelayMs(failures) };
      return this.delay(`${delayedPrefix(this.o.fn)}${e.requestId}:${d.condition}:delivery:${failures}`, pending, signal);
    }
  }
}

/** A queued event, or undefined for a record that is not one (written by something else than the queue). */
function parseEvent(value: Uint8Array): AsyncEvent | undefined {
  try {
    const e = JSON.parse(Buffer.from(value).toString()) as Partial<AsyncEvent> | null;
    const ok = e !== null && typeof e === 'object' && typeof e.requestId === 'string' && typeof e.payload === 'string' && typeof e.queuedAt === 'number' && typeof e.attempt === 'number' && typeof e.notBefore === 'number';
    return ok && (e.delivery === undefined || isDelivery(e.delivery)) ? (e as AsyncEvent) : undefined;
  } catch {
    return undefined;
  }
}

const CONDITIONS: readonly unknown[] = ['Success', 'RetriesExhausted', 'EventAgeExceeded'];

/** A pending delivery names one of the two destinations (not any option of the queue) and a condition. */
function isDelivery(d: unknown): d is PendingDelivery {
  if (d === null || typeof d !== 'object') return false;
  const { to, condition, failures } = d as Partial<PendingDelivery>;
  return (to === 'onSuccess' || to === 'onFailure') && CONDITIONS.includes(condition) && typeof failures === 'number' && 'record' in d;
}

function parseOr(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

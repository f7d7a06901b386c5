// A producer for Node applications: records are batched into native-API appends, each batch sent
// with an Idempotency-Key that stays the same across its retries (so a retry after a lost answer
// or a 503 never stores a record twice), through the resilience policies (per-attempt timeout,
// full-jitter retries honouring Retry-After within the producer's retry budget, a circuit
// breaker), and with a bounded buffer: when it is full, put() waits for room, and past a bounded
// queue of waiting puts it refuses, so memory never grows without bound.
import { randomUUID } from 'node:crypto';
import { systemClock, type Clock } from '../clock.js';
import { withDefaults } from '../defaults.js';
import { SluiceError } from '../errors.js';
import { Dependency, isRetriableStatus, parseRetryAfter, type DependencyOptions, type DependencyStats } from '../resilience/index.js';

export const DEFAULT_URL = 'http://127.0.0.1:4320';
export const DEFAULT_MAX_BATCH_RECORDS = 500;
export const DEFAULT_MAX_BATCH_BYTES = 1024 * 1024;
export const DEFAULT_LINGER_MS = 20;
export const DEFAULT_MAX_BUFFERED_BYTES = 16 * 1024 * 1024;
export const DEFAULT_MAX_WAITING_PUTS = 10_000;
/** Retries of a batch: they outlast a gateway's brief overload (429/503 with Retry-After) but not an outage. */
export const DEFAULT_PRODUCER_RETRY = { maxAttempts: 8, baseDelayMs: 100, maxDelayMs: 5_000 } as const;
export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;

export interface ProducerOptions {
  /** The gateway. Default SLUICE_URL, else http://127.0.0.1:4320. */
  url?: string;
  /** An API key with write on the stream. Default SLUICE_API_KEY, else none (an open gateway). */
  apiKey?: string;
  /** Records per request. Default 500. */
  maxBatchRecords?: number;
  /** Record bytes per request (the gateway's body limit must allow it). Default 1 MiB. */
  maxBatchBytes?: number;
  /** How long a record may wait for its batch to fill before the batch is sent. Default 20 ms. */
  lingerMs?: number;
  /** Record bytes held (waiting for a batch, or in flight) before put() waits for room: the backpressure. Default 16 MiB. */
  maxBufferedBytes?: number;
  /** Puts that may wait for room at once; one more is refused with ProducerBufferFullError. Default 10,000. */
  maxWaitingPuts?: number;
  /**
   * Requests in flight at once. Default 1: batches are stored in the order they were put. With
   * more, a batch retried after a failure can be stored after later ones.
   */
  maxInFlight?: number;
  /** The resilience policies of the calls to the gateway (timeout per attempt, retries, breaker, budget). Default: 30 s, 8 attempts, 100 ms → 5 s backoff, the breaker's and budget's defaults, no bulkhead. */
  policies?: Omit<DependencyOptions, 'clock'>;
  /** Injected time (linger, backoff, breaker, budget). Default the system clock. */
  clock?: Clock;
  /** Told before each retry of a batch: the failed attempt (1 for the first), the wait, the error. */
  onRetry?: (e: { attempt: number; delayMs: number; error: unknown }) => void;
}

/** A record to put: its value (any JSON value, or one JSON text as a Buffer, kept as sent), and the native API's envelope fields. */
export interface ProducerRecord {
  value: unknown;
  /** Partition key (records of one key keep their order). */
  key?: string;
  /** Record id for de-duplication across producers (default: the batch's Idempotency-Key and the record's index). */
  id?: string;
  /** Explicit hash key (a decimal 128-bit integer), as Kinesis' ExplicitHashKey. */
  hashKey?: string;
}

/** Where a record was stored (`duplicate`: it was already, from an earlier attempt of its batch). */
export interface Receipt {
  partition: number;
  offset: number;
  duplicate: boolean;
}

/** The gateway refused a record (not retriable: the record itself is wrong, or the stream is missing, or access is denied). */
export class ProducerRecordError extends SluiceError {
  readonly code: string;
  constructor(code: string, message: string, readonly status?: number) {
    super(`${code}: ${message}`);
    this.code = code;
  }
}

/** A batch that could not be stored within its retries (the gateway unreachable, overloaded or failing); its records may be put again. */
export class ProducerUnavailableError extends SluiceError {
  readonly code = 'ProducerUnavailable';
  override readonly retriable = true;
}

/** put() while the buffer is full and as many puts wait as allowed: slow down. */
export class ProducerBufferFullError extends SluiceError {
  readonly code = 'ProducerBufferFull';
  override readonly retriable = true;
}

/** put() after close(). */
export class ProducerClosedError extends SluiceError {
  readonly code = 'ProducerClosed';
}

export const isProducerRecordError = (e: unknown): e is ProducerRecordError => e instanceof ProducerRecordError;
export const isProducerUnavailable = (e: unknown): e is ProducerUnavailableError => e instanceof ProducerUnavailableError;
export const isProducerBufferFull = (e: unknown): e is ProducerBufferFullError => e instanceof ProducerBufferFullError;

/** An HTTP answer worth retrying (429, 503, 5xx), with its Retry-After: what the retry policy classifies. */
class GatewayAnswerError extends Error {
  constructor(readonly status: number, message: string, readonly retryAfterMs: number | undefined) {
    super(message);
  }
}

interface Pending {
  line: string;
  bytes: number;
  resolve: (r: Receipt) => void;
  reject: (e: Error) => void;
}

interface Waiting {
  bytes: number;
  go: () => void;
  fail: (e: Error) => void;
}

export interface ProducerStats {
  /** Records put, stored (duplicates included), refused, and failed within their retries. */
  records: { put: number; stored: number; duplicates: number; refused: number; failed: number };
  /** Requests sent: batches and their retries. */
  requests: number;
  /** Record bytes held now (buffered or in flight), and puts waiting for room. */
  bufferedBytes: number;
  waitingPuts: number;
  /** The gateway's dependency: attempts, retries, budget refusals, breaker state. */
  gateway: DependencyStats;
}

type Resolved = Required<Omit<ProducerOptions, 'apiKey' | 'policies' | 'onRetry'>> & Pick<ProducerOptions, 'apiKey' | 'policies' | 'onRetry'>;

export class Producer {
  private readonly o: Resolved;
  private readonly path: string;
  private readonly headers: Record<string, string>;
  private readonly gateway: Dependency;
  private readonly id = randomUUID();
  private batchNo = 0;
  private batch: Pending[] = [];
  private batchBytes = 0;
  private lingerTimer: { abort: AbortController } | undefined;
  private buffered = 0;
  private readonly waiting: Waiting[] = [];
  private inFlight = 0;
  private readonly sendQueue: Pending[][] = [];
  private readonly idle: (() => void)[] = [];
  private readonly writable: (() => void)[] = [];
  private closed = false;
  private readonly stop = new AbortController();
  private readonly counts = { put: 0, stored: 0, duplicates: 0, refused: 0, failed: 0, requests: 0 };

  constructor(readonly stream: string, options: ProducerOptions = {}) {
    this.o = withDefaults({
      url: process.env.SLUICE_URL ?? DEFAULT_URL,
      maxBatchRecords: DEFAULT_MAX_BATCH_RECORDS,
      maxBatchBytes: DEFAULT_MAX_BATCH_BYTES,
      lingerMs: DEFAULT_LINGER_MS,
      maxBufferedBytes: DEFAULT_MAX_BUFFERED_BYTES,
      maxWaitingPuts: DEFAULT_MAX_WAITING_PUTS,
      maxInFlight: 1,
      clock: systemClock,
    }, options) as Resolved;
    for (const f of ['maxBatchRecords', 'maxBatchBytes', 'maxBufferedBytes', 'maxInFlight'] as const) {
      if (!Number.isSafeInteger(this.o[f]) || this.o[f] < 1) throw new RangeError(`Producer: ${f} must be a positive integer, got ${this.o[f]}`);
    }
    for (const f of ['lingerMs', 'maxWaitingPuts'] as const) {
      if (!Number.isSafeInteger(this.o[f]) || this.o[f] < 0) throw new RangeError(`Producer: ${f} must be a whole number, got ${this.o[f]}`);
    }
    if (this.o.maxBufferedBytes < this.o.maxBatchBytes) throw new RangeError(`Producer: maxBufferedBytes (${this.o.maxBufferedBytes}) must be at least maxBatchBytes (${this.o.maxBatchBytes})`);
    this.path = `${this.o.url.replace(/\/$/, '')}/v1/streams/${encodeURIComponent(stream)}/records?format=envelope`;
    const key = options.apiKey ?? process.env.SLUICE_API_KEY;
    this.headers = { 'content-type': 'application/x-ndjson', ...(key ? { authorization: `Bearer ${key}` } : {}) };
    const p = options.policies ?? {};
    this.gateway = new Dependency(`sluice:${stream}`, {
      timeout: { timeoutMs: DEFAULT_REQUEST_TIMEOUT_MS },
      retry: DEFAULT_PRODUCER_RETRY,
      bulkhead: false,
      ...p,
      clock: this.o.clock,
    });
    if (options.onRetry && this.gateway.retry) this.gateway.retry.onRetry(options.onRetry);
  }

  /**
   * Resolves when a put would not wait for room: the way to feed the producer from a loop
   * (`await producer.whenWritable(); void producer.put(r).then(…)`) with memory bounded.
   */
  whenWritable(): Promise<void> {
    if (this.hasRoom()) return Promise.resolve();
    return new Promise<void>((resolve) => this.writable.push(resolve));
  }

  private hasRoom(): boolean {
    return this.waiting.length === 0 && this.buffered + this.o.maxBatchBytes <= this.o.maxBufferedBytes;
  }

  /**
   * Puts a record; resolves with where it was stored once its batch was. Waits for room while the
   * buffer is full (await it to be slowed down to what the gateway takes). Rejects with
   * ProducerRecordError when the gateway refuses the record, ProducerUnavailableError when its
   * batch could not be stored within its retries, ProducerBufferFullError when too many puts wait.
   */
  async put(record: ProducerRecord): Promise<Receipt> {
    if (this.closed) throw new ProducerClosedError(`the producer of stream '${this.stream}' is closed`);
    const line = lineOf(record);
    const bytes = Buffer.byteLength(line) + 1;
    if (bytes > this.o.maxBatchBytes) throw new ProducerRecordError('RecordTooLarge', `the record takes ${bytes} bytes, more than a batch may (maxBatchBytes ${this.o.maxBatchBytes})`);
    this.counts.put++;
    // Its bytes are reserved here, or by release() when it lets a waiting put in.
    if (this.buffered + bytes > this.o.maxBufferedBytes || this.waiting.length > 0) await this.room(bytes);
    else this.buffered += bytes;
    if (this.closed) {
      this.buffered -= bytes;
      throw new ProducerClosedError(`the producer of stream '${this.stream}' is closed`);
    }
    return new Promise<Receipt>((resolve, reject) => {
      if (this.batchBytes + bytes > this.o.maxBatchBytes) this.cut();
      this.batch.push({ line, bytes, resolve, reject });
      this.batchBytes += bytes;
      if (this.batch.length >= this.o.maxBatchRecords) this.cut();
      else if (!this.lingerTimer) this.linger();
    });
  }

  /** Sends what is buffered now and resolves when every batch sent so far has been answered. */
  async flush(): Promise<void> {
    this.cut();
    if (this.inFlight === 0 && this.sendQueue.length === 0) return;
    await new Promise<void>((resolve) => this.idle.push(resolve));
  }

  /** Flushes, then refuses new puts; waiting puts fail with ProducerClosedError. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const w of this.waiting.splice(0)) w.fail(new ProducerClosedError(`the producer of stream '${this.stream}' closed while the put waited for room`));
    for (const r of this.writable.splice(0)) r();
    await this.flush();
    this.stop.abort();
    this.gateway.dispose();
  }

  /** Closes without sending what is buffered and not sent yet (those puts fail with ProducerClosedError); batches in flight finish. */
  async discard(): Promise<void> {
    this.lingerTimer?.abort.abort();
    this.lingerTimer = undefined;
    const dropped = [...this.batch, ...this.sendQueue.splice(0).flat()];
    this.batch = [];
    this.batchBytes = 0;
    const closed = new ProducerClosedError(`the producer of stream '${this.stream}' was discarded before the record was sent`);
    for (const p of dropped) {
      this.buffered -= p.bytes;
      p.reject(closed);
    }
    await this.close();
  }

  get stats(): ProducerStats {
    const { requests, ...records } = this.counts;
    return { records, requests, bufferedBytes: this.buffered, waitingPuts: this.waiting.length, gateway: this.gateway.stats };
  }

  private room(bytes: number): Promise<void> {
    if (this.waiting.length >= this.o.maxWaitingPuts) {
      this.counts.put--;
      return Promise.reject(new ProducerBufferFullError(`the producer's buffer is full (${this.buffered} of ${this.o.maxBufferedBytes} bytes) and ${this.waiting.length} puts wait for room`));
    }
    return new Promise<void>((go, fail) => this.waiting.push({ bytes, go, fail }));
  }

  /** Lets waiting puts in, in order, while their bytes fit (reserving them). */
  private release(bytes: number): void {
    this.buffered -= bytes;
    while (this.waiting.length > 0 && this.buffered + this.waiting[0]!.bytes <= this.o.maxBufferedBytes) {
      const w = this.waiting.shift()!;
      this.buffered += w.bytes;
      w.go();
    }
    if (this.hasRoom()) for (const r of this.writable.splice(0)) r();
  }

  private linger(): void {
    const abort = new AbortController();
    this.lingerTimer = { abort };
    this.o.clock.sleep(this.o.lingerMs, abort.signal).then(() => {
      if (this.lingerTimer?.abort === abort) this.cut();
    }, () => {});
  }

  /** Ends the batch being filled and queues it for sending. */
  private cut(): void {
    this.lingerTimer?.abort.abort();
    this.lingerTimer = undefined;
    if (this.batch.length === 0) return;
    this.sendQueue.push(this.batch);
    this.batch = [];
    this.batchBytes = 0;
    this.pump();
  }

  private pump(): void {
    while (this.inFlight < this.o.maxInFlight && this.sendQueue.length > 0) {
      const batch = this.sendQueue.shift()!;
      this.inFlight++;
      void this.send(batch).finally(() => {
        this.inFlight--;
        this.release(batch.reduce((s, p) => s + p.bytes, 0));
        this.pump();
        if (this.inFlight === 0 && this.sendQueue.length === 0) for (const r of this.idle.splice(0)) r();
      });
    }
  }

  /** Sends one batch with its own Idempotency-Key through the policies; settles each record's put. */
  private async send(batch: Pending[]): Promise<void> {
    const key = `${this.id}-${this.batchNo++}`;
    const body = batch.map((p) => p.line).join('\n');
    let answer: { results: ({ partition: number; offset: number; duplicate?: boolean } | { error: { code: string; message: string } })[] };
    try {
      answer = await this.gateway.execute((signal) => this.attempt(body, batch.length, key, signal), this.stop.signal);
    } catch (e) {
      const error = e instanceof ProducerRecordError ? e : new ProducerUnavailableError(`a batch of ${batch.length} records to stream '${this.stream}' was not stored: ${reasonOf(e)}`, { cause: e });
      if (e instanceof ProducerRecordError) this.counts.refused += batch.length;
      else this.counts.failed += batch.length;
      for (const p of batch) p.reject(error);
      return;
    }
    answer.results.forEach((r, i) => {
      const p = batch[i]!;
      if ('error' in r) {
        this.counts.refused++;
        p.reject(new ProducerRecordError(r.error.code, r.error.message));
      } else {
        this.counts.stored++;
        if (r.duplicate) this.counts.duplicates++;
        p.resolve({ partition: r.partition, offset: r.offset, duplicate: r.duplicate === true });
      }
    });
  }

  /** One attempt: a 2xx with one result per record, all for good, or an error the retry policy classifies. */
  private async attempt(body: string, records: number, key: string, signal: AbortSignal) {
    this.counts.requests++;
    const res = await fetch(this.path, { method: 'POST', body, headers: { ...this.headers, 'idempotency-key': key }, signal });
    const text = await res.text();
    const json = parseJson(text);
    const retryAfterMs = parseRetryAfter(res.headers.get('retry-after'), this.o.clock.now());
    if (res.status >= 200 && res.status < 300) {
      // An answer that does not account for every record (a proxy's, a broken gateway's) is no answer: tried again under the same key.
      if (!Array.isArray(json?.results) || json.results.length !== records) throw new GatewayAnswerError(502, `the gateway answered ${res.status} without one result for each of the batch's ${records} records`, retryAfterMs);
      // Records the engine could not take now: the whole batch again, under the same key (the stored ones come back as duplicates).
      if (json.results.some((r: { error?: { code: string } }) => r.error?.code === 'Unavailable')) throw new GatewayAnswerError(503, 'some records of the batch were not stored now (Unavailable)', retryAfterMs);
      return json;
    }
    const err = json?.error as { code?: string; message?: string } | undefined;
    const message = err ? `${res.status} ${err.code}: ${err.message}` : `${res.status} ${res.statusText}`;
    if (isRetriableStatus(res.status)) throw new GatewayAnswerError(res.status, message, retryAfterMs);
    // Every record refused alike (413 RecordTooLarge, 400 …) or the request itself (404 StreamNotFound, 403): not retriable.
    const first = (json?.results as { error?: { code: string; message: string } }[] | undefined)?.find((r) => r.error)?.error;
    throw new ProducerRecordError(first?.code ?? err?.code ?? `HTTP${res.status}`, first?.message ?? err?.message ?? res.statusText, res.status);
  }
}

/** The record as a native-API envelope line: { value, key?, id?, hashKey? }. */
function lineOf(record: ProducerRecord): string {
  const v = record.value;
  let value: string | undefined;
  if (Buffer.isBuffer(v)) {
    value = v.toString('utf8');
    try {
      JSON.parse(value);
    } catch (e) {
      throw new ProducerRecordError('InvalidRecord', `the record's value is not one JSON text: ${(e as Error).message}`);
    }
    value = oneLine(value);
  } else value = JSON.stringify(v);
  if (value === undefined) throw new ProducerRecordError('InvalidRecord', 'the record has no JSON value (undefined, a function or a symbol)');
  let line = `{"value":${value}`;
  for (const f of ['key', 'id', 'hashKey'] as const) if (record[f] !== undefined) line += `,"${f}":${JSON.stringify(String(record[f]))}`;
  return line + '}';
}

/** An error's message with its cause's code (fetch's 'fetch failed' says nothing by itself). */
function reasonOf(e: unknown): string {
  const m = (e as Error)?.message ?? String(e);
  const cause = (e as { cause?: { code?: string; message?: string } })?.cause;
  return cause?.code ? `${m} (${cause.code}${cause.message ? `: ${cause.message}` : ''})` : m;
}

/** A JSON text on one line (NDJSON): re-serialised only when it spans lines. */
const oneLine = (json: string) => (json.includes('\n') || json.includes('\r') ? JSON.stringify(JSON.parse(json)) : json);

function parseJson(text: string): any {
  if (!text) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

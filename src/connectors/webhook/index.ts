// The webhook sink: a batch's rows as JSON POSTs of at most batchSize records, each with an
// Idempotency-Key from its input's generation and range
// (`<pipeline>.<sink>.<partition>.<generation>.<from>-<next>[.<part>]`: the same on every retry and
// after a crash, since the unit writes the range ahead; another after `sluice replay`, which
// recreates the input and starts its offsets over) and, when signing,
// a Sluice-Signature. Through the origin's resilience dependency: 408, 429 (its Retry-After
// honoured) and 5xx, timeouts and dropped connections are retried within the budget; another
// answer outside 2xx refuses the POST's records to the errors stream. At least once. Decision 020.
import { systemClock, type Clock } from '../../clock.js';
import { SluiceError } from '../../errors.js';
import { isRetriableStatus, parseRetryAfter } from '../../resilience/index.js';
import type { DependencyFor } from '../postgres/index.js';
import type { Dependency } from '../../resilience/index.js';
import type { Sink, SinkBatch, SinkRow, SinkWriteContext } from '../sink.js';
import { DEFAULT_SIGNATURE_HEADER, DEFAULT_WEBHOOK_ATTEMPTS, DEFAULT_WEBHOOK_TIMEOUT_MS, resolveWebhookOptions, type ResolvedWebhookOptions, type WebhookSinkOptions } from './options.js';
import { signWebhook } from './signing.js';

export { signWebhook, verifyWebhookSignature } from './signing.js';
export { DEFAULT_SIGNATURE_HEADER, type WebhookSinkOptions } from './options.js';

/** Input messages per batch: each may hold many rows, and a batch is sent before the next is read. */
const BATCH_MESSAGES = 16;

/** The receiver answered outside 2xx. Retriable for 408, 425, 429 and 5xx (with its Retry-After); else its records are refused. */
export class WebhookStatusError extends SluiceError {
  readonly code = 'WebhookStatus';
  override readonly retriable: boolean;
  constructor(readonly status: number, readonly retryAfterMs: number | undefined, body: string) {
    super(`webhook answered ${status}${body ? `: ${body.slice(0, 200)}` : ''}`);
    this.retriable = isRetriableStatus(status);
  }
}

/** A POST's body: the records of one part of a batch. */
export interface WebhookBody {
  pipeline: string;
  sink: string;
  partition: number;
  /** The input's generation (its creation time, ms: sluice replay makes a new one). */
  generation: number;
  /** The batch's input offsets [from, next), and which part of it this POST is. */
  from: number;
  next: number;
  part: number;
  records: { id: string; key: unknown[]; value: Record<string, unknown>; deleted?: true }[];
}

export class WebhookSink implements Sink {
  readonly kind = 'webhook';
  readonly delivery = 'idempotent' as const;
  readonly batchMessages = BATCH_MESSAGES;
  readonly options: ResolvedWebhookOptions;
  readonly dependency: Dependency;
  private readonly clock: Clock;

  constructor(options: WebhookSinkOptions, dependencyFor: DependencyFor, env: { clock?: Clock } = {}) {
    this.options = resolveWebhookOptions(options);
    this.clock = env.clock ?? systemClock;
    const policy = this.options.policy ?? {};
    this.dependency = dependencyFor(`webhook:${new URL(this.options.url).origin}`, {
      ...policy,
      timeout: policy.timeout === false ? false : { timeoutMs: DEFAULT_WEBHOOK_TIMEOUT_MS, ...policy.timeout },
      retry: policy.retry === false ? false : { maxAttempts: DEFAULT_WEBHOOK_ATTEMPTS, ...policy.retry },
    });
  }

  /** The engine keeps an idempotent sink's offsets. */
  async committed(): Promise<undefined> {
    return undefined;
  }

  async write(batch: SinkBatch, ctx: SinkWriteContext): Promise<void> {
    const size = this.options.batchSize;
    const parts = Math.ceil(batch.rows.length / size);
    for (let part = 0; part < parts; part++) {
      const rows = batch.rows.slice(part * size, (part + 1) * size);
      const key = `${batch.pipeline}.${batch.sink}.${batch.partition}.${batch.generation}.${batch.from}-${batch.next}${parts > 1 ? `.${part}` : ''}`;
      const body = JSON.stringify(bodyOf(batch, part, rows));
      try {
        await this.dependency.execute((signal) => this.post(body, key, signal), ctx.signal);
      } catch (e) {
        if (!(e instanceof WebhookStatusError) || e.retriable) throw e;
        await ctx.reject(rows.map((row) => ({ row, error: e.message })));
      }
    }
  }

  /** What was delivered stays delivered. */
  async reset(): Promise<void> {}

  async close(): Promise<void> {}

  private async post(body: string, key: string, signal: AbortSignal): Promise<void> {
    const headers: Record<string, string> = { ...this.options.headers, 'content-type': 'application/json', 'idempotency-key': key };
    const signing = this.options.signing;
    if (signing) headers[(signing.header ?? DEFAULT_SIGNATURE_HEADER).toLowerCase()] = signWebhook(signing.secret, body, Math.floor(this.clock.now() / 1000));
    const res = await fetch(this.options.url, { method: 'POST', headers, body, signal, redirect: 'manual' });
    const text = await res.text(); // read within the attempt's deadline; frees the connection for the next POST
    if (res.status >= 200 && res.status < 300) return;
    throw new WebhookStatusError(res.status, parseRetryAfter(res.headers.get('retry-after'), this.clock.now()), text);
  }
}

function bodyOf(batch: SinkBatch, part: number, rows: SinkRow[]): WebhookBody {
  return {
    pipeline: batch.pipeline,
    sink: batch.sink,
    partition: batch.partition,
    generation: batch.generation,
    from: batch.from,
    next: batch.next,
    part,
    records: rows.map((r) => ({ id: `${batch.pipeline}/${batch.sink}/${batch.generation}/${r.place}`, key: r.key, value: r.value, ...(r.deleted ? { deleted: true as const } : {}) })),
  };
}


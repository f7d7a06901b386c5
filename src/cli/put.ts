// `sluice put <stream> [file|-]`: sends NDJSON or a JSON array through the Producer (src/producer):
// batches, each with its own Idempotency-Key so a retry after 429/503 or a lost answer never
// stores a record twice, retries within the producer's budget, and reading paced by what the
// gateway takes (the file is never held in memory).
import { createReadStream, statSync } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { Producer, ProducerClosedError, isProducerRecordError, type ProducerRecord } from '../producer/producer.js';
import { CliError, DEFAULT_URL, type ClientOptions } from './client.js';
import { Progress } from './progress.js';

export const DEFAULT_PUT_BATCH = 500;

export interface PutOptions extends ClientOptions {
  key?: string;
  batch?: number;
  envelope?: boolean;
}

export async function put(stream: string, file: string | undefined, o: PutOptions): Promise<void> {
  const batchSize = o.batch ?? DEFAULT_PUT_BATCH;
  const input: Readable = !file || file === '-' ? process.stdin : createReadStream(file);
  const total = file && file !== '-' ? statOrFail(file) : undefined;
  const progress = new Progress(total);
  const url = o.url ?? process.env.SLUICE_URL ?? DEFAULT_URL;
  const producer = new Producer(stream, {
    url,
    ...(o.apiKey !== undefined ? { apiKey: o.apiKey } : {}),
    maxBatchRecords: batchSize,
    maxBatchBytes: 4 * 1024 * 1024,
    // Waits out an overloaded gateway's 429/503 answers for minutes, as the command always did.
    policies: { retry: { maxAttempts: 20, baseDelayMs: 250, maxDelayMs: 10_000, maxRetryAfterMs: 120_000 }, breaker: false },
    onRetry: (e) => progress.note(`gateway busy or unreachable (${describe(e.error)}), retrying in ${(e.delayMs / 1000).toFixed(1)}s`),
  });
  const sums = { stored: 0, duplicates: 0, failed: 0 };
  let n = 0;
  let unreachable: string | undefined;
  try {
    for await (const { line, record } of records(input, o.envelope === true)) await send(line, record);
  } catch (e) {
    await producer.discard(); // a malformed input: what is not sent yet stays unsent
    throw e;
  }
  async function send(line: string, record: ProducerRecord) {
    const i = ++n;
    const bytes = Buffer.byteLength(line) + 1;
    await producer.whenWritable();
    producer.put(o.key !== undefined && record.key === undefined ? { ...record, key: o.key } : record).then(
      (r) => {
        if (r.duplicate) sums.duplicates++;
        else sums.stored++;
        progress.advance(1, bytes);
      },
      (e: Error) => {
        sums.failed++;
        progress.advance(1, bytes);
        if (!isProducerRecordError(e)) unreachable ??= e.message;
        if (sums.failed <= 10 && !isProducerClosed(e)) process.stderr.write(`\nrecord ${i}: ${isProducerRecordError(e) ? e.message : `not stored: ${e.message}`}\n`);
      },
    );
  }
  await producer.close();
  progress.done();
  process.stdout.write(`stored ${sums.stored}, duplicates ${sums.duplicates}, failed ${sums.failed}\n`);
  if (unreachable && sums.stored + sums.duplicates === 0) throw new CliError(`nothing was stored: ${unreachable}`);
  if (sums.failed > 0) throw new CliError(`${sums.failed} records were not stored`);
}

const isProducerClosed = (e: unknown) => e instanceof ProducerClosedError;

const describe = (e: unknown) => {
  const status = (e as { status?: number }).status;
  const code = (e as { cause?: { code?: string } }).cause?.code;
  return status ? `HTTP ${status}` : code ?? (e as Error).message;
};

/** Yields each record with its JSON text: NDJSON lines, or the elements of a JSON array (envelopes { value, key?, id?, hashKey? } with `envelope`). */
async function* records(input: Readable, envelope: boolean): AsyncGenerator<{ line: string; record: ProducerRecord }> {
  for await (const line of jsonTexts(input)) yield { line, record: envelope ? envelopeOf(line) : { value: Buffer.from(line) } };
}

function envelopeOf(line: string): ProducerRecord {
  const e = JSON.parse(line) as Record<string, unknown>;
  if (typeof e !== 'object' || e === null || Array.isArray(e) || !('value' in e)) throw new CliError(`an envelope must be an object { value, key?, id?, hashKey? }, got ${line.slice(0, 80)}`);
  return { value: e.value, ...(e.key !== undefined ? { key: String(e.key) } : {}), ...(e.id !== undefined ? { id: String(e.id) } : {}), ...(e.hashKey !== undefined ? { hashKey: String(e.hashKey) } : {}) };
}

/** Yields one JSON text per record: NDJSON lines, or the elements of a JSON array. */
async function* jsonTexts(input: Readable): AsyncGenerator<string> {
  let first = true;
  let array: string[] | undefined;
  let lineNo = 0;
  for await (const line of createInterface({ input, crlfDelay: Infinity })) {
    lineNo++;
    if (first && line.trimStart().startsWith('[')) array = [];
    first = first && line.trim() === '';
    if (array) {
      array.push(line);
      continue;
    }
    if (line.trim() === '') continue;
    try {
      JSON.parse(line);
    } catch (e) {
      throw new CliError(`line ${lineNo} is not valid JSON: ${(e as Error).message}`);
    }
    yield line;
  }
  if (array) {
    let values: unknown;
    try {
      values = JSON.parse(array.join('\n'));
    } catch (e) {
      throw new CliError(`the input is not valid JSON: ${(e as Error).message}`);
    }
    if (!Array.isArray(values)) throw new CliError('a JSON input must be an array of records');
    for (const v of values) yield JSON.stringify(v);
  }
}

function statOrFail(file: string): number {
  try {
    return statSync(file).size;
  } catch {
    throw new CliError(`cannot read '${file}'`, 2);
  }
}

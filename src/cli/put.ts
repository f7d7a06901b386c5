// `sluice put <stream> [file|-]`: sends NDJSON or a JSON array in batches, each with its own
// Idempotency-Key so a retry after 429/503 or a lost answer never stores a record twice.
import { randomUUID } from 'node:crypto';
import { createReadStream, statSync } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { CliError, GatewayClient, type ClientOptions } from './client.js';
import { Progress } from './progress.js';

export const DEFAULT_PUT_BATCH = 500;

export interface PutOptions extends ClientOptions {
  key?: string;
  batch?: number;
  envelope?: boolean;
}

export async function put(stream: string, file: string | undefined, o: PutOptions): Promise<void> {
  const batchSize = o.batch ?? DEFAULT_PUT_BATCH;
  const client = new GatewayClient(o);
  const input: Readable = !file || file === '-' ? process.stdin : createReadStream(file);
  const total = file && file !== '-' ? statOrFail(file) : undefined;
  const progress = new Progress(total);
  const query = new URLSearchParams();
  if (o.key) query.set('key', o.key);
  if (o.envelope) query.set('format', 'envelope');
  const path = `/v1/streams/${encodeURIComponent(stream)}/records${query.size ? `?${query}` : ''}`;
  const run = randomUUID();
  let batchNo = 0;
  const sums = { stored: 0, duplicates: 0, failed: 0 };
  let sent = 0;
  const send = async (lines: string[], bytes: number) => {
    const res = await client.request('POST', path, lines.join('\n'), { 'content-type': 'application/x-ndjson', 'idempotency-key': `${run}-${batchNo++}` }, (s) => progress.note(`gateway busy, waiting ${s}s`));
    sums.stored += res.stored;
    sums.duplicates += res.duplicates;
    sums.failed += res.failed;
    res.results.forEach((r: { error?: { code: string; message: string } }, i: number) => {
      if (r.error && sums.failed <= 10) process.stderr.write(`\nrecord ${sent + i + 1}: ${r.error.code}: ${r.error.message}\n`);
    });
    sent += lines.length;
    progress.advance(lines.length, bytes);
  };
  let lines: string[] = [];
  let bytes = 0;
  for await (const record of records(input)) {
    lines.push(record);
    bytes += Buffer.byteLength(record) + 1;
    if (lines.length >= batchSize) {
      await send(lines, bytes);
      lines = [];
      bytes = 0;
    }
  }
  if (lines.length > 0) await send(lines, bytes);
  progress.done();
  process.stdout.write(`stored ${sums.stored}, duplicates ${sums.duplicates}, failed ${sums.failed}\n`);
  if (sums.failed > 0) throw new CliError(`${sums.failed} records were not stored`);
}

/** Yields one JSON text per record: NDJSON lines, or the elements of a JSON array. */
async function* records(input: Readable): AsyncGenerator<string> {
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

// `sluice functions list|describe`, `sluice invoke` and `sluice logs`, over the gateway's HTTP APIs
// (the Lambda Invoke API for invoke; the native /v1/functions routes for the rest).
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { CliError, GatewayClient, type ClientOptions } from './client.js';

export async function listFunctions(o: ClientOptions): Promise<void> {
  const { functions } = (await new GatewayClient(o).request('GET', '/v1/functions')) as { functions: { name: string; runtime: string; handler: string; counters: { invocations: number; errors: number } }[] };
  if (functions.length === 0) return void process.stdout.write('no functions\n');
  for (const f of functions) process.stdout.write(`${f.name}\t${f.runtime}\t${f.handler}\tinvocations ${f.counters.invocations}\terrors ${f.counters.errors}\n`);
}

export async function describeFunction(name: string, o: ClientOptions & { json?: boolean }): Promise<void> {
  const d = (await new GatewayClient(o).request('GET', `/v1/functions/${encodeURIComponent(name)}`)) as Described;
  process.stdout.write(o.json ? JSON.stringify(d, null, 2) + '\n' : describeText(d));
}

/** What GET /v1/functions/{name} answers (the parts describe prints). */
interface Described {
  name: string; arn: string; runtime: string; handler: string; timeoutMs: number; memoryMB: number; concurrency: number;
  permissions: Record<string, string[]>; logStream: string;
  triggers: { object?: { bucket: string; events: string[]; prefix?: string; suffix?: string } }[];
  destinations: { onSuccess?: { stream: string }; onFailure?: { stream: string } };
  metrics: { Invocations: number; Errors: number; Throttles: number; ConcurrentExecutions: number; DestinationDeliveryFailures: number; IteratorAge: number | null; Duration: { invocations: number; avgMs: number; p50Ms: number; p99Ms: number; maxMs: number } | null };
  workers: { workers: number; busy: number; coldStarts: number; replaced: number };
  asyncQueue: { inFlight: number; retried: number; failedForGood: number };
  mappings: { stream: string; state: string; lastProcessingResult: string; iteratorAgeMs: number; lag?: number; invocations: number; functionErrors: number; recordsDelivered: number; recordsDiscarded: number; retries: number;
    partitions: { partition: number; state: string; committedOffset: number; latestOffset?: number; lag?: number; iteratorAgeMs: number; batchesInFlight: number }[] }[];
  schedules: { name: string; expression: string; timezone: string; state: string; nextRuns: string[]; lastRun?: string; lastResult?: string; runs: number; failures: number; skipped: number; missed: number }[];
}

/** `sluice functions describe` for a person: configuration, Lambda's metrics, workers, queue, each trigger. */
export function describeText(d: Described): string {
  const m = d.metrics;
  const ms = (n: number) => `${n} ms`;
  const lines = [
    `${d.name}  ${d.arn}`,
    `  ${d.runtime} runtime, handler ${d.handler}, timeout ${d.timeoutMs / 1000} s, memory ${d.memoryMB} MB, concurrency ${d.concurrency}`,
    `  permissions: ${Object.entries(d.permissions).map(([p, a]) => `${p} ${a.join('/')}`).join(', ') || 'none'}`,
    'metrics (since start)',
    `  Invocations ${m.Invocations}  Errors ${m.Errors}  Throttles ${m.Throttles}  ConcurrentExecutions ${m.ConcurrentExecutions}  DestinationDeliveryFailures ${m.DestinationDeliveryFailures}`,
    `  Duration ${m.Duration ? `avg ${ms(m.Duration.avgMs)}, p50 ${ms(m.Duration.p50Ms)}, p99 ${ms(m.Duration.p99Ms)}, max ${ms(m.Duration.maxMs)} (last ${m.Duration.invocations})` : '-'}`,
    ...(m.IteratorAge === null ? [] : [`  IteratorAge ${ms(m.IteratorAge)}`]),
    `workers: ${d.workers.workers} started, ${d.workers.busy} busy, ${d.workers.coldStarts} cold starts, ${d.workers.replaced} replaced`,
    `async queue: ${d.asyncQueue.inFlight} in flight, ${d.asyncQueue.retried} retried, ${d.asyncQueue.failedForGood} failed for good`,
  ];
  for (const t of d.mappings) {
    lines.push(`stream trigger '${t.stream}': ${t.state}, ${t.lastProcessingResult}, iterator age ${ms(t.iteratorAgeMs)}, lag ${t.lag ?? '?'}; ${t.invocations} invocations, ${t.functionErrors} errors, ${t.recordsDelivered} records delivered, ${t.recordsDiscarded} discarded, ${t.retries} retries`);
    for (const p of t.partitions) lines.push(`  partition ${p.partition}: ${p.state}, committed ${p.committedOffset} of ${p.latestOffset ?? '?'} (lag ${p.lag ?? '?'}), iterator age ${ms(p.iteratorAgeMs)}, ${p.batchesInFlight} batches in flight`);
  }
  for (const { object: t } of d.triggers) {
    if (!t) continue;
    const filter = [t.prefix !== undefined && `prefix '${t.prefix}'`, t.suffix !== undefined && `suffix '${t.suffix}'`].filter(Boolean).join(', ');
    lines.push(`object trigger: bucket '${t.bucket}', ${t.events.join(', ')}${filter ? `, ${filter}` : ''}; invoked asynchronously (the async queue above)`);
  }
  const destinations = Object.entries(d.destinations ?? {});
  if (destinations.length) lines.push(`destinations: ${destinations.map(([k, v]) => `${k} stream '${v.stream}'`).join(', ')}`);
  for (const s of d.schedules) {
    lines.push(`schedule '${s.name}': ${s.expression} (${s.timezone}), ${s.state}; ${s.runs} runs, ${s.failures} failed, ${s.skipped} skipped, ${s.missed} missed${s.lastRun ? `; last ${s.lastRun}: ${s.lastResult ?? 'running'}` : ''}`);
    if (s.nextRuns.length) lines.push(`  next: ${s.nextRuns.join(', ')}`);
  }
  lines.push(`logs: sluice logs ${d.name} (stream ${d.logStream})`);
  return lines.join('\n') + '\n';
}

/** Invokes through the Lambda Invoke API; prints the result (stdout) and, with --log, the log tail (stderr). Exit 1 when the function failed. */
export async function invoke(name: string, o: ClientOptions & { payload?: string; type?: string; log?: boolean }): Promise<void> {
  const type = o.type ?? 'RequestResponse';
  if (!['RequestResponse', 'Event', 'DryRun'].includes(type)) throw new CliError(`--type: expected RequestResponse, Event or DryRun, got '${type}'`, 2);
  const payload = o.payload === undefined ? '{}' : o.payload.startsWith('@') ? readFileSync(o.payload.slice(1), 'utf8') : o.payload;
  try {
    JSON.parse(payload);
  } catch (e) {
    throw new CliError(`--payload is not JSON: ${(e as Error).message}`, 2);
  }
  const client = new GatewayClient(o);
  const res = await fetch(`${client.url}/2015-03-31/functions/${encodeURIComponent(name)}/invocations`, {
    method: 'POST', body: payload,
    headers: { ...client.authHeaders, 'content-type': 'application/json', 'x-amz-invocation-type': type, ...(o.log ? { 'x-amz-log-type': 'Tail' } : {}) },
  }).catch((e: Error) => {
    throw new CliError(`cannot reach the gateway at ${client.url}: ${(e.cause as Error)?.message ?? e.message}`);
  });
  const text = await res.text();
  if (res.status >= 400) {
    const message = (() => {
      try {
        return (JSON.parse(text) as { message?: string }).message ?? text;
      } catch {
        return text;
      }
    })();
    throw new CliError(`${res.status} ${res.headers.get('x-amzn-errortype') ?? 'Error'}: ${message}`);
  }
  const tail = res.headers.get('x-amz-log-result');
  if (tail) process.stderr.write(Buffer.from(tail, 'base64').toString());
  if (res.status === 202) return void process.stdout.write(`queued (202): the function runs asynchronously\n`);
  if (res.status === 204) return void process.stdout.write('dry run (204): the payload and your permission are fine\n');
  process.stdout.write(text + '\n');
  if (res.headers.get('x-amz-function-error')) process.exitCode = 1;
}

/** Prints a function's invocation logs (the last 20, one request's, or --follow for new ones as they come). */
export async function logs(name: string, o: ClientOptions & { follow?: boolean; requestId?: string; limit?: number }): Promise<void> {
  const client = new GatewayClient(o);
  const path = `/v1/functions/${encodeURIComponent(name)}/logs`;
  const query = (extra: Record<string, string>) => new URLSearchParams({ ...(o.requestId ? { requestId: o.requestId } : {}), ...extra }).toString();
  let page = (await client.request('GET', `${path}?${query({ limit: String(o.limit ?? 20) })}`)) as { logs: { lines: string[] }[]; next: number };
  for (;;) {
    for (const l of page.logs) process.stdout.write(l.lines.join('\n') + '\n');
    if (!o.follow) return;
    await sleep(500);
    page = (await client.request('GET', `${path}?${query({ from: String(page.next) })}`)) as typeof page;
  }
}

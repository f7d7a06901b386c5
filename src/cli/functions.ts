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

export async function describeFunction(name: string, o: ClientOptions): Promise<void> {
  const d = await new GatewayClient(o).request('GET', `/v1/functions/${encodeURIComponent(name)}`);
  process.stdout.write(JSON.stringify(d, null, 2) + '\n');
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

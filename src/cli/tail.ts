// `sluice tail <stream>`: follows the gateway's Server-Sent Events tail and prints one JSON
// record per line.
import { CliError, GatewayClient, type ClientOptions } from './client.js';
import { sseData } from './sse.js';

export interface TailOptions extends ClientOptions {
  from?: string;
  partition?: number;
  /** Stop after this many records. */
  limit?: number;
}

export async function tail(stream: string, o: TailOptions, signal?: AbortSignal): Promise<void> {
  const client = new GatewayClient(o);
  const query = new URLSearchParams();
  const from = o.from ?? 'latest';
  if (from === 'earliest' || from === 'latest' || /^\d+$/.test(from)) query.set('from', from);
  else if (Number.isFinite(Date.parse(from))) query.set('since', from);
  else throw new CliError(`--from: expected earliest, latest, an offset or an ISO time, got '${from}'`, 2);
  if (o.partition !== undefined) query.set('partition', String(o.partition));
  const key = o.apiKey ?? process.env.SLUICE_API_KEY;
  const res = await fetch(`${client.url}/v1/streams/${encodeURIComponent(stream)}/tail?${query}`, {
    headers: key ? { authorization: `Bearer ${key}` } : {},
    signal,
  }).catch((e: Error) => {
    throw new CliError(`cannot reach the gateway at ${client.url}: ${e.cause ?? e.message}`);
  });
  if (res.status !== 200) {
    const body = (await res.json().catch(() => ({}))) as { error?: { code: string; message: string } };
    throw new CliError(body.error ? `${res.status} ${body.error.code}: ${body.error.message}` : `${res.status} ${res.statusText}`);
  }
  let printed = 0;
  for await (const data of sseData(res.body)) {
    process.stdout.write(data + '\n');
    if (o.limit !== undefined && ++printed >= o.limit) return;
  }
}

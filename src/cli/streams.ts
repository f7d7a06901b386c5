// `sluice streams create|list|describe|delete`, over the gateway's HTTP API.
import { parseDuration } from '../config/duration.js';
import { INTERNAL_STREAM_PREFIX } from '../gateway/auth/scopes.js';
import { CliError, GatewayClient, type ClientOptions } from './client.js';

export async function createStream(name: string, o: ClientOptions & { partitions?: number; retention?: string; keyField?: string }): Promise<void> {
  const body: Record<string, unknown> = { name };
  if (o.partitions !== undefined) body.partitions = o.partitions;
  if (o.retention !== undefined) {
    if (parseDuration(o.retention) === undefined) throw new CliError(`--retention: expected a duration like '7d' or '12h', got '${o.retention}'`, 2);
    body.retention = o.retention;
  }
  if (o.keyField !== undefined) body.partitionKeyField = o.keyField;
  const info = await new GatewayClient(o).request('POST', '/v1/streams', JSON.stringify(body), { 'content-type': 'application/json' });
  process.stdout.write(`created stream '${info.name}' with ${plural(info.partitions, 'partition')}, retention ${retention(info.retentionMs)}\n`);
}

/** Streams the key may see; a pipeline's internal ones (`_sluice.*`) only with --all. */
export async function listStreams(o: ClientOptions & { all?: boolean }): Promise<void> {
  const { streams } = (await new GatewayClient(o).request('GET', '/v1/streams')) as { streams: { name: string; partitions: number; retentionMs: number }[] };
  const shown = o.all ? streams : streams.filter((s) => !s.name.startsWith(INTERNAL_STREAM_PREFIX));
  if (shown.length === 0) return void process.stdout.write(streams.length ? `no streams (${streams.length} internal: --all shows them)\n` : 'no streams\n');
  for (const s of shown) process.stdout.write(`${s.name}\t${plural(s.partitions, 'partition')}\tretention ${retention(s.retentionMs)}\n`);
}

const plural = (n: number, what: string) => `${n} ${what}${n === 1 ? '' : 's'}`;
const retention = (ms: number) => (ms % 86_400_000 === 0 ? plural(ms / 86_400_000, 'day') : ms % 3_600_000 === 0 ? `${ms / 3_600_000} h` : `${ms / 1000} s`);

export async function describeStream(name: string, o: ClientOptions): Promise<void> {
  const info = await new GatewayClient(o).request('GET', `/v1/streams/${encodeURIComponent(name)}`);
  process.stdout.write(JSON.stringify(info, null, 2) + '\n');
}

export async function deleteStream(name: string, o: ClientOptions): Promise<void> {
  await new GatewayClient(o).request('DELETE', `/v1/streams/${encodeURIComponent(name)}`);
  process.stdout.write(`deleted stream '${name}'\n`);
}

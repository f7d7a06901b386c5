// `sluice streams create|list|describe|delete`, over the gateway's HTTP API.
import { parseDuration } from '../config/duration.js';
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
  process.stdout.write(`created stream '${info.name}' with ${info.partitions} partitions, retention ${info.retentionMs / 3_600_000} h\n`);
}

export async function listStreams(o: ClientOptions): Promise<void> {
  const { streams } = await new GatewayClient(o).request('GET', '/v1/streams');
  if (streams.length === 0) return void process.stdout.write('no streams\n');
  for (const s of streams) process.stdout.write(`${s.name}\t${s.partitions} partitions\tretention ${s.retentionMs / 3_600_000} h\n`);
}

export async function describeStream(name: string, o: ClientOptions): Promise<void> {
  const info = await new GatewayClient(o).request('GET', `/v1/streams/${encodeURIComponent(name)}`);
  process.stdout.write(JSON.stringify(info, null, 2) + '\n');
}

export async function deleteStream(name: string, o: ClientOptions): Promise<void> {
  await new GatewayClient(o).request('DELETE', `/v1/streams/${encodeURIComponent(name)}`);
  process.stdout.write(`deleted stream '${name}'\n`);
}

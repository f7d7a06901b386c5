// Kinesis descriptions: DescribeStream (shards paged by Limit and ExclusiveStartShardId),
// DescribeStreamSummary, ListStreams and ListShards (paged by NextToken).
import type { StreamInfo } from '../../engine/engine.js';
import { canSee } from '../auth/scopes.js';
import { invalidArgument } from './errors.js';
import { readAllMeta, readMeta, type StreamMeta } from './meta.js';
import { firstShardAfter, shardsOf } from './shards.js';
import { arnOf, hoursOf, streamNameOf } from './streams.js';
import type { KinesisCall } from './types.js';

export const MAX_SHARDS_DESCRIBED = 100; // DescribeStream's default Limit and most shards per call, as AWS's
export const MAX_STREAMS_LISTED = 100; // ListStreams' default Limit and most streams per call
export const DEFAULT_LIST_SHARDS = 1000; // ListShards' default MaxResults

/** The members every description of a stream carries, from the engine's StreamInfo and the Kinesis metadata. */
function summaryOf(call: KinesisCall, info: StreamInfo, meta: StreamMeta) {
  return {
    StreamName: info.name,
    StreamARN: arnOf(call, info.name),
    StreamStatus: 'ACTIVE',
    StreamModeDetails: { StreamMode: meta.mode },
    RetentionPeriodHours: hoursOf(info.retentionMs),
    StreamCreationTimestamp: info.createdAt / 1000,
    EnhancedMonitoring: [{ ShardLevelMetrics: [] }],
    EncryptionType: 'NONE',
  };
}

/** DescribeStream: the description with one page of shards (at most 100). */
export async function describeStream(call: KinesisCall): Promise<object> {
  const name = streamNameOf(call.params);
  call.authorize(name, 'read');
  const { Limit, ExclusiveStartShardId } = call.params as { Limit?: number; ExclusiveStartShardId?: string };
  const info = await call.gw.engine.describeStream(name);
  const meta = await readMeta(call.gw.engine, info);
  const start = firstShardAfter(ExclusiveStartShardId, info.partitions);
  const end = start + Math.min(Limit ?? MAX_SHARDS_DESCRIBED, MAX_SHARDS_DESCRIBED);
  return { StreamDescription: { ...summaryOf(call, info, meta), Shards: shardsOf(info, start, end), HasMoreShards: end < info.partitions } };
}

/** DescribeStreamSummary: the description without shards, with OpenShardCount. */
export async function describeStreamSummary(call: KinesisCall): Promise<object> {
  const name = streamNameOf(call.params);
  call.authorize(name, 'read');
  const info = await call.gw.engine.describeStream(name);
  const meta = await readMeta(call.gw.engine, info);
  return { StreamDescriptionSummary: { ...summaryOf(call, info, meta), OpenShardCount: info.partitions, ConsumerCount: 0 } };
}

/** ListStreams: the visible streams in name order, at most 100 a page, with NextToken. */
export async function listStreams(call: KinesisCall): Promise<object> {
  const { Limit, ExclusiveStartStreamName, NextToken } = call.params as { Limit?: number; ExclusiveStartStreamName?: string; NextToken?: string };
  const after = NextToken === undefined ? ExclusiveStartStreamName : decodeToken(NextToken, (t) => typeof t.n === 'string').n as string;
  const limit = Math.min(Limit ?? MAX_STREAMS_LISTED, MAX_STREAMS_LISTED);
  const visible = (await call.gw.engine.listStreams()).filter((s) => canSee(call.principal, s.name));
  const rest = visible.filter((s) => after === undefined || s.name > after).sort((a, b) => (a.name < b.name ? -1 : 1));
  const page = rest.slice(0, limit);
  const metas = page.length > 0 ? await readAllMeta(call.gw.engine) : new Map<string, StreamMeta>();
  const more = rest.length > limit;
  return {
    StreamNames: page.map((s) => s.name),
    StreamSummaries: page.map((s) => ({
      StreamName: s.name,
      StreamARN: arnOf(call, s.name),
      StreamStatus: 'ACTIVE',
      StreamModeDetails: { StreamMode: modeOf(metas.get(s.name), s) },
      StreamCreationTimestamp: s.createdAt / 1000,
    })),
    HasMoreStreams: more,
    ...(more ? { NextToken: encodeToken({ n: page.at(-1)!.name }) } : {}),
  };
}

const modeOf = (meta: StreamMeta | undefined, info: StreamInfo) => (meta?.createdAt === info.createdAt ? meta.mode : 'PROVISIONED');

interface ListShardsParams {
  NextToken?: string;
  MaxResults?: number;
  ExclusiveStartShardId?: string;
  StreamName?: string;
  StreamARN?: string;
  ShardFilter?: { Type: string; ShardId?: string };
}

/** ListShards: a stream's shards from a start, MaxResults at a time, with NextToken. */
export async function listShards(call: KinesisCall): Promise<object> {
  const p = call.params as ListShardsParams;
  if (p.NextToken !== undefined && p.StreamName !== undefined) throw invalidArgument('NextToken and StreamName cannot be provided together.');
  if (p.NextToken === undefined && p.StreamName === undefined && p.StreamARN === undefined) {
    throw invalidArgument('Either NextToken or StreamName should be provided.');
  }
  const token = p.NextToken === undefined ? undefined : decodeToken(p.NextToken, (t) => typeof t.s === 'string' && Number.isSafeInteger(t.p) && (t.p as number) >= 0);
  const name = token ? (token.s as string) : streamNameOf(call.params);
  call.authorize(name, 'read');
  const info = await call.gw.engine.describeStream(name);
  const after = p.ShardFilter?.Type === 'AFTER_SHARD_ID' ? p.ShardFilter.ShardId : p.ExclusiveStartShardId;
  const start = token ? Math.min(token.p as number, info.partitions) : firstShardAfter(after, info.partitions);
  const end = start + (p.MaxResults ?? DEFAULT_LIST_SHARDS);
  const shards = shardsOf(info, start, end);
  return end < info.partitions ? { Shards: shards, NextToken: encodeToken({ s: name, p: end }) } : { Shards: shards };
}

const encodeToken = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');

function decodeToken(token: string, valid: (t: Record<string, unknown>) => boolean): Record<string, unknown> {
  try {
    const t = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as Record<string, unknown>;
    if (t !== null && typeof t === 'object' && valid(t)) return t;
  } catch {
    // fall through
  }
  throw invalidArgument('NextToken is invalid');
}

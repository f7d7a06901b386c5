// Kinesis stream operations: shards are Sluice partitions, with Kinesis' equal hash-key ranges.
import { DEFAULT_PARTITIONS, MAX_PARTITIONS, type PartitionInfo, type StreamInfo } from '../../engine/engine.js';
import { canSee } from '../auth/scopes.js';
import { hashRangeOf } from '../../engine/partitioner.js';
import type { KinesisCall, Params } from './index.js';
import { KinesisError, validation } from './errors.js';

const STREAM_NAME = /^[a-zA-Z0-9_.-]{1,128}$/;
const ARN = /^arn:aws[a-z-]*:kinesis:[^:]*:\d{12}:stream\/([a-zA-Z0-9_.-]{1,128})$/;
export const ACCOUNT = '000000000000';

/** The stream a request names by StreamName or StreamARN. */
export function streamNameOf(params: Params): string {
  const name = params.StreamName;
  const arn = params.StreamARN;
  if (typeof name === 'string') {
    if (!STREAM_NAME.test(name)) throw validation('streamName', 'Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+ and have length 1-128');
    return name;
  }
  if (typeof arn === 'string') {
    const m = ARN.exec(arn);
    if (!m) throw validation('streamARN', 'Member must be a Kinesis stream ARN');
    return m[1]!;
  }
  throw new KinesisError('InvalidArgumentException', 'Either StreamName or StreamARN should be provided.');
}

export const shardIdOf = (p: number) => `shardId-${String(p).padStart(12, '0')}`;

export function partitionOfShardId(shardId: unknown, partitions: number): number {
  const m = typeof shardId === 'string' ? /^(?:shardId-)?(\d{1,12})$/.exec(shardId) : null;
  const p = m ? Number(m[1]) : -1;
  if (p < 0 || p >= partitions) throw new KinesisError('ResourceNotFoundException', `Shard ${String(shardId)} does not exist`);
  return p;
}

const arnOf = (call: KinesisCall, name: string) => `arn:aws:kinesis:${call.gw.options.region}:${ACCOUNT}:stream/${name}`;

export async function createStream(call: KinesisCall): Promise<unknown> {
  const name = streamNameOf(call.params);
  call.authorize(name, 'admin');
  const { ShardCount, StreamModeDetails } = call.params as { ShardCount?: unknown; StreamModeDetails?: { StreamMode?: string } };
  const onDemand = StreamModeDetails?.StreamMode === 'ON_DEMAND';
  if (ShardCount === undefined && !onDemand) throw new KinesisError('InvalidArgumentException', 'ShardCount is required for a PROVISIONED stream.');
  if (ShardCount !== undefined && (!Number.isInteger(ShardCount) || (ShardCount as number) < 1 || (ShardCount as number) > MAX_PARTITIONS)) {
    throw validation('shardCount', `Member must have value between 1 and ${MAX_PARTITIONS}`);
  }
  await call.gw.engine.createStream(name, { partitions: (ShardCount as number | undefined) ?? DEFAULT_PARTITIONS });
  call.gw.forgetStream(name);
  return {};
}

export async function deleteStream(call: KinesisCall): Promise<unknown> {
  const name = streamNameOf(call.params);
  call.authorize(name, 'admin');
  await call.gw.engine.deleteStream(name);
  call.gw.forgetStream(name);
  return {};
}

function shardsOf(info: StreamInfo & { partitionInfo: PartitionInfo[] }) {
  return info.partitionInfo.map((p) => {
    const range = hashRangeOf(p.partition, info.partitions);
    return {
      ShardId: shardIdOf(p.partition),
      HashKeyRange: { StartingHashKey: range.start, EndingHashKey: range.end },
      SequenceNumberRange: { StartingSequenceNumber: String(p.earliest) },
    };
  });
}

function summaryOf(call: KinesisCall, info: StreamInfo) {
  return {
    StreamName: info.name,
    StreamARN: arnOf(call, info.name),
    StreamStatus: 'ACTIVE',
    StreamModeDetails: { StreamMode: 'PROVISIONED' },
    RetentionPeriodHours: Math.round(info.retentionMs / 3_600_000),
    StreamCreationTimestamp: info.createdAt / 1000,
    EnhancedMonitoring: [{ ShardLevelMetrics: [] }],
    EncryptionType: 'NONE',
  };
}

export async function describeStream(call: KinesisCall): Promise<unknown> {
  const name = streamNameOf(call.params);
  call.authorize(name, 'read');
  const info = await call.gw.engine.describeStream(name);
  return { StreamDescription: { ...summaryOf(call, info), Shards: shardsOf(info), HasMoreShards: false } };
}

export async function describeStreamSummary(call: KinesisCall): Promise<unknown> {
  const name = streamNameOf(call.params);
  call.authorize(name, 'read');
  const info = await call.gw.engine.describeStream(name);
  return { StreamDescriptionSummary: { ...summaryOf(call, info), OpenShardCount: info.partitions, ConsumerCount: 0 } };
}

export async function listStreams(call: KinesisCall): Promise<unknown> {
  const { Limit, ExclusiveStartStreamName } = call.params as { Limit?: number; ExclusiveStartStreamName?: string };
  const limit = Limit ?? 100;
  if (!Number.isInteger(limit) || limit < 1 || limit > 10_000) throw validation('limit', 'Member must have value between 1 and 10000');
  const all = (await call.gw.engine.listStreams()).filter((s) => canSee(call.principal, s.name));
  const after = all.filter((s) => ExclusiveStartStreamName === undefined || s.name > ExclusiveStartStreamName);
  const page = after.slice(0, limit);
  return {
    StreamNames: page.map((s) => s.name),
    StreamSummaries: page.map((s) => ({
      StreamName: s.name,
      StreamARN: arnOf(call, s.name),
      StreamStatus: 'ACTIVE',
      StreamModeDetails: { StreamMode: 'PROVISIONED' },
      StreamCreationTimestamp: s.createdAt / 1000,
    })),
    HasMoreStreams: after.length > limit,
  };
}

export async function listShards(call: KinesisCall): Promise<unknown> {
  const { NextToken, MaxResults, ExclusiveStartShardId } = call.params as { NextToken?: string; MaxResults?: number; ExclusiveStartShardId?: string };
  const max = MaxResults ?? 1000;
  if (!Number.isInteger(max) || max < 1 || max > 10_000) throw validation('maxResults', 'Member must have value between 1 and 10000');
  let name: string;
  let start = 0;
  if (NextToken !== undefined) {
    const token = decodeToken(NextToken);
    name = token.s;
    start = token.p;
  } else {
    name = streamNameOf(call.params);
  }
  call.authorize(name, 'read');
  const info = await call.gw.engine.describeStream(name);
  if (ExclusiveStartShardId !== undefined) start = partitionOfShardId(ExclusiveStartShardId, info.partitions) + 1;
  const shards = shardsOf(info).slice(start, start + max);
  const next = start + max < info.partitions ? Buffer.from(JSON.stringify({ s: name, p: start + max })).toString('base64url') : undefined;
  return next ? { Shards: shards, NextToken: next } : { Shards: shards };
}

function decodeToken(token: string): { s: string; p: number } {
  try {
    const t = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as { s: unknown; p: unknown };
    if (typeof t.s === 'string' && Number.isInteger(t.p)) return t as { s: string; p: number };
  } catch {
    // fall through
  }
  throw new KinesisError('InvalidArgumentException', 'NextToken is invalid');
}

// Kinesis stream lifecycle: CreateStream (provisioned or on-demand, with tags) and DeleteStream,
// and how a request names its stream.
import { MAX_PARTITIONS } from '../../engine/engine.js';
import { ACCOUNT, KinesisError, invalidArgument } from './errors.js';
import { deleteMeta, writeMeta, type StreamMode } from './meta.js';
import { checkNewTags } from './tags.js';
import type { KinesisCall, Params } from './types.js';

export const DEFAULT_KINESIS_RETENTION_HOURS = 24; // AWS's default; streams made by the native API keep 7 days
export const HOUR_MS = 60 * 60 * 1000;
// AWS gives a new on-demand stream 4 shards; Sluice does not reshard, so they stay 4.
export const ON_DEMAND_SHARDS = 4;

/** The stream a request names by StreamName or, failing that, by StreamARN (both already validated). */
export function streamNameOf(params: Params): string {
  if (typeof params.StreamName === 'string') return params.StreamName;
  if (typeof params.StreamARN === 'string') return /:\d{12}:stream\/(\S+)$/.exec(params.StreamARN)![1]!;
  throw invalidArgument('Either StreamName or StreamARN should be provided.');
}

/** The stream's ARN in the gateway's region and Sluice's one account. */
export const arnOf = (call: KinesisCall, name: string): string => `arn:aws:kinesis:${call.gw.options.region}:${ACCOUNT}:stream/${name}`;

/** A stream's retention in whole hours, as Kinesis reports it. */
export const hoursOf = (retentionMs: number): number => Math.round(retentionMs / HOUR_MS);

interface CreateParams {
  StreamName: string;
  ShardCount?: number;
  StreamModeDetails?: { StreamMode: StreamMode };
  Tags?: Map<string, string>;
}

/** CreateStream: a provisioned or on-demand stream, 24 h retention, with its Kinesis metadata. */
export async function createStream(call: KinesisCall): Promise<undefined> {
  const { StreamName: name, ShardCount, StreamModeDetails, Tags } = call.params as unknown as CreateParams;
  call.authorize(name, 'admin');
  const mode = modeOf(ShardCount, StreamModeDetails?.StreamMode);
  const partitions = ShardCount ?? ON_DEMAND_SHARDS;
  if (Tags) checkNewTags(name, Tags);
  if (partitions > MAX_PARTITIONS) {
    throw new KinesisError(
      'LimitExceededException',
      `This request would exceed the shard limit of a stream in ${call.gw.options.region}. Limit: ${MAX_PARTITIONS}. ` +
        `Number of shards that would have resulted from this request: ${partitions}.`,
    );
  }
  const info = await call.gw.engine.createStream(name, { partitions, retentionMs: DEFAULT_KINESIS_RETENTION_HOURS * HOUR_MS });
  call.gw.forgetStream(name);
  await writeMeta(call.gw.engine, name, { createdAt: info.createdAt, mode, tags: Tags ?? new Map() });
  return undefined;
}

/** The capacity mode a CreateStream asks for: on-demand when it says so or gives no ShardCount. */
function modeOf(shardCount: number | undefined, requested: StreamMode | undefined): StreamMode {
  if (requested === 'ON_DEMAND' && shardCount !== undefined) throw invalidArgument('ShardCount is not expected when StreamMode=ON_DEMAND');
  if (requested === 'PROVISIONED' && shardCount === undefined) throw invalidArgument('ShardCount is required when StreamMode=PROVISIONED');
  return shardCount === undefined ? 'ON_DEMAND' : 'PROVISIONED';
}

/** DeleteStream: the stream, then its Kinesis metadata. */
export async function deleteStream(call: KinesisCall): Promise<undefined> {
  const name = streamNameOf(call.params);
  call.authorize(name, 'admin');
  await call.gw.engine.deleteStream(name);
  call.gw.forgetStream(name);
  await deleteMeta(call.gw.engine, name);
  return undefined;
}

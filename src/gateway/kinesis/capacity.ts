// Capacity: UpdateStreamMode (PROVISIONED or ON_DEMAND; on Sluice the mode is a label, the
// partitions stay as they are) and DescribeLimits.
import { canSee } from '../auth/scopes.js';
import { changeMeta, readAllMeta, type StreamMode } from './meta.js';
import { streamNameOf } from './streams.js';
import type { KinesisCall } from './types.js';

// Sluice sets no limit on an account's shards or on-demand streams: DescribeLimits reports the
// largest value the API allows. (One stream has at most MAX_PARTITIONS shards: CreateStream says so.)
export const NO_LIMIT = 1_000_000;

/** UpdateStreamMode: records the mode the stream reports from now on. */
export async function updateStreamMode(call: KinesisCall): Promise<undefined> {
  const name = streamNameOf(call.params);
  call.authorize(name, 'admin');
  const mode = (call.params.StreamModeDetails as { StreamMode: StreamMode }).StreamMode;
  const info = await call.gw.engine.describeStream(name);
  await changeMeta(call.gw.engine, info, (meta) => {
    meta.mode = mode;
  });
  return undefined;
}

/** Open shards and on-demand streams among the streams the caller can see. */
export async function describeLimits(call: KinesisCall): Promise<object> {
  const streams = (await call.gw.engine.listStreams()).filter((s) => canSee(call.principal, s.name));
  const metas = await readAllMeta(call.gw.engine);
  const onDemand = streams.filter((s) => {
    const meta = metas.get(s.name);
    return meta?.createdAt === s.createdAt && meta.mode === 'ON_DEMAND';
  });
  return {
    ShardLimit: NO_LIMIT,
    OpenShardCount: streams.reduce((n, s) => n + s.partitions, 0),
    OnDemandStreamCount: onDemand.length,
    OnDemandStreamCountLimit: NO_LIMIT,
  };
}

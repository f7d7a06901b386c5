// GetShardIterator, and shard iterators: opaque tokens naming stream (and its creation time),
// partition, offset and the time they were made, checked as AWS checks them.
import { StreamNotFoundError } from '../../engine/errors.js';
import type { StreamInfo } from '../../engine/engine.js';
import { ACCOUNT, KinesisError, invalidArgument } from './errors.js';
import { decodeSequence, shardIdOf, shardIndexOf, streamStamp } from './shards.js';
import { streamNameOf } from './streams.js';
import type { KinesisCall } from './types.js';

export const ITERATOR_TTL_MS = 5 * 60 * 1000; // shard iterators expire after 5 minutes, as in Kinesis
const MAX_DATE_MS = 8.64e15; // the latest time a Date can hold

export interface Iterator {
  /** Stream name and creation time. */
  s: string;
  c: number;
  /** Partition and the offset to read from. */
  p: number;
  o: number;
  /** When the iterator was made. */
  t: number;
}

/** The opaque token of an iterator (base64url JSON). */
export const encodeIterator = (it: Iterator): string => Buffer.from(JSON.stringify(it)).toString('base64url');

/** The iterator a token holds, or InvalidArgumentException for a token Sluice did not make. */
export function decodeIterator(token: string): Iterator {
  try {
    const it = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as Iterator;
    const natural = (n: unknown) => Number.isSafeInteger(n) && (n as number) >= 0;
    if (typeof it.s === 'string' && natural(it.c) && natural(it.p) && natural(it.o) && natural(it.t) && it.t <= MAX_DATE_MS) return it;
  } catch {
    // fall through
  }
  throw invalidArgument('Invalid ShardIterator.');
}

interface IteratorParams {
  ShardId: string;
  ShardIteratorType: string;
  StartingSequenceNumber?: string;
  Timestamp?: number;
}

/** GetShardIterator: an iterator at the position the iterator type and its members name. */
export async function getShardIterator(call: KinesisCall): Promise<object> {
  const stream = streamNameOf(call.params);
  call.authorize(stream, 'read');
  const params = call.params as unknown as IteratorParams;
  const info = await shardStream(call, stream, params.ShardId);
  const p = shardIndexOf(params.ShardId)!;
  const offset = await startOf(call, info, p, params);
  return { ShardIterator: encodeIterator({ s: stream, c: streamStamp(info.createdAt), p, o: offset, t: call.gw.clock.now() }) };
}

/** The stream, once the shard id names a shard of it; ResourceNotFoundException otherwise, as AWS words it. */
async function shardStream(call: KinesisCall, stream: string, shardId: string): Promise<StreamInfo> {
  const p = shardIndexOf(shardId);
  if (p === undefined) throw new KinesisError('ResourceNotFoundException', `Could not find shard ${shardId} in stream ${stream} under account ${ACCOUNT}.`);
  const missing = () => new KinesisError('ResourceNotFoundException', `Shard ${shardIdOf(p)} in stream ${stream} under account ${ACCOUNT} does not exist`);
  const info = await call.gw.streamInfo(stream).catch((e: unknown) => {
    throw e instanceof StreamNotFoundError ? missing() : e;
  });
  if (p >= info.partitions) throw missing();
  return info;
}

const MUST_EITHER = 'Must either specify (1) AT_SEQUENCE_NUMBER or AFTER_SEQUENCE_NUMBER and StartingSequenceNumber or (2) TRIM_HORIZON or LATEST and no StartingSequenceNumber.';

async function startOf(call: KinesisCall, info: StreamInfo, p: number, params: IteratorParams): Promise<number> {
  const { ShardIteratorType: type, StartingSequenceNumber: seq } = params;
  const engine = call.gw.engine;
  if (type === 'TRIM_HORIZON' || type === 'LATEST') {
    if (seq !== undefined) throw invalidArgument(`${MUST_EITHER} Request specified ${type} and also a StartingSequenceNumber.`);
    return engine.resolve(info.name, p, type === 'LATEST' ? 'latest' : 'earliest');
  }
  if (type === 'AT_TIMESTAMP') return engine.resolve(info.name, p, { timestamp: timestampOf(call, params.Timestamp) });
  if (seq === undefined) throw invalidArgument(`${MUST_EITHER} Request specified ${type} and no StartingSequenceNumber.`);
  const offset = offsetOf(info, p, seq);
  if (type === 'AT_SEQUENCE_NUMBER') return offset;
  // The last offset a sequence number can carry has nothing after it an iterator could name.
  if (!Number.isSafeInteger(offset + 1)) throw invalidArgument(`StartingSequenceNumber ${seq} used in GetShardIterator on shard ${shardIdOf(p)} in stream ${info.name} under account ${ACCOUNT} is invalid.`);
  return offset + 1;
}

/** The offset a StartingSequenceNumber names, refused when malformed or from another shard or stream. */
function offsetOf(info: StreamInfo, p: number, seq: string): number {
  const where = `used in GetShardIterator on shard ${shardIdOf(p)} in stream ${info.name} under account ${ACCOUNT}`;
  const at = decodeSequence(seq);
  if (!at) throw invalidArgument(`StartingSequenceNumber ${seq} ${where} is invalid.`);
  if (at.partition !== p) {
    throw invalidArgument(`Invalid StartingSequenceNumber. It encodes ${shardIdOf(at.partition)}, while it was used in a call to a shard with ${shardIdOf(p)}`);
  }
  if (at.createdAt !== streamStamp(info.createdAt)) throw invalidArgument(`StartingSequenceNumber ${seq} ${where} is invalid because it did not come from this stream.`);
  return at.offset;
}

/** An AT_TIMESTAMP's time in ms: required, and not in the future (by the gateway's clock). */
function timestampOf(call: KinesisCall, timestamp: number | undefined): number {
  if (timestamp === undefined) {
    throw invalidArgument('Must specify timestampInMillis parameter for iterator of type AT_TIMESTAMP. Current request has no timestamp parameter.');
  }
  const ms = Math.round(timestamp * 1000);
  const now = call.gw.clock.now();
  if (ms > now) {
    throw invalidArgument(
      `The timestampInMillis parameter cannot be greater than the currentTimestampInMillis. timestampInMillis: ${ms}, currentTimestampInMillis: ${now}`,
    );
  }
  return Math.max(0, ms);
}

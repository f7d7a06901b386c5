// Kinesis record operations: PutRecord(s) store the raw Data bytes; GetRecords reads a page from
// a shard iterator. Sequence numbers carry stream, partition and offset (shards.ts).
import { countAppend } from '../metrics.js';
import type { AppendRecord, AppendResult, StreamInfo } from '../../engine/engine.js';
import { parseHashKey } from '../../engine/partitioner.js';
import { ACCOUNT, KinesisError, invalidArgument } from './errors.js';
import { decodeIterator, encodeIterator, ITERATOR_TTL_MS } from './iterators.js';
import { MAX_GET_LIMIT } from './schemas.js';
import { decodeSequence, encodeSequence, shardIdOf, streamStamp } from './shards.js';
import { streamNameOf } from './streams.js';
import type { KinesisCall } from './types.js';

export const MAX_PUT_BYTES = 5 * 1024 * 1024; // data plus partition keys of one PutRecords

interface Entry {
  Data: Buffer;
  PartitionKey: string;
  ExplicitHashKey?: string;
}

function toRecord({ Data, PartitionKey, ExplicitHashKey }: Entry): AppendRecord & { size: number } {
  const record: AppendRecord & { size: number } = { key: PartitionKey, value: Data, size: Data.length + Buffer.byteLength(PartitionKey) };
  if (ExplicitHashKey !== undefined) {
    if (parseHashKey(ExplicitHashKey) === undefined) {
      throw invalidArgument(`Invalid ExplicitHashKey. ExplicitHashKey must be in the range: [0, 2^128-1]. Specified value was ${ExplicitHashKey}`);
    }
    record.explicitHashKey = ExplicitHashKey;
  }
  return record;
}

async function store(call: KinesisCall, stream: string, records: AppendRecord[]): Promise<{ info: StreamInfo; results: AppendResult[] }> {
  call.authorize(stream, 'write');
  const info = await call.gw.streamInfo(stream); // ResourceNotFound before anything else
  call.gw.rateLimiter?.take(call.client, records.length);
  const leave = call.gw.admission.enterAppend();
  try {
    const results = await call.gw.append(stream, records);
    countAppend(call.gw.metrics, call.info, stream, 'kinesis', results, records.reduce((n, r) => n + r.value.length, 0));
    return { info, results };
  } finally {
    leave();
  }
}

const sequenceOf = (info: StreamInfo, r: { partition: number; offset: number }) =>
  encodeSequence({ createdAt: info.createdAt, partition: r.partition, offset: r.offset });

/** PutRecord: stores one record and answers its shard and sequence number. */
export async function putRecord(call: KinesisCall): Promise<object> {
  const stream = streamNameOf(call.params);
  const ordering = call.params.SequenceNumberForOrdering as string | undefined;
  if (ordering !== undefined && !decodeSequence(ordering)) {
    throw invalidArgument(`ExclusiveMinimumSequenceNumber ${ordering} used in PutRecord on stream ${stream} under account ${ACCOUNT} is invalid.`);
  }
  const { info, results } = await store(call, stream, [toRecord(call.params as unknown as Entry)]);
  const r = results[0];
  if (!r || 'error' in r) throw new KinesisError('InternalFailure', r?.error.message ?? 'not stored', 500);
  return { ShardId: shardIdOf(r.partition), SequenceNumber: sequenceOf(info, r), EncryptionType: 'NONE' };
}

/** PutRecords: stores up to 500 records, one result each, in request order. */
export async function putRecords(call: KinesisCall): Promise<object> {
  const stream = streamNameOf(call.params);
  const records = (call.params.Records as Entry[]).map(toRecord);
  const total = records.reduce((n, r) => n + r.size, 0);
  if (total > MAX_PUT_BYTES) throw invalidArgument(`Records size exceeds 5 MB limit (${total} bytes)`);
  const { info, results } = await store(call, stream, records);
  let failed = 0;
  const out = results.map((r) => {
    if ('offset' in r) return { SequenceNumber: sequenceOf(info, r), ShardId: shardIdOf(r.partition) };
    failed++;
    return { ErrorCode: 'InternalFailure', ErrorMessage: r.error.message };
  });
  return { FailedRecordCount: failed, Records: out, EncryptionType: 'NONE' };
}

/** GetRecords: up to Limit records from the iterator's position, and the iterator after them. */
export async function getRecords(call: KinesisCall): Promise<object> {
  const it = decodeIterator(call.params.ShardIterator as string);
  const limit = (call.params.Limit as number | undefined) ?? MAX_GET_LIMIT;
  const now = call.gw.clock.now();
  if (now - it.t > ITERATOR_TTL_MS) {
    throw new KinesisError(
      'ExpiredIteratorException',
      `Iterator expired. The iterator was created at time ${new Date(it.t).toISOString()} while right now it is ${new Date(now).toISOString()} which is further in the future than the tolerated delay of ${ITERATOR_TTL_MS} milliseconds.`,
    );
  }
  call.authorize(it.s, 'read');
  if (streamStamp((await call.gw.streamInfo(it.s)).createdAt) !== it.c) {
    throw new KinesisError('ResourceNotFoundException', `Shard ${shardIdOf(it.p)} in stream ${it.s} under account ${ACCOUNT} does not exist`);
  }
  const { records, next } = await call.gw.engine.read(it.s, it.p, it.o, limit);
  const tip = await call.gw.engine.resolve(it.s, it.p, 'latest');
  const last = records.at(-1);
  // How far this page is from the tip: 0 when caught up, else the age of the last record returned.
  const behind = next >= tip ? 0 : Math.max(0, now - (last?.timestamp ?? now));
  return {
    Records: records.map((r) => ({
      SequenceNumber: encodeSequence({ createdAt: it.c, partition: it.p, offset: r.offset }),
      ApproximateArrivalTimestamp: r.timestamp / 1000,
      Data: Buffer.from(r.value).toString('base64'),
      PartitionKey: r.key ?? '',
    })),
    NextShardIterator: encodeIterator({ ...it, o: next, t: now }),
    MillisBehindLatest: behind,
  };
}

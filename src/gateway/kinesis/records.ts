// Kinesis record operations: PutRecord(s) store the raw Data bytes; a shard iterator is an
// opaque token naming stream, partition and offset; sequence numbers are offsets in decimal.
import type { AppendRecord, AppendResult } from '../../engine/engine.js';
import { parseHashKey } from '../../engine/partitioner.js';
import type { KinesisCall } from './index.js';
import { KinesisError, validation } from './errors.js';
import { partitionOfShardId, shardIdOf, streamNameOf } from './streams.js';

export const MAX_RECORD_BYTES = 1024 * 1024; // 1 MiB of data per record
export const MAX_RECORDS_PER_PUT = 500;
export const MAX_PUT_BYTES = 5 * 1024 * 1024; // data plus partition keys of one PutRecords
export const MAX_KEY_LENGTH = 256;
export const ITERATOR_TTL_MS = 5 * 60 * 1000; // shard iterators expire after 5 minutes, as in Kinesis
export const MAX_GET_LIMIT = 10_000;

const ITERATOR_TYPES = ['AT_SEQUENCE_NUMBER', 'AFTER_SEQUENCE_NUMBER', 'TRIM_HORIZON', 'LATEST', 'AT_TIMESTAMP'];
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** Validates one Kinesis record entry; `at` names it in messages ('records.3.member'). */
function toRecord(entry: unknown, at: string): AppendRecord & { size: number } {
  const { Data, PartitionKey, ExplicitHashKey } = (entry ?? {}) as Record<string, unknown>;
  if (typeof PartitionKey !== 'string' || PartitionKey.length < 1 || PartitionKey.length > MAX_KEY_LENGTH) {
    throw validation(`${at}partitionKey`, `Member must have length between 1 and ${MAX_KEY_LENGTH}`);
  }
  if (typeof Data !== 'string' || (Data.length % 4 !== 0 && Data.length > 0) || !BASE64.test(Data)) {
    throw validation(`${at}data`, 'Member must be base64-encoded binary data');
  }
  const value = Buffer.from(Data, 'base64');
  if (value.length > MAX_RECORD_BYTES) throw validation(`${at}data`, `Member must have length less than or equal to ${MAX_RECORD_BYTES}`);
  const record: AppendRecord & { size: number } = { key: PartitionKey, value, size: value.length + Buffer.byteLength(PartitionKey) };
  if (ExplicitHashKey !== undefined) {
    if (typeof ExplicitHashKey !== 'string' || parseHashKey(ExplicitHashKey) === undefined) {
      throw validation(`${at}explicitHashKey`, 'Member must satisfy regular expression pattern: 0|([1-9]\\d{0,38}) and be below 2^128');
    }
    record.explicitHashKey = ExplicitHashKey;
  }
  return record;
}

async function store(call: KinesisCall, stream: string, records: AppendRecord[]): Promise<AppendResult[]> {
  call.authorize(stream, 'write');
  await call.gw.streamInfo(stream); // ResourceNotFound before anything else
  call.gw.rateLimiter?.take(call.client, records.length);
  const leave = call.gw.admission.enterAppend();
  try {
    return await call.gw.engine.append(stream, records);
  } finally {
    leave();
  }
}

export async function putRecord(call: KinesisCall): Promise<unknown> {
  const stream = streamNameOf(call.params);
  const [r] = await store(call, stream, [toRecord(call.params, '')]);
  if (!r || 'error' in r) throw new KinesisError('InternalFailure', r?.error.message ?? 'not stored', 500);
  return { ShardId: shardIdOf(r.partition), SequenceNumber: String(r.offset), EncryptionType: 'NONE' };
}

export async function putRecords(call: KinesisCall): Promise<unknown> {
  const stream = streamNameOf(call.params);
  const entries = call.params.Records;
  if (!Array.isArray(entries) || entries.length < 1) throw validation('records', 'Member must have length greater than or equal to 1');
  if (entries.length > MAX_RECORDS_PER_PUT) throw validation('records', `Member must have length less than or equal to ${MAX_RECORDS_PER_PUT}`);
  const records = entries.map((e, i) => toRecord(e, `records.${i + 1}.member.`));
  const total = records.reduce((n, r) => n + r.size, 0);
  if (total > MAX_PUT_BYTES) throw new KinesisError('InvalidArgumentException', `Records size exceeds 5 MB limit (${total} bytes)`);
  const results = await store(call, stream, records);
  let failed = 0;
  const out = results.map((r) => {
    if ('offset' in r) return { SequenceNumber: String(r.offset), ShardId: shardIdOf(r.partition) };
    failed++;
    return { ErrorCode: 'InternalFailure', ErrorMessage: r.error.message };
  });
  return { FailedRecordCount: failed, Records: out, EncryptionType: 'NONE' };
}

interface Iterator {
  s: string;
  p: number;
  o: number;
  t: number;
}

const encodeIterator = (it: Iterator) => Buffer.from(JSON.stringify(it)).toString('base64url');

function decodeIterator(token: unknown): Iterator {
  if (typeof token !== 'string' || token.length < 1 || token.length > 512) throw validation('shardIterator', 'Member must have length between 1 and 512');
  try {
    const it = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as Iterator;
    if (typeof it.s === 'string' && Number.isInteger(it.p) && Number.isSafeInteger(it.o) && Number.isFinite(it.t)) return it;
  } catch {
    // fall through
  }
  throw new KinesisError('InvalidArgumentException', 'Invalid ShardIterator.');
}

function sequenceNumber(v: unknown): number {
  if (typeof v !== 'string' || !/^\d{1,15}$/.test(v)) throw new KinesisError('InvalidArgumentException', `StartingSequenceNumber ${String(v)} is not a valid sequence number`);
  return Number(v);
}

export async function getShardIterator(call: KinesisCall): Promise<unknown> {
  const stream = streamNameOf(call.params);
  call.authorize(stream, 'read');
  const { ShardId, ShardIteratorType: type, StartingSequenceNumber, Timestamp } = call.params;
  if (typeof type !== 'string' || !ITERATOR_TYPES.includes(type)) {
    throw validation('shardIteratorType', `Member must satisfy enum value set: [${ITERATOR_TYPES.join(', ')}]`);
  }
  const info = await call.gw.streamInfo(stream);
  const p = partitionOfShardId(ShardId, info.partitions);
  const engine = call.gw.engine;
  let offset: number;
  if (type === 'TRIM_HORIZON') offset = await engine.resolve(stream, p, 'earliest');
  else if (type === 'LATEST') offset = await engine.resolve(stream, p, 'latest');
  else if (type === 'AT_SEQUENCE_NUMBER') offset = sequenceNumber(StartingSequenceNumber);
  else if (type === 'AFTER_SEQUENCE_NUMBER') offset = sequenceNumber(StartingSequenceNumber) + 1;
  else {
    if (typeof Timestamp !== 'number' || !Number.isFinite(Timestamp)) throw new KinesisError('InvalidArgumentException', 'Timestamp is required for AT_TIMESTAMP');
    offset = await engine.resolve(stream, p, { timestamp: Math.round(Timestamp * 1000) });
  }
  return { ShardIterator: encodeIterator({ s: stream, p, o: offset, t: call.gw.clock.now() }) };
}

export async function getRecords(call: KinesisCall): Promise<unknown> {
  const it = decodeIterator(call.params.ShardIterator);
  const limit = call.params.Limit ?? MAX_GET_LIMIT;
  if (!Number.isInteger(limit) || (limit as number) < 1 || (limit as number) > MAX_GET_LIMIT) {
    throw validation('limit', `Member must have value between 1 and ${MAX_GET_LIMIT}`);
  }
  const now = call.gw.clock.now();
  if (now - it.t > ITERATOR_TTL_MS) {
    throw new KinesisError('ExpiredIteratorException', `Iterator expired. The iterator was created at time ${new Date(it.t).toISOString()} while right now it is ${new Date(now).toISOString()} which is further in the future than the tolerated delay of 300000 milliseconds.`);
  }
  call.authorize(it.s, 'read');
  const { records, next } = await call.gw.engine.read(it.s, it.p, it.o, limit as number);
  const tip = await call.gw.engine.resolve(it.s, it.p, 'latest');
  const last = records.at(-1);
  // How far this page is from the tip: 0 when caught up, else the age of the last record returned.
  const behind = next >= tip ? 0 : Math.max(0, now - (last?.timestamp ?? now));
  return {
    Records: records.map((r) => ({
      SequenceNumber: String(r.offset),
      ApproximateArrivalTimestamp: r.timestamp / 1000,
      Data: Buffer.from(r.value).toString('base64'),
      PartitionKey: r.key ?? '',
    })),
    NextShardIterator: encodeIterator({ s: it.s, p: it.p, o: next, t: now }),
    MillisBehindLatest: behind,
  };
}

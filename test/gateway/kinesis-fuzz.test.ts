// Hostile input, seeded: every Kinesis operation given nulls, lists, numbers, huge strings, unknown
// and missing members answers a 4xx in AWS's error shape, never a 500. Deterministic (fixed seed).
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startGateway, type TestGateway } from '../support/gateway.js';

const SEED = 20131202;
const REQUESTS = 400;
const OPERATIONS = [
  'AddTagsToStream', 'CreateStream', 'DecreaseStreamRetentionPeriod', 'DeleteStream', 'DescribeLimits', 'DescribeStream',
  'DescribeStreamSummary', 'GetRecords', 'GetShardIterator', 'IncreaseStreamRetentionPeriod', 'ListShards', 'ListStreams',
  'ListTagsForStream', 'PutRecord', 'PutRecords', 'RemoveTagsFromStream', 'UpdateStreamMode',
];
const MEMBERS = [
  'StreamName', 'StreamARN', 'ShardCount', 'StreamModeDetails', 'Tags', 'TagKeys', 'RetentionPeriodHours', 'Limit', 'ExclusiveStartShardId',
  'ExclusiveStartTagKey', 'ExclusiveStartStreamName', 'NextToken', 'MaxResults', 'ShardFilter', 'ShardId', 'ShardIteratorType',
  'StartingSequenceNumber', 'Timestamp', 'ShardIterator', 'PartitionKey', 'Data', 'ExplicitHashKey', 'SequenceNumberForOrdering', 'Records',
  'EnforceConsumerDeletion', 'Bogus',
];

/** mulberry32: a small PRNG, so the same seed makes the same requests. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let x = Math.imul(a ^ (a >>> 15), 1 | a);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

let t: TestGateway;
beforeAll(async () => {
  t = await startGateway(); // open: every request reaches validation and the operation
  await t.engine.createStream('fuzz', { partitions: 2 });
});
afterAll(() => t.close());

it(`${REQUESTS} seeded hostile requests over every operation answer < 500, each error with an __type`, async () => {
  const next = random(SEED);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)]!;
  const seen: unknown[] = []; // values from earlier answers (iterators, sequence numbers, tokens), fed back in
  const scalar = (): unknown =>
    pick([
      () => null, () => true, () => 0, () => -1, () => 1.5, () => 2 ** 53, () => 1e300, () => '', () => 'fuzz', () => 'fuzz2',
      () => 'shardId-000000000001', () => 'shard-9', () => 'ON_DEMAND', () => 'AT_TIMESTAMP', () => 'LATEST', () => 'TRIM_HORIZON',
      () => 'AFTER_SEQUENCE_NUMBER', () => 'AT_SEQUENCE_NUMBER', () => 'AFTER_SHARD_ID', () => '1'.repeat(130), () => 'AAAA', () => '=',
      () => 'x'.repeat(1 + Math.floor(next() * 200_000)), () => '\u0000\ud800', () => 'arn:aws:kinesis:us-east-1:000000000000:stream/fuzz',
      () => '__proto__', () => (seen.length ? pick(seen) : 'none'),
    ])();
  const value = (depth: number): unknown => {
    const r = next();
    if (depth > 2 || r < 0.55) return scalar();
    if (r < 0.75) return Array.from({ length: Math.floor(next() * 4) }, () => value(depth + 1));
    return Object.fromEntries(Array.from({ length: Math.floor(next() * 4) }, () => [pick([...MEMBERS, 'Key', 'Value', 'Type', '__proto__']), value(depth + 1)]));
  };
  const stream = () => pick(['fuzz', 'fuzz', 'fuzz2', `s${Math.floor(next() * 5)}`]);
  const fed = (fallback: string) => (seen.length && next() < 0.7 ? pick(seen) : fallback);
  const hostileNumber = () => pick([0, 1, -1, 99, 1.5, 2 ** 60, -1e20, 1e20, Date.now()]);
  /** An iterator or token as Sluice makes them (base64url JSON), with hostile numbers in it. */
  const forged = () =>
    Buffer.from(JSON.stringify({ s: pick(['fuzz', 'none']), c: hostileNumber(), p: hostileNumber(), o: hostileNumber(), t: hostileNumber() })).toString('base64url');
  /** A request the operation could take, before mutation: so mutations reach past validation. */
  const plausible = (op: string): Record<string, unknown> => {
    const StreamName = stream();
    const StreamARN = `arn:aws:kinesis:us-east-1:000000000000:stream/${StreamName}`;
    const record = () => ({ PartitionKey: pick(['k', 'user-1', 'x'.repeat(256)]), Data: pick(['', 'AAAA', 'aGVsbG8=']), ...(next() < 0.3 ? { ExplicitHashKey: pick(['0', '340282366920938463463374607431768211456']) } : {}) });
    const bodies: Record<string, () => Record<string, unknown>> = {
      AddTagsToStream: () => ({ StreamName, Tags: { a: 'b', [pick(['c', '50%', 'a;b', '__proto__'])]: '' } }),
      CreateStream: () => (next() < 0.5 ? { StreamName, ShardCount: pick([1, 2, 1025]) } : { StreamName, StreamModeDetails: { StreamMode: 'ON_DEMAND' }, Tags: { t: 'v' } }),
      DecreaseStreamRetentionPeriod: () => ({ StreamName, RetentionPeriodHours: pick([23, 24, 48, 9000]) }),
      DeleteStream: () => ({ StreamName: pick(['fuzz2', `s${Math.floor(next() * 5)}`]) }),
      DescribeLimits: () => ({}),
      DescribeStream: () => ({ StreamName, Limit: pick([1, 100, 10000]), ExclusiveStartShardId: pick(['shard-0', 'zzz', 'a']) }),
      DescribeStreamSummary: () => ({ StreamARN }),
      GetRecords: () => ({ ShardIterator: next() < 0.5 ? forged() : fed('AAAA'), Limit: pick([1, 10000]) }),
      GetShardIterator: () => ({
        StreamName,
        ShardId: pick(['shardId-000000000000', 'shard-1', '7']),
        ShardIteratorType: pick(['TRIM_HORIZON', 'LATEST', 'AT_SEQUENCE_NUMBER', 'AFTER_SEQUENCE_NUMBER', 'AT_TIMESTAMP']),
        ...(next() < 0.5 ? { StartingSequenceNumber: fed('1') } : {}),
        ...(next() < 0.5 ? { Timestamp: pick([0, 1e9, 4e9, -1]) } : {}),
      }),
      IncreaseStreamRetentionPeriod: () => ({ StreamName, RetentionPeriodHours: pick([24, 48, 8760, 8761]) }),
      ListShards: () => (next() < 0.5 ? { StreamName, MaxResults: pick([1, 2]) } : { NextToken: next() < 0.5 ? forged() : fed('eyJzIjoiZnV6eiIsInAiOjF9') }),
      ListStreams: () => ({ Limit: pick([1, 2]), ...(next() < 0.5 ? { NextToken: fed('e30') } : {}) }),
      ListTagsForStream: () => ({ StreamName, Limit: pick([1, 50]), ExclusiveStartTagKey: pick(['a', 'z']) }),
      PutRecord: () => ({ StreamName, ...record(), ...(next() < 0.3 ? { SequenceNumberForOrdering: fed('5') } : {}) }),
      PutRecords: () => ({ StreamName, Records: Array.from({ length: 1 + Math.floor(next() * 3) }, record) }),
      RemoveTagsFromStream: () => ({ StreamName, TagKeys: ['a', pick(['c', '%', ''])] }),
      UpdateStreamMode: () => ({ StreamARN, StreamModeDetails: { StreamMode: pick(['ON_DEMAND', 'PROVISIONED']) } }),
    };
    return bodies[op]!();
  };
  /** Replaces, drops or adds a member or two. */
  const mutate = (body: Record<string, unknown>): Record<string, unknown> => {
    const out = { ...body };
    const keys = Object.keys(out);
    if (keys.length && next() < 0.4) out[pick(keys)] = value(0);
    if (keys.length && next() < 0.2) delete out[pick(keys)];
    if (next() < 0.2) out[pick(MEMBERS)] = value(0);
    return out;
  };
  const answers: { op: string; status: number; type: unknown }[] = [];
  for (let i = 0; i < REQUESTS; i++) {
    const op = pick(OPERATIONS);
    const body = next() < 0.15 ? Object.fromEntries(Array.from({ length: Math.floor(next() * 6) }, () => [pick(MEMBERS), value(0)])) : mutate(plausible(op));
    const text = next() < 0.03 ? pick(['', '[1]', '{"a":', 'null']) : JSON.stringify(body);
    const res = await fetch(t.url, { method: 'POST', body: text, headers: { 'x-amz-target': `Kinesis_20131202.${op}`, 'content-type': 'application/x-amz-json-1.1' } });
    const raw = await res.text();
    const answer = raw ? JSON.parse(raw) : {};
    for (const v of Object.values(answer)) if (typeof v === 'string' && v.length < 600) seen.push(v);
    answers.push({ op, status: res.status, type: res.status >= 400 ? answer.__type : 'ok' });
  }
  expect(answers.filter((a) => a.status >= 500 || (a.status >= 400 && typeof a.type !== 'string'))).toEqual([]);
  expect(new Set(answers.map((a) => a.op)).size).toBe(OPERATIONS.length);
  expect(answers.filter((a) => a.status === 200).length).toBeGreaterThan(10); // some requests got through validation
}, 120_000);

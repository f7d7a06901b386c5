// Kinesis request validation as AWS does it: ValidationException listing every failing member in
// AWS's words, SerializationException for wrong JSON types, InvalidArgumentException and
// LimitExceededException where AWS chooses them. On an open gateway (any signature is accepted).
import { CreateStreamCommand, GetShardIteratorCommand, KinesisClient, PutRecordCommand, type ShardIteratorType } from '@aws-sdk/client-kinesis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/clock.js';
import { post, startGateway, type TestGateway } from '../support/gateway.js';

const NOW = 1_750_000_000_000; // the gateway's clock, fixed: messages that quote the time are exact

let t: TestGateway;
let kinesis: KinesisClient;
beforeAll(async () => {
  t = await startGateway({}, { clock: { ...systemClock, now: () => NOW } });
  kinesis = new KinesisClient({ endpoint: t.url, region: 'us-east-1', credentials: { accessKeyId: 'AKID', secretAccessKey: 'secret' }, maxAttempts: 1 });
  await kinesis.send(new CreateStreamCommand({ StreamName: 'v', ShardCount: 2 }));
});
afterAll(async () => {
  kinesis.destroy();
  await t.close();
});

/** A raw JSON 1.1 request, for bodies the SDK would never build. */
const call = (op: string, body: unknown) =>
  post(t.url, typeof body === 'string' ? body : JSON.stringify(body), { 'x-amz-target': `Kinesis_20131202.${op}`, 'content-type': 'application/x-amz-json-1.1' });

const refusal = (name: string, message: string) => ({ name, message });

describe('ValidationException', () => {
  it("names the member, its value and AWS's constraint", async () => {
    await expect(kinesis.send(new CreateStreamCommand({ StreamName: 'bad name!', ShardCount: 1 }))).rejects.toMatchObject(refusal('ValidationException',
      "1 validation error detected: Value 'bad name!' at 'streamName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+"));
  });

  it('lists every failing member of the request, in one message', async () => {
    const r = await call('PutRecord', { StreamName: '', PartitionKey: '', Data: '', ExplicitHashKey: '', SequenceNumberForOrdering: '' });
    expect([r.status, r.headers.get('x-amzn-errortype')]).toEqual([400, 'ValidationException']);
    expect(r.body).toEqual({
      __type: 'ValidationException',
      message:
        '5 validation errors detected: ' +
        "Value '' at 'sequenceNumberForOrdering' failed to satisfy constraint: Member must satisfy regular expression pattern: 0|([1-9]\\d{0,128}); " +
        "Value '' at 'partitionKey' failed to satisfy constraint: Member must have length greater than or equal to 1; " +
        "Value '' at 'explicitHashKey' failed to satisfy constraint: Member must satisfy regular expression pattern: 0|([1-9]\\d{0,38}); " +
        "Value '' at 'streamName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+; " +
        "Value '' at 'streamName' failed to satisfy constraint: Member must have length greater than or equal to 1",
    });
    const name = 'a'.repeat(129);
    expect((await call('ListTagsForStream', { StreamName: name, ExclusiveStartTagKey: name, Limit: 100 })).body.message).toBe(
      '3 validation errors detected: ' +
        "Value '100' at 'limit' failed to satisfy constraint: Member must have value less than or equal to 50; " +
        `Value '${name}' at 'exclusiveStartTagKey' failed to satisfy constraint: Member must have length less than or equal to 128; ` +
        `Value '${name}' at 'streamName' failed to satisfy constraint: Member must have length less than or equal to 128`,
    );
  });

  it('reports missing required members as null, nested members by path, and blobs as Java shows them', async () => {
    expect((await call('GetShardIterator', {})).body.message).toBe(
      '2 validation errors detected: ' +
        "Value null at 'shardId' failed to satisfy constraint: Member must not be null; " +
        "Value null at 'shardIteratorType' failed to satisfy constraint: Member must not be null",
    );
    const big = Buffer.alloc(1024 * 1024 + 1).toString('base64');
    expect((await call('PutRecords', { StreamName: 'v', Records: [{ PartitionKey: 'k', Data: 'AA==' }, { Data: big }, null] })).body.message).toBe(
      '3 validation errors detected: ' +
        "Value null at 'records.2.member.partitionKey' failed to satisfy constraint: Member must not be null; " +
        "Value 'java.nio.HeapByteBuffer[pos=0 lim=1048577 cap=1048577]' at 'records.2.member.data' failed to satisfy constraint: Member must have length less than or equal to 1048576; " +
        "Value null at 'records.3.member' failed to satisfy constraint: Member must not be null",
    );
    expect((await call('CreateStream', { StreamName: 'm', StreamModeDetails: { StreamMode: 'FAST' } })).body.message).toBe(
      "1 validation error detected: Value 'FAST' at 'streamModeDetails.streamMode' failed to satisfy constraint: Member must satisfy enum value set: [PROVISIONED, ON_DEMAND]",
    );
    expect((await call('AddTagsToStream', { StreamName: 'v', Tags: { ['k'.repeat(129)]: 'v' } })).body.message).toBe(
      `1 validation error detected: Value '{${'k'.repeat(129)}=v}' at 'tags' failed to satisfy constraint: ` +
        'Map keys must satisfy constraint: [Member must have length less than or equal to 128, Member must have length greater than or equal to 1]',
    );
  });

  it('lists at most 10 failures', async () => {
    const records = Array.from({ length: 12 }, () => ({ PartitionKey: '', Data: '' }));
    expect((await call('PutRecords', { StreamName: 'v', Records: records })).body.message).toMatch(/^10 validation errors detected: (Value '' at 'records\.\d+\.member\.partitionKey'[^;]*(; |$)){10}$/);
  });
});

describe('SerializationException', () => {
  it('answers a member of the wrong JSON type with the first mismatch, in AWS\'s words', async () => {
    const cases: [string, object, string][] = [
      ['DescribeStream', { StreamName: 5 }, 'class com.amazon.coral.value.json.numbers.TruncatingBigNumber can not be converted to an String'],
      ['DescribeStream', { StreamName: true }, 'class java.lang.Boolean can not be converted to an String'],
      ['DescribeStream', { StreamName: ['v'] }, 'Start of list found where not expected'],
      ['DescribeStream', { StreamName: { n: 'v' } }, 'Start of structure or map found where not expected.'],
      ['CreateStream', { StreamName: 'x', ShardCount: '3' }, 'class java.lang.String can not be converted to an Integer'],
      ['CreateStream', { StreamName: 'x', StreamModeDetails: 'ON_DEMAND' }, 'Expected null'],
      ['AddTagsToStream', { StreamName: 'v', Tags: [] }, 'Start of list found where not expected'],
      ['AddTagsToStream', { StreamName: 'v', Tags: { a: 1 } }, 'class com.amazon.coral.value.json.numbers.TruncatingBigNumber can not be converted to an String'],
      ['PutRecords', { StreamName: 'v', Records: 'x' }, 'Expected list or null'],
      ['PutRecords', { StreamName: 'v', Records: {} }, 'Start of structure or map found where not expected.'],
      ['PutRecord', { StreamName: 'v', PartitionKey: 'k', Data: '23456' }, "'23456' can not be converted to a Blob: Base64 encoded length is expected a multiple of 4 bytes but found: 5"],
      ['PutRecord', { StreamName: 'v', PartitionKey: 'k', Data: '=+/=' }, "'=+/=' can not be converted to a Blob: Invalid Base64 character: '='"],
      ['PutRecord', { StreamName: 'v', PartitionKey: 'k', Data: '+/+=' }, "'+/+=' can not be converted to a Blob: Invalid last non-pad Base64 character dectected"],
      ['GetShardIterator', { StreamName: 'v', ShardId: '0', ShardIteratorType: 'AT_TIMESTAMP', Timestamp: 'now' }, 'class java.lang.String can not be converted to milliseconds since epoch'],
      ['DeleteStream', { StreamName: 'v', EnforceConsumerDeletion: 'maybe' }, "'MAYBE' can not be converted to an Boolean"],
    ];
    for (const [op, body, message] of cases) {
      expect([op, body, await call(op, body).then((r) => [r.status, r.body])]).toEqual([op, body, [400, { __type: 'SerializationException', Message: message }]]);
    }
  });

  it('ignores unknown members and nulls, as AWS does', async () => {
    const r = await call('CreateStream', { StreamName: 'lenient', ShardCount: 1, Tags: null, Bogus: { deep: [1, 2] }, streamName: 'other' });
    expect([r.status, r.body]).toEqual([200, undefined]);
    expect((await t.engine.describeStream('lenient')).partitions).toBe(1);
  });
});

describe('InvalidArgumentException and LimitExceededException, where AWS chooses them', () => {
  const iterator = (ShardIteratorType: ShardIteratorType, extra: object = {}) =>
    kinesis.send(new GetShardIteratorCommand({ StreamName: 'v', ShardId: 'shardId-000000000000', ShardIteratorType, ...extra }));
  const EITHER = 'Must either specify (1) AT_SEQUENCE_NUMBER or AFTER_SEQUENCE_NUMBER and StartingSequenceNumber or (2) TRIM_HORIZON or LATEST and no StartingSequenceNumber.';

  it('GetShardIterator refuses LATEST or TRIM_HORIZON with a sequence number, and the sequence and timestamp types without theirs', async () => {
    await expect(iterator('LATEST', { StartingSequenceNumber: '5' })).rejects.toMatchObject(refusal('InvalidArgumentException', `${EITHER} Request specified LATEST and also a StartingSequenceNumber.`));
    await expect(iterator('TRIM_HORIZON', { StartingSequenceNumber: '5' })).rejects.toMatchObject(refusal('InvalidArgumentException', `${EITHER} Request specified TRIM_HORIZON and also a StartingSequenceNumber.`));
    await expect(iterator('AFTER_SEQUENCE_NUMBER')).rejects.toMatchObject(refusal('InvalidArgumentException', `${EITHER} Request specified AFTER_SEQUENCE_NUMBER and no StartingSequenceNumber.`));
    await expect(iterator('AT_TIMESTAMP')).rejects.toMatchObject(refusal('InvalidArgumentException',
      'Must specify timestampInMillis parameter for iterator of type AT_TIMESTAMP. Current request has no timestamp parameter.'));
    await expect(iterator('AT_SEQUENCE_NUMBER', { StartingSequenceNumber: '0x5' })).rejects.toMatchObject({ name: 'ValidationException' });
  });

  it('GetShardIterator refuses an AT_TIMESTAMP in the future, by the gateway clock', async () => {
    await expect(iterator('AT_TIMESTAMP', { Timestamp: new Date(NOW + 60_000) })).rejects.toMatchObject(refusal('InvalidArgumentException',
      `The timestampInMillis parameter cannot be greater than the currentTimestampInMillis. timestampInMillis: ${NOW + 60_000}, currentTimestampInMillis: ${NOW}`));
    expect((await iterator('AT_TIMESTAMP', { Timestamp: new Date(NOW) })).ShardIterator).toMatch(/^[\w-]+$/);
  });

  it('PutRecord refuses an ExplicitHashKey past 2^128-1', async () => {
    const key = (2n ** 128n).toString();
    await expect(kinesis.send(new PutRecordCommand({ StreamName: 'v', PartitionKey: 'k', Data: Buffer.from('x'), ExplicitHashKey: key }))).rejects.toMatchObject(
      refusal('InvalidArgumentException', `Invalid ExplicitHashKey. ExplicitHashKey must be in the range: [0, 2^128-1]. Specified value was ${key}`));
  });

  it('CreateStream: a ShardCount over the 1024 shards a stream may have is LimitExceededException, 0 a ValidationException, and neither stream exists', async () => {
    await expect(kinesis.send(new CreateStreamCommand({ StreamName: 'huge', ShardCount: 1025 }))).rejects.toMatchObject(refusal('LimitExceededException',
      'This request would exceed the shard limit of a stream in us-east-1. Limit: 1024. Number of shards that would have resulted from this request: 1025.'));
    await expect(kinesis.send(new CreateStreamCommand({ StreamName: 'none', ShardCount: 0 }))).rejects.toMatchObject(refusal('ValidationException',
      "1 validation error detected: Value '0' at 'shardCount' failed to satisfy constraint: Member must have value greater than or equal to 1"));
    expect((await t.engine.listStreams()).map((s) => s.name).filter((n) => n === 'huge' || n === 'none')).toEqual([]);
  });

  it('a request naming no stream is refused', async () => {
    expect((await call('DescribeStream', {})).body).toEqual({ __type: 'InvalidArgumentException', message: 'Either StreamName or StreamARN should be provided.' });
  });
});

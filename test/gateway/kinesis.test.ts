// The Kinesis Data Streams API, driven by the official AWS SDK v3 client with its default
// settings (HTTP/2 over cleartext to a local endpoint), against a gateway that verifies SigV4.
import {
  CreateStreamCommand, DeleteStreamCommand, DescribeStreamCommand, DescribeStreamSummaryCommand, GetRecordsCommand,
  GetShardIteratorCommand, KinesisClient, ListShardsCommand, ListStreamsCommand, PutRecordCommand, PutRecordsCommand,
  type ShardIteratorType,
} from '@aws-sdk/client-kinesis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/clock.js';
import { partitionOfKey } from '../../src/engine/partitioner.js';
import { ENGINES } from '../support/engines.js';
import { post, startGateway, type TestGateway } from '../support/gateway.js';

const CREDS = { accessKeyId: 'AKIDPRODUCER', secretAccessKey: 'producer-secret-key' };

describe.each(ENGINES)('on the $name engine', ({ factory: engine }) => {
  let t: TestGateway;
  let kinesis: KinesisClient;
  const client = (credentials: { accessKeyId: string; secretAccessKey: string }) =>
    new KinesisClient({ endpoint: t.url, region: 'us-east-1', credentials, maxAttempts: 1 });

  beforeAll(async () => {
    t = await startGateway({
      principals: [
        { id: 'producer', ...CREDS, scopes: { '*': ['admin'] } },
        { id: 'reader', accessKeyId: 'AKIDREADER', secretAccessKey: 'reader-secret', scopes: { 'public-*': ['read'] } },
      ],
    }, { engine });
    kinesis = client(CREDS);
    await kinesis.send(new CreateStreamCommand({ StreamName: 'clicks', ShardCount: 3 }));
  });
  afterAll(async () => {
    kinesis.destroy();
    await t.close();
  });

  const dec = (b: Uint8Array | undefined) => Buffer.from(b ?? []).toString('utf8');

  describe('Kinesis API with the AWS SDK', () => {
    it('describes, lists streams and shards with equal hash-key ranges', async () => {
      const d = await kinesis.send(new DescribeStreamCommand({ StreamName: 'clicks' }));
      expect(d.StreamDescription?.StreamStatus).toBe('ACTIVE');
      expect(d.StreamDescription?.Shards?.map((s) => [s.ShardId, s.HashKeyRange?.StartingHashKey, s.HashKeyRange?.EndingHashKey])).toEqual([
        ['shardId-000000000000', '0', '113427455640312821154458202477256070484'],
        ['shardId-000000000001', '113427455640312821154458202477256070485', '226854911280625642308916404954512140969'],
        ['shardId-000000000002', '226854911280625642308916404954512140970', '340282366920938463463374607431768211455'],
      ]);
      const s = await kinesis.send(new DescribeStreamSummaryCommand({ StreamName: 'clicks' }));
      expect(s.StreamDescriptionSummary).toMatchObject({ StreamName: 'clicks', OpenShardCount: 3, RetentionPeriodHours: 24 }); // AWS's default for a Kinesis-created stream
      expect((await kinesis.send(new ListStreamsCommand({}))).StreamNames).toContain('clicks');
      const shards = await kinesis.send(new ListShardsCommand({ StreamName: 'clicks', MaxResults: 2 }));
      expect(shards.Shards?.map((x) => x.ShardId)).toEqual(['shardId-000000000000', 'shardId-000000000001']);
      const rest = await kinesis.send(new ListShardsCommand({ NextToken: shards.NextToken }));
      expect(rest.Shards?.map((x) => x.ShardId)).toEqual(['shardId-000000000002']);
      expect(rest.NextToken).toBeUndefined();
    });

    it('puts records to the shard MD5 of the partition key picks, and reads them back with every iterator type', async () => {
      await kinesis.send(new CreateStreamCommand({ StreamName: 'iter', ShardCount: 2 }));
      const shard = partitionOfKey('user-9', 2);
      const one = await kinesis.send(new PutRecordCommand({ StreamName: 'iter', PartitionKey: 'user-9', Data: Buffer.from('first') }));
      expect(one.ShardId).toBe(`shardId-00000000000${shard}`);
      expect(one.SequenceNumber).toMatch(/^\d+$/);
      const many = await kinesis.send(new PutRecordsCommand({
        StreamName: 'iter',
        Records: ['second', 'third'].map((d) => ({ PartitionKey: 'user-9', Data: Buffer.from(d) })),
      }));
      expect(many.FailedRecordCount).toBe(0);
      const [second, third] = many.Records!.map((r) => BigInt(r.SequenceNumber!));
      expect(second! > BigInt(one.SequenceNumber!) && third! > second!).toBe(true);
      const read = async (type: ShardIteratorType, extra: object = {}) => {
        const it = await kinesis.send(new GetShardIteratorCommand({ StreamName: 'iter', ShardId: one.ShardId, ShardIteratorType: type, ...extra }));
        const r = await kinesis.send(new GetRecordsCommand({ ShardIterator: it.ShardIterator }));
        return { data: r.Records?.map((x) => dec(x.Data)), next: r.NextShardIterator, behind: r.MillisBehindLatest, records: r.Records };
      };
      const horizon = await read('TRIM_HORIZON');
      expect(horizon.data).toEqual(['first', 'second', 'third']);
      expect(horizon.behind).toBe(0);
      expect(horizon.records?.[0]?.PartitionKey).toBe('user-9');
      expect(horizon.records?.[0]?.ApproximateArrivalTimestamp).toBeInstanceOf(Date);
      expect((await read('AT_SEQUENCE_NUMBER', { StartingSequenceNumber: String(second) })).data).toEqual(['second', 'third']);
      expect((await read('AFTER_SEQUENCE_NUMBER', { StartingSequenceNumber: String(second) })).data).toEqual(['third']);
      expect((await read('AT_TIMESTAMP', { Timestamp: new Date(Date.now() - 60_000) })).data).toEqual(['first', 'second', 'third']);
      const latest = await read('LATEST');
      expect(latest.data).toEqual([]);
      await kinesis.send(new PutRecordCommand({ StreamName: 'iter', PartitionKey: 'user-9', Data: Buffer.from('fourth') }));
      const after = await kinesis.send(new GetRecordsCommand({ ShardIterator: latest.next }));
      expect(after.Records?.map((x) => dec(x.Data))).toEqual(['fourth']);
    });

    it('routes by ExplicitHashKey and limits a GetRecords page', async () => {
      await kinesis.send(new CreateStreamCommand({ StreamName: 'hashed', ShardCount: 2 }));
      const put = await kinesis.send(new PutRecordsCommand({
        StreamName: 'hashed',
        Records: [0, 1, 2].map((i) => ({ PartitionKey: 'k', ExplicitHashKey: '340282366920938463463374607431768211455', Data: Buffer.from(String(i)) })),
      }));
      expect(put.Records?.map((r) => r.ShardId)).toEqual(Array(3).fill('shardId-000000000001'));
      const it = await kinesis.send(new GetShardIteratorCommand({ StreamName: 'hashed', ShardId: 'shardId-000000000001', ShardIteratorType: 'TRIM_HORIZON' }));
      const page = await kinesis.send(new GetRecordsCommand({ ShardIterator: it.ShardIterator, Limit: 2 }));
      expect(page.Records?.map((r) => dec(r.Data))).toEqual(['0', '1']);
      expect(page.MillisBehindLatest).toBeGreaterThanOrEqual(0);
      const rest = await kinesis.send(new GetRecordsCommand({ ShardIterator: page.NextShardIterator }));
      expect(rest.Records?.map((r) => dec(r.Data))).toEqual(['2']);
    });

    it('records put through Kinesis are readable on the native API and the reverse', async () => {
      await kinesis.send(new CreateStreamCommand({ StreamName: 'both', ShardCount: 1 }));
      await kinesis.send(new PutRecordCommand({ StreamName: 'both', PartitionKey: 'p', Data: Buffer.from('{"via":"kinesis"}') }));
      const it = await kinesis.send(new GetShardIteratorCommand({ StreamName: 'both', ShardId: 'shardId-000000000000', ShardIteratorType: 'TRIM_HORIZON' }));
      const r = await kinesis.send(new GetRecordsCommand({ ShardIterator: it.ShardIterator }));
      expect(r.Records?.map((x) => JSON.parse(dec(x.Data)))).toEqual([{ via: 'kinesis' }]);
    });

    it('deletes a stream', async () => {
      await kinesis.send(new CreateStreamCommand({ StreamName: 'gone', ShardCount: 1 }));
      await kinesis.send(new DeleteStreamCommand({ StreamName: 'gone' }));
      await expect(kinesis.send(new DescribeStreamCommand({ StreamName: 'gone' }))).rejects.toMatchObject({
        name: 'ResourceNotFoundException', message: 'Stream gone under account 000000000000 not found.',
      });
    });
  });

  describe('Kinesis errors and limits', () => {
    const expectError = (p: Promise<unknown>, name: string, message?: string | RegExp) =>
      expect(p).rejects.toMatchObject({ name, ...(message ? { message: typeof message === 'string' ? message : expect.stringMatching(message) } : {}) });

    it('refuses an existing stream, an unknown stream and an unknown shard', async () => {
      await expectError(kinesis.send(new CreateStreamCommand({ StreamName: 'clicks', ShardCount: 1 })), 'ResourceInUseException');
      await expectError(kinesis.send(new PutRecordCommand({ StreamName: 'nope', PartitionKey: 'k', Data: Buffer.from('x') })), 'ResourceNotFoundException');
      await expectError(kinesis.send(new GetShardIteratorCommand({ StreamName: 'clicks', ShardId: 'shardId-000000000009', ShardIteratorType: 'LATEST' })), 'ResourceNotFoundException');
    });

    it('enforces the record, batch and key limits with ValidationException, storing nothing', async () => {
      await kinesis.send(new CreateStreamCommand({ StreamName: 'limits', ShardCount: 1 }));
      await expectError(kinesis.send(new PutRecordCommand({ StreamName: 'limits', PartitionKey: 'k', Data: Buffer.alloc(1024 * 1024 + 1) })), 'ValidationException',
        "1 validation error detected: Value 'java.nio.HeapByteBuffer[pos=0 lim=1048577 cap=1048577]' at 'data' failed to satisfy constraint: Member must have length less than or equal to 1048576");
      await expectError(kinesis.send(new PutRecordCommand({ StreamName: 'limits', PartitionKey: 'k'.repeat(257), Data: Buffer.from('x') })), 'ValidationException', /partitionKey/);
      await expectError(kinesis.send(new PutRecordCommand({ StreamName: 'limits', PartitionKey: '', Data: Buffer.from('x') })), 'ValidationException', /partitionKey/);
      const tooMany = Array.from({ length: 501 }, () => ({ PartitionKey: 'k', Data: Buffer.from('x') }));
      await expectError(kinesis.send(new PutRecordsCommand({ StreamName: 'limits', Records: tooMany })), 'ValidationException', /less than or equal to 500/);
      const tooBig = Array.from({ length: 6 }, () => ({ PartitionKey: 'k', Data: Buffer.alloc(1000 * 1000) }));
      await expectError(kinesis.send(new PutRecordsCommand({ StreamName: 'limits', Records: tooBig })), 'InvalidArgumentException', /Records size exceeds 5 MB limit/);
      await expectError(kinesis.send(new PutRecordsCommand({ StreamName: 'limits', Records: [{ PartitionKey: 'k', Data: Buffer.from('x'), ExplicitHashKey: 'abc' }] })), 'ValidationException');
      const it = await kinesis.send(new GetShardIteratorCommand({ StreamName: 'limits', ShardId: 'shardId-000000000000', ShardIteratorType: 'TRIM_HORIZON' }));
      expect((await kinesis.send(new GetRecordsCommand({ ShardIterator: it.ShardIterator }))).Records).toEqual([]);
    });

    it('refuses a forged iterator and a bad iterator type', async () => {
      await expectError(kinesis.send(new GetRecordsCommand({ ShardIterator: 'bm90IGFuIGl0ZXJhdG9y' })), 'InvalidArgumentException', 'Invalid ShardIterator.');
      await expectError(kinesis.send(new GetShardIteratorCommand({ StreamName: 'clicks', ShardId: 'shardId-000000000000', ShardIteratorType: 'SOMETIME' as ShardIteratorType })), 'ValidationException');
    });

    it('refuses an unknown access key, a wrong secret and a missing scope', async () => {
      const stranger = client({ accessKeyId: 'AKIDSTRANGER', secretAccessKey: 'x' });
      await expectError(stranger.send(new ListStreamsCommand({})), 'UnrecognizedClientException', 'The security token included in the request is invalid.');
      const wrong = client({ accessKeyId: CREDS.accessKeyId, secretAccessKey: 'not-the-secret' });
      await expectError(wrong.send(new ListStreamsCommand({})), 'InvalidSignatureException', /does not match the signature you provided/);
      const reader = client({ accessKeyId: 'AKIDREADER', secretAccessKey: 'reader-secret' });
      await expectError(reader.send(new PutRecordCommand({ StreamName: 'clicks', PartitionKey: 'k', Data: Buffer.from('x') })), 'AccessDeniedException',
        "User 'reader' is not authorized to write stream 'clicks'");
      expect((await reader.send(new ListStreamsCommand({}))).StreamNames).toEqual([]);
      for (const c of [stranger, wrong, reader]) c.destroy();
    });

    it('binds a signature to the body sent: another body under the same signed headers, UNSIGNED-PAYLOAD and another service\'s scope are refused, nothing stored', async () => {
      await kinesis.send(new CreateStreamCommand({ StreamName: 'signed', ShardCount: 1 }));
      const put = (c: KinesisClient) => c.send(new PutRecordCommand({ StreamName: 'signed', PartitionKey: 'k', Data: Buffer.from('good') }));
      // After signing (the deserialize step runs later): the body a proxy or a sniffer could swap, its length unchanged.
      const swapped = client(CREDS);
      swapped.middlewareStack.add((next) => async (args) => {
        const req = args.request as { body: string };
        req.body = req.body.replace(Buffer.from('good').toString('base64'), Buffer.from('evil').toString('base64'));
        return next(args);
      }, { step: 'deserialize' });
      await expectError(put(swapped), 'InvalidSignatureException', /does not match the signature you provided/);
      // Before signing: the signer then signs 'UNSIGNED-PAYLOAD' in place of the body's hash.
      const unsigned = client(CREDS);
      unsigned.middlewareStack.add((next) => async (args) => {
        (args.request as { headers: Record<string, string> }).headers['x-amz-content-sha256'] = 'UNSIGNED-PAYLOAD';
        return next(args);
      }, { step: 'build' });
      await expectError(put(unsigned), 'InvalidSignatureException', /does not match the signature you provided/);
      const sts = new KinesisClient({ endpoint: t.url, region: 'us-east-1', credentials: CREDS, maxAttempts: 1, signingName: 'sts' } as NonNullable<ConstructorParameters<typeof KinesisClient>[0]>);
      await expectError(put(sts), 'InvalidSignatureException', "Credential should be scoped to correct service: 'kinesis'.");
      for (const c of [swapped, unsigned, sts]) c.destroy();
      await put(kinesis);
      const it = await kinesis.send(new GetShardIteratorCommand({ StreamName: 'signed', ShardId: 'shardId-000000000000', ShardIteratorType: 'TRIM_HORIZON' }));
      expect((await kinesis.send(new GetRecordsCommand({ ShardIterator: it.ShardIterator }))).Records?.map((r) => dec(r.Data))).toEqual(['good']);
    });

    it('refuses writes to a pipeline\'s internal stream (_sluice.*) even to an admin key, and stores nothing', async () => {
      await t.engine.createStream('_sluice.p.k1', { partitions: 1 });
      const refusal = "stream '_sluice.p.k1' is internal to Sluice (pipelines write it): clients may not write it";
      await expectError(kinesis.send(new PutRecordCommand({ StreamName: '_sluice.p.k1', PartitionKey: 'k', Data: Buffer.from('[[0,0,"k",1,null,1]]') })), 'AccessDeniedException', refusal);
      await expectError(kinesis.send(new PutRecordsCommand({ StreamName: '_sluice.p.k1', Records: [{ PartitionKey: 'k', Data: Buffer.from('x') }] })), 'AccessDeniedException', refusal);
      await expectError(kinesis.send(new CreateStreamCommand({ StreamName: '_sluice.p.k2', ShardCount: 1 })), 'AccessDeniedException', /clients may not create, change or delete it/);
      expect((await kinesis.send(new DescribeStreamCommand({ StreamName: '_sluice.p.k1' }))).StreamDescription?.StreamName).toBe('_sluice.p.k1');
      expect((await t.engine.read('_sluice.p.k1', 0, 0, 10)).records).toEqual([]);
      await t.engine.deleteStream('_sluice.p.k1');
    });

    it('refuses an unsigned request and an unknown operation (HTTP/1.1)', async () => {
      const unsigned = await post(t.url, { StreamName: 'clicks' }, { 'x-amz-target': 'Kinesis_20131202.DescribeStream', 'content-type': 'application/x-amz-json-1.1' });
      expect(unsigned.status).toBe(403);
      expect(unsigned.body).toEqual({ __type: 'MissingAuthenticationTokenException', message: 'Missing Authentication Token' });
      expect(unsigned.headers.get('x-amzn-errortype')).toBe('MissingAuthenticationTokenException');
      const unknown = await post(t.url, {}, { 'x-amz-target': 'Kinesis_20131202.SplitShard', 'content-type': 'application/x-amz-json-1.1' });
      expect(unknown.body.__type).toBe('UnknownOperationException');
    });
  });
});

describe('Kinesis time: iterator expiry and signature age, on an injected clock', () => {
  it('expires a shard iterator after 5 minutes and refuses a signature 15 minutes off', async () => {
    let skew = 0;
    const g = await startGateway({ principals: [{ id: 'p', ...CREDS, scopes: { '*': ['admin'] } }] }, { clock: { ...systemClock, now: () => Date.now() + skew } });
    const k = new KinesisClient({ endpoint: g.url, region: 'us-east-1', credentials: CREDS, maxAttempts: 1 });
    try {
      await k.send(new CreateStreamCommand({ StreamName: 'timed', ShardCount: 1 }));
      const it = await k.send(new GetShardIteratorCommand({ StreamName: 'timed', ShardId: 'shardId-000000000000', ShardIteratorType: 'TRIM_HORIZON' }));
      skew = 5 * 60 * 1000 - 5_000;
      expect((await k.send(new GetRecordsCommand({ ShardIterator: it.ShardIterator }))).Records).toEqual([]);
      skew = 5 * 60 * 1000 + 5_000;
      await expect(k.send(new GetRecordsCommand({ ShardIterator: it.ShardIterator }))).rejects.toMatchObject({ name: 'ExpiredIteratorException' });
      skew = 16 * 60 * 1000;
      await expect(k.send(new ListStreamsCommand({}))).rejects.toMatchObject({ name: 'InvalidSignatureException', message: expect.stringMatching(/^Signature expired/) });
    } finally {
      k.destroy();
      await g.close();
    }
  });
});

describe('Kinesis bodies that are not requests', () => {
  it('answers SerializationException to malformed JSON and ValidationException to an oversized body, storing nothing', async () => {
    const g = await startGateway(); // open: no signature needed, so the body itself is judged
    try {
      const headers = { 'x-amz-target': 'Kinesis_20131202.PutRecord', 'content-type': 'application/x-amz-json-1.1' };
      await post(`${g.url}/v1/streams`, { name: 'k', partitions: 1 });
      const bad = await post(g.url, '{"StreamName":"k",', headers);
      expect(bad.status).toBe(400);
      expect(bad.body).toEqual({ __type: 'SerializationException' }); // AWS says no more
      const huge = await post(g.url, JSON.stringify({ StreamName: 'k', PartitionKey: 'p', Data: 'A'.repeat(9 * 1024 * 1024) }), headers);
      expect(huge.status).toBe(400);
      expect(huge.body).toEqual({ __type: 'ValidationException', message: 'the request body is larger than 8388608 bytes' });
      expect((await g.engine.read('k', 0, 0, 10)).records).toEqual([]);
    } finally {
      await g.close();
    }
  });
});

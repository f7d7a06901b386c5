// Kinesis operations beyond records, driven by the official AWS SDK v3 client (default settings,
// HTTP/2) against a SigV4-verifying gateway: tags, retention, capacity modes, limits, shard paging,
// shard id forms and sequence numbers.
import {
  AddTagsToStreamCommand, CreateStreamCommand, DecreaseStreamRetentionPeriodCommand, DeleteStreamCommand, DescribeLimitsCommand,
  DescribeStreamCommand, DescribeStreamSummaryCommand, GetRecordsCommand, GetShardIteratorCommand, IncreaseStreamRetentionPeriodCommand,
  KinesisClient, ListShardsCommand, ListStreamsCommand, ListTagsForStreamCommand, PutRecordCommand, RemoveTagsFromStreamCommand,
  UpdateStreamModeCommand,
} from '@aws-sdk/client-kinesis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/clock.js';
import { decodeSequence, encodeSequence } from '../../src/gateway/kinesis/shards.js';
import { ENGINES } from '../support/engines.js';
import { sqliteFactory, startGateway, type EngineFactory, type TestGateway } from '../support/gateway.js';

const CREDS = { accessKeyId: 'AKIDADMIN', secretAccessKey: 'admin-secret-key' };
const ARN = (name: string) => `arn:aws:kinesis:us-east-1:000000000000:stream/${name}`;
const HOUR_MS = 3_600_000;

// Strictly increasing milliseconds, so a stream deleted and created again never shares a createdAt.
let last = 0;
const clock = { ...systemClock, now: () => (last = Math.max(last + 1, Date.now())) };

async function start(engine: EngineFactory): Promise<{ t: TestGateway; kinesis: KinesisClient }> {
  const t = await startGateway({ principals: [{ id: 'admin', ...CREDS, scopes: { '*': ['admin'] } }] }, { engine, clock });
  return { t, kinesis: new KinesisClient({ endpoint: t.url, region: 'us-east-1', credentials: CREDS, maxAttempts: 1 }) };
}

const refusal = (name: string, message: string) => ({ name, message });

describe.each(ENGINES)('on the $name engine', ({ factory: engine }) => {
  let t: TestGateway;
  let kinesis: KinesisClient;
  beforeAll(async () => ({ t, kinesis } = await start(engine)));
  afterAll(async () => {
    kinesis.destroy();
    await t.close();
  });

  const tagsOf = async (StreamName: string, extra: object = {}) => kinesis.send(new ListTagsForStreamCommand({ StreamName, ...extra }));

  it('tags a stream (at creation too), lists the tags in key order page by page, overwrites and removes them', async () => {
    await kinesis.send(new CreateStreamCommand({ StreamName: 'tagged', ShardCount: 1, Tags: { team: 'ads' } }));
    await kinesis.send(new AddTagsToStreamCommand({ StreamName: 'tagged', Tags: { env: 'prod', 'cost-centre': '42', 'ünï kéy': 'a: b/c=d+e@f' } }));
    expect(await tagsOf('tagged', { Limit: 2 })).toMatchObject({
      Tags: [{ Key: 'cost-centre', Value: '42' }, { Key: 'env', Value: 'prod' }],
      HasMoreTags: true,
    });
    expect(await tagsOf('tagged', { ExclusiveStartTagKey: 'env' })).toMatchObject({
      Tags: [{ Key: 'team', Value: 'ads' }, { Key: 'ünï kéy', Value: 'a: b/c=d+e@f' }],
      HasMoreTags: false,
    });
    await kinesis.send(new AddTagsToStreamCommand({ StreamARN: ARN('tagged'), Tags: { team: 'web' } }));
    await kinesis.send(new RemoveTagsFromStreamCommand({ StreamName: 'tagged', TagKeys: ['env', 'absent', 'ünï kéy'] }));
    expect((await tagsOf('tagged')).Tags).toEqual([{ Key: 'cost-centre', Value: '42' }, { Key: 'team', Value: 'web' }]);
  });

  it("refuses a 51st tag and characters AWS refuses, with AWS's types and messages, changing nothing", async () => {
    await kinesis.send(new CreateStreamCommand({ StreamName: 'fifty', ShardCount: 1 }));
    await kinesis.send(new AddTagsToStreamCommand({ StreamName: 'fifty', Tags: Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`k${i}`, '']) ) }));
    await expect(kinesis.send(new AddTagsToStreamCommand({ StreamName: 'fifty', Tags: { k50: '' } }))).rejects.toMatchObject(refusal('InvalidArgumentException',
      'Failed to add tags to stream fifty under account 000000000000 because a given stream cannot have more than 50 tags associated with it.'));
    await expect(kinesis.send(new AddTagsToStreamCommand({ StreamName: 'fifty', Tags: { k0: 'a;b' } }))).rejects.toMatchObject(refusal('InvalidArgumentException',
      'Some tags contain invalid characters. Valid characters: Unicode letters, digits, white space, _ . / = + - % @ :.'));
    await expect(kinesis.send(new RemoveTagsFromStreamCommand({ StreamName: 'fifty', TagKeys: ['50%'] }))).rejects.toMatchObject(refusal('InvalidArgumentException',
      "Failed to remove tags from stream fifty under account 000000000000 because some tags contained illegal characters. The allowed characters are Unicode letters, white-spaces, '_',',','/','=','+','-','@',':'."));
    await expect(kinesis.send(new CreateStreamCommand({ StreamName: 'bad-tags', ShardCount: 1, Tags: { 'a\tb': '' } }))).rejects.toMatchObject({ name: 'InvalidArgumentException' });
    const tags = (await tagsOf('fifty')).Tags!;
    expect([tags.length, tags.find((x) => x.Key === 'k0')?.Value]).toEqual([50, '']);
    await expect(kinesis.send(new DescribeStreamSummaryCommand({ StreamName: 'bad-tags' }))).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
  });

  it("DeleteStream removes a stream's tags, and a deleted stream's tags never reach a new stream of its name", async () => {
    await kinesis.send(new CreateStreamCommand({ StreamName: 'reborn', ShardCount: 1, Tags: { old: 'yes' } }));
    await kinesis.send(new DeleteStreamCommand({ StreamName: 'reborn' }));
    expect(await t.engine.getState('_sluice/kinesis/streams/reborn')).toBeUndefined();
    await kinesis.send(new CreateStreamCommand({ StreamName: 'reborn', ShardCount: 1, Tags: { old: 'yes' } }));
    await t.engine.deleteStream('reborn'); // through the engine: the Kinesis metadata stays behind
    await t.engine.createStream('reborn', { partitions: 1 });
    t.gw.forgetStream('reborn');
    expect(await tagsOf('reborn')).toMatchObject({ Tags: [], HasMoreTags: false });
  });

  it('an ON_DEMAND stream has 4 fixed shards and says ON_DEMAND in every description until UpdateStreamMode changes it', async () => {
    await kinesis.send(new CreateStreamCommand({ StreamName: 'od', StreamModeDetails: { StreamMode: 'ON_DEMAND' } }));
    const mode = async () => {
      const d = (await kinesis.send(new DescribeStreamCommand({ StreamName: 'od' }))).StreamDescription!;
      const s = (await kinesis.send(new DescribeStreamSummaryCommand({ StreamName: 'od' }))).StreamDescriptionSummary!;
      const l = (await kinesis.send(new ListStreamsCommand({}))).StreamSummaries!.find((x) => x.StreamName === 'od')!;
      return [d.Shards!.length, s.OpenShardCount, d.StreamModeDetails?.StreamMode, s.StreamModeDetails?.StreamMode, l.StreamModeDetails?.StreamMode];
    };
    expect(await mode()).toEqual([4, 4, 'ON_DEMAND', 'ON_DEMAND', 'ON_DEMAND']);
    await kinesis.send(new UpdateStreamModeCommand({ StreamARN: ARN('od'), StreamModeDetails: { StreamMode: 'PROVISIONED' } }));
    expect(await mode()).toEqual([4, 4, 'PROVISIONED', 'PROVISIONED', 'PROVISIONED']);
    await expect(kinesis.send(new CreateStreamCommand({ StreamName: 'od2', ShardCount: 2, StreamModeDetails: { StreamMode: 'ON_DEMAND' } })))
      .rejects.toMatchObject(refusal('InvalidArgumentException', 'ShardCount is not expected when StreamMode=ON_DEMAND'));
  });

  it('descriptions carry the same creation time, encryption, mode and retention everywhere', async () => {
    await kinesis.send(new CreateStreamCommand({ StreamName: 'described', ShardCount: 2 }));
    const created = (await t.engine.describeStream('described')).createdAt;
    const d = (await kinesis.send(new DescribeStreamCommand({ StreamName: 'described' }))).StreamDescription!;
    const s = (await kinesis.send(new DescribeStreamSummaryCommand({ StreamName: 'described' }))).StreamDescriptionSummary!;
    const l = (await kinesis.send(new ListStreamsCommand({ ExclusiveStartStreamName: 'describec', Limit: 1 }))).StreamSummaries![0]!;
    const common = { StreamCreationTimestamp: new Date(created), StreamModeDetails: { StreamMode: 'PROVISIONED' } };
    expect(d).toMatchObject({ ...common, EncryptionType: 'NONE', RetentionPeriodHours: 24, StreamStatus: 'ACTIVE' });
    expect(s).toMatchObject({ ...common, EncryptionType: 'NONE', RetentionPeriodHours: 24, StreamStatus: 'ACTIVE' });
    expect(l).toEqual({ ...common, StreamName: 'described', StreamARN: ARN('described'), StreamStatus: 'ACTIVE' });
  });

  it('a Kinesis-created stream keeps 24 h; retention moves within 24–8760 h, an increase never shortens and a decrease never lengthens', async () => {
    await kinesis.send(new CreateStreamCommand({ StreamName: 'kept', ShardCount: 1 }));
    const hours = async () => (await kinesis.send(new DescribeStreamSummaryCommand({ StreamName: 'kept' }))).StreamDescriptionSummary!.RetentionPeriodHours;
    expect([await hours(), (await t.engine.describeStream('kept')).retentionMs]).toEqual([24, 24 * HOUR_MS]);
    await kinesis.send(new IncreaseStreamRetentionPeriodCommand({ StreamName: 'kept', RetentionPeriodHours: 48 }));
    expect([await hours(), (await t.engine.describeStream('kept')).retentionMs]).toEqual([48, 48 * HOUR_MS]);
    const change = (Command: typeof IncreaseStreamRetentionPeriodCommand | typeof DecreaseStreamRetentionPeriodCommand, RetentionPeriodHours: number) =>
      kinesis.send(new Command({ StreamName: 'kept', RetentionPeriodHours }) as IncreaseStreamRetentionPeriodCommand);
    await expect(change(IncreaseStreamRetentionPeriodCommand, 24)).rejects.toMatchObject(refusal('InvalidArgumentException',
      'Requested retention period (24 hours) for stream kept can not be shorter than existing retention period (48 hours). Use DecreaseRetentionPeriod API.'));
    await expect(change(DecreaseStreamRetentionPeriodCommand, 72)).rejects.toMatchObject(refusal('InvalidArgumentException',
      'Requested retention period (72 hours) for stream kept can not be longer than existing retention period (48 hours). Use IncreaseRetentionPeriod API.'));
    await expect(change(IncreaseStreamRetentionPeriodCommand, 8761)).rejects.toMatchObject(refusal('InvalidArgumentException',
      'Maximum allowed retention period is 8760 hours. Requested retention period (8761 hours) is too long.'));
    await expect(change(DecreaseStreamRetentionPeriodCommand, 23)).rejects.toMatchObject(refusal('InvalidArgumentException',
      'Minimum allowed retention period is 24 hours. Requested retention period (23 hours) is too short.'));
    await change(IncreaseStreamRetentionPeriodCommand, 8760);
    await change(DecreaseStreamRetentionPeriodCommand, 24);
    expect(await hours()).toBe(24);
    await t.engine.createStream('native-kept', { partitions: 1 });
    expect((await kinesis.send(new DescribeStreamSummaryCommand({ StreamName: 'native-kept' }))).StreamDescriptionSummary!.RetentionPeriodHours).toBe(168);
  });

  it('accepts every ShardId form AWS accepts (shardId-000000000001, shard-1, random-1, 1) and names the shard it cannot find', async () => {
    await kinesis.send(new CreateStreamCommand({ StreamName: 'forms', ShardCount: 2 }));
    await kinesis.send(new PutRecordCommand({ StreamName: 'forms', PartitionKey: 'k', ExplicitHashKey: '340282366920938463463374607431768211455', Data: Buffer.from('one') }));
    for (const ShardId of ['shardId-000000000001', 'shard-1', 'random-1', '1', 'a.b_c-0001']) {
      const it = await kinesis.send(new GetShardIteratorCommand({ StreamName: 'forms', ShardId, ShardIteratorType: 'TRIM_HORIZON' }));
      const r = await kinesis.send(new GetRecordsCommand({ ShardIterator: it.ShardIterator }));
      expect([ShardId, r.Records?.map((x) => Buffer.from(x.Data!).toString())]).toEqual([ShardId, ['one']]);
    }
    const after = await kinesis.send(new ListShardsCommand({ StreamName: 'forms', ExclusiveStartShardId: 'shard-0' }));
    expect(after.Shards?.map((s) => s.ShardId)).toEqual(['shardId-000000000001']);
    const describe = await kinesis.send(new DescribeStreamCommand({ StreamName: 'forms', ExclusiveStartShardId: '0' }));
    expect(describe.StreamDescription?.Shards?.map((s) => s.ShardId)).toEqual(['shardId-000000000001']);
    const iterator = (ShardId: string, StreamName = 'forms') => kinesis.send(new GetShardIteratorCommand({ StreamName, ShardId, ShardIteratorType: 'LATEST' }));
    await expect(iterator('ABKLFD8')).rejects.toMatchObject(refusal('ResourceNotFoundException', 'Could not find shard ABKLFD8 in stream forms under account 000000000000.'));
    await expect(iterator('shard-7')).rejects.toMatchObject(refusal('ResourceNotFoundException', 'Shard shardId-000000000007 in stream forms under account 000000000000 does not exist'));
    await expect(iterator('shard-0', 'no-such')).rejects.toMatchObject(refusal('ResourceNotFoundException', 'Shard shardId-000000000000 in stream no-such under account 000000000000 does not exist'));
  });

  it("sequence numbers name their shard and stream: another shard's, a malformed and a deleted stream's are refused", async () => {
    await kinesis.send(new CreateStreamCommand({ StreamName: 'seqs', ShardCount: 2 }));
    const put = await kinesis.send(new PutRecordCommand({ StreamName: 'seqs', PartitionKey: 'k', ExplicitHashKey: '0', Data: Buffer.from('x') }));
    expect(put.ShardId).toBe('shardId-000000000000');
    const at = (ShardId: string, StartingSequenceNumber: string, StreamName = 'seqs') =>
      kinesis.send(new GetShardIteratorCommand({ StreamName, ShardId, ShardIteratorType: 'AT_SEQUENCE_NUMBER', StartingSequenceNumber }));
    const it = await at('shardId-000000000000', put.SequenceNumber!);
    const read = await kinesis.send(new GetRecordsCommand({ ShardIterator: it.ShardIterator }));
    expect(read.Records?.map((r) => r.SequenceNumber)).toEqual([put.SequenceNumber]);
    await expect(at('shardId-000000000001', put.SequenceNumber!)).rejects.toMatchObject(refusal('InvalidArgumentException',
      'Invalid StartingSequenceNumber. It encodes shardId-000000000000, while it was used in a call to a shard with shardId-000000000001'));
    await expect(at('shardId-000000000000', '5')).rejects.toMatchObject(refusal('InvalidArgumentException',
      'StartingSequenceNumber 5 used in GetShardIterator on shard shardId-000000000000 in stream seqs under account 000000000000 is invalid.'));
    // The last offset a sequence number can carry: an iterator at it reads nothing; one after it would name an offset past every iterator's.
    const last = encodeSequence({ ...decodeSequence(put.SequenceNumber!)!, offset: Number.MAX_SAFE_INTEGER });
    expect((await kinesis.send(new GetRecordsCommand({ ShardIterator: (await at('shardId-000000000000', last)).ShardIterator }))).Records).toEqual([]);
    await expect(kinesis.send(new GetShardIteratorCommand({ StreamName: 'seqs', ShardId: 'shardId-000000000000', ShardIteratorType: 'AFTER_SEQUENCE_NUMBER', StartingSequenceNumber: last })))
      .rejects.toMatchObject(refusal('InvalidArgumentException', `StartingSequenceNumber ${last} used in GetShardIterator on shard shardId-000000000000 in stream seqs under account 000000000000 is invalid.`));
    await kinesis.send(new DeleteStreamCommand({ StreamName: 'seqs' }));
    await kinesis.send(new CreateStreamCommand({ StreamName: 'seqs', ShardCount: 2 }));
    await expect(at('shardId-000000000000', put.SequenceNumber!)).rejects.toMatchObject(refusal('InvalidArgumentException',
      `StartingSequenceNumber ${put.SequenceNumber} used in GetShardIterator on shard shardId-000000000000 in stream seqs under account 000000000000 is invalid because it did not come from this stream.`));
    await expect(kinesis.send(new GetRecordsCommand({ ShardIterator: it.ShardIterator }))).rejects.toMatchObject(refusal('ResourceNotFoundException',
      'Shard shardId-000000000000 in stream seqs under account 000000000000 does not exist')); // the iterator was of the deleted stream
  });

  it('PutRecord takes the previous sequence number for ordering and refuses a malformed one', async () => {
    await kinesis.send(new CreateStreamCommand({ StreamName: 'ordered', ShardCount: 1 }));
    const first = await kinesis.send(new PutRecordCommand({ StreamName: 'ordered', PartitionKey: 'k', Data: Buffer.from('1') }));
    const second = await kinesis.send(new PutRecordCommand({ StreamName: 'ordered', PartitionKey: 'k', Data: Buffer.from('2'), SequenceNumberForOrdering: first.SequenceNumber }));
    expect(BigInt(second.SequenceNumber!) > BigInt(first.SequenceNumber!)).toBe(true);
    await expect(kinesis.send(new PutRecordCommand({ StreamName: 'ordered', PartitionKey: 'k', Data: Buffer.from('3'), SequenceNumberForOrdering: '12' })))
      .rejects.toMatchObject(refusal('InvalidArgumentException', 'ExclusiveMinimumSequenceNumber 12 used in PutRecord on stream ordered under account 000000000000 is invalid.'));
  });
});

describe('Kinesis limits and shard paging (sqlite)', () => {
  let t: TestGateway;
  let kinesis: KinesisClient;
  beforeAll(async () => ({ t, kinesis } = await start(sqliteFactory)));
  afterAll(async () => {
    kinesis.destroy();
    await t.close();
  });

  it('DescribeLimits counts the open shards and on-demand streams; Sluice sets no account limit', async () => {
    await kinesis.send(new CreateStreamCommand({ StreamName: 'three', ShardCount: 3 }));
    await kinesis.send(new CreateStreamCommand({ StreamName: 'demand', StreamModeDetails: { StreamMode: 'ON_DEMAND' } }));
    const limits = await kinesis.send(new DescribeLimitsCommand({}));
    expect({ ...limits, $metadata: undefined }).toEqual({
      $metadata: undefined, ShardLimit: 1_000_000, OpenShardCount: 7, OnDemandStreamCount: 1, OnDemandStreamCountLimit: 1_000_000,
    });
    await kinesis.send(new DeleteStreamCommand({ StreamName: 'three' }));
    await kinesis.send(new DeleteStreamCommand({ StreamName: 'demand' }));
  });

  it('DescribeStream returns at most 100 shards, pages by Limit and ExclusiveStartShardId with HasMoreShards; ListShards pages by NextToken', async () => {
    await kinesis.send(new CreateStreamCommand({ StreamName: 'wide', ShardCount: 102 }));
    const page = async (extra: object) => {
      const d = (await kinesis.send(new DescribeStreamCommand({ StreamName: 'wide', ...extra }))).StreamDescription!;
      return [d.Shards!.map((s) => Number(s.ShardId!.slice(8))), d.HasMoreShards];
    };
    const first = await page({});
    expect([(first[0] as number[]).length, (first[0] as number[])[99], first[1]]).toEqual([100, 99, true]);
    expect(await page({ Limit: 1000, ExclusiveStartShardId: 'shardId-000000000099' })).toEqual([[100, 101], false]);
    expect(await page({ Limit: 3, ExclusiveStartShardId: 'shard-4' })).toEqual([[5, 6, 7], true]);
    const ids: string[] = [];
    let token: string | undefined;
    do {
      const r = await kinesis.send(new ListShardsCommand(token ? { NextToken: token, MaxResults: 40 } : { StreamName: 'wide', MaxResults: 40 }));
      ids.push(...r.Shards!.map((s) => s.ShardId!));
      token = r.NextToken;
    } while (token);
    expect(ids).toEqual(Array.from({ length: 102 }, (_, i) => `shardId-${String(i).padStart(12, '0')}`));
    await expect(kinesis.send(new ListShardsCommand({ StreamName: 'wide', NextToken: 'x' }))).rejects.toMatchObject(refusal('InvalidArgumentException',
      'NextToken and StreamName cannot be provided together.'));
    await expect(kinesis.send(new ListShardsCommand({}))).rejects.toMatchObject(refusal('InvalidArgumentException', 'Either NextToken or StreamName should be provided.'));
  });

  it('ListStreams returns at most 100 names and pages by NextToken', async () => {
    for (let i = 0; i < 105; i++) await t.engine.createStream(`many-${String(i).padStart(3, '0')}`, { partitions: 1 });
    const first = await kinesis.send(new ListStreamsCommand({ Limit: 1000, ExclusiveStartStreamName: 'many-' }));
    expect([first.StreamNames!.length, first.StreamNames![99], first.HasMoreStreams]).toEqual([100, 'many-099', true]);
    const rest = await kinesis.send(new ListStreamsCommand({ NextToken: first.NextToken }));
    expect(rest.StreamNames!.slice(0, 5)).toEqual(['many-100', 'many-101', 'many-102', 'many-103', 'many-104']);
  });
});

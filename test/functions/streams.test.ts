// Stream event source mappings: delivery, order and checkpoints on every engine; starting
// positions; restarts; the exact event shape, compared with what Sluice's Kinesis API says.
import { DescribeStreamSummaryCommand, KinesisClient, PutRecordCommand } from '@aws-sdk/client-kinesis';
import { describe, expect, it } from 'vitest';
import { ManualClock, systemClock } from '../../src/clock.js';
import { createStreamMapping, type StreamMapping } from '../../src/functions/streams/index.js';
import { ENGINES } from '../support/engines.js';
import { startGateway } from '../support/gateway.js';
import { fakeInvoke, FUNCTION_ARN, records, rig, settle, until, type Call } from './streams-harness.js';

const delivered = (calls: Call[]) => calls.filter((c) => c.outcome === 'ok').flatMap((c) => c.data.map((d) => d.i));

describe.each(ENGINES)('stream mapping on $name', ({ factory }) => {
  it('delivers every record once, in order per partition, in batches of batchSize, and commits past them', async () => {
    const r = await rig({ engine: factory, clock: systemClock, partitions: 3, options: { batchSize: 10 }, before: records(90, 9) });
    await until(() => delivered(r.calls).length === 90);
    expect([...delivered(r.calls)].sort((a, b) => a - b)).toEqual(Array.from({ length: 90 }, (_, i) => i));
    expect(r.calls.every((c) => c.data.length <= 10)).toBe(true);
    const byShard = new Map<string, number[]>();
    for (const c of r.calls) {
      const shard = c.event.Records[0].eventID.split(':')[0];
      expect(c.event.Records.every((x: any) => x.eventID.startsWith(`${shard}:`))).toBe(true); // one shard per batch
      byShard.set(shard, [...(byShard.get(shard) ?? []), ...c.data.map((d) => d.i)]);
    }
    for (const is of byShard.values()) expect(is).toEqual([...is].sort((a, b) => a - b));
    const info = await r.engine.describeStream('events');
    await until(async () => {
      const committed = await r.committed();
      return info.partitionInfo.every((p) => committed.get(p.partition) === p.next);
    });
    // New records after catching up arrive through waitFor, not a poll.
    await r.append(records(5, 1, 90));
    await until(() => delivered(r.calls).length === 95);
    expect(delivered(r.calls).slice(-5)).toEqual([90, 91, 92, 93, 94]);
  });

  it('after a restart resumes from the committed offset: only the uncommitted batch comes again', async () => {
    let block = true;
    const r = await rig({
      engine: factory,
      clock: systemClock,
      options: { batchSize: 5 },
      before: records(15),
      handler: (data) => (block && data[0].i === 5 ? new Promise(() => undefined) : null), // the second batch never ends
    });
    await until(() => r.calls.length === 2);
    await r.mapping.stop(); // aborts the stuck invocation: its batch is not committed
    const earliest = (await r.engine.describeStream('events')).partitionInfo[0]!.earliest;
    const stored = (await r.engine.read('events', 0, earliest, 100)).records;
    expect((await r.committed()).get(0)).toBe(stored[5]!.offset);
    block = false;
    const before = r.calls.length;
    await r.restart();
    await until(() => delivered(r.calls).length === 15);
    expect(r.calls.slice(before).flatMap((c) => c.data.map((d) => d.i))).toEqual([5, 6, 7, 8, 9, 10, 11, 12, 13, 14]);
    expect(delivered(r.calls)).toEqual(Array.from({ length: 15 }, (_, i) => i)); // 0–4 once, 5–9 redelivered once
  });
});

describe.each(ENGINES)('discarding on $name', ({ factory }) => {
  it('a discarded batch reaches the destination with its data in the same unit as the offset past it', async () => {
    const r = await rig({
      engine: factory,
      clock: systemClock,
      options: { batchSize: 2, maximumRetryAttempts: 0, onFailure: 'failures' },
      streams: ['failures'],
      before: records(4),
      handler: (data) => {
        if (data.some((d) => d.i === 2)) throw new Error('bad');
        return null;
      },
    });
    await until(async () => (await r.contents('failures')).length === 1);
    const [f] = await r.contents('failures');
    expect(f.records.map((x: any) => JSON.parse(Buffer.from(x.data, 'base64').toString()))).toEqual([{ i: 2 }, { i: 3 }]);
    expect(f.KinesisBatchInfo).toMatchObject({ batchSize: 2, shardId: 'shardId-000000000000' });
    const info = await r.engine.describeStream('events');
    await until(async () => (await r.committed()).get(0) === info.partitionInfo[0]!.next);
    expect(delivered(r.calls)).toEqual([0, 1]);
  });
});

describe('starting position', () => {
  it('TRIM_HORIZON starts at the oldest retained record', async () => {
    const r = await rig({ options: { startingPosition: 'TRIM_HORIZON' }, before: records(3) });
    await until(() => delivered(r.calls).length === 3);
    expect(delivered(r.calls)).toEqual([0, 1, 2]);
  });

  it('LATEST skips what is there at start, and the position is committed so a restart before any record keeps it', async () => {
    const r = await rig({ options: { startingPosition: 'LATEST' }, before: records(3) });
    expect((await r.committed()).get(0)).toBe(3);
    await r.mapping.stop();
    await r.append(records(2, 1, 3)); // while stopped
    await r.restart();
    await until(() => delivered(r.calls).length === 2);
    expect(delivered(r.calls)).toEqual([3, 4]);
  });

  it('AT_TIMESTAMP starts at the first record that arrived at or after the time', async () => {
    const clock = new ManualClock(1_700_000_000_000);
    const r = await rig({
      clock,
      options: { startingPosition: 'AT_TIMESTAMP', startingPositionTimestamp: 1_700_000_100 }, // epoch seconds, as Lambda's API
      handler: () => null,
    });
    await r.mapping.stop();
    await r.append(records(2)); // at 1_700_000_000 s
    clock.set(1_700_000_100_000);
    await r.append(records(2, 1, 2)); // at 1_700_000_100 s
    const again = createStreamMapping({
      engine: r.engine,
      clock,
      functionName: 'other',
      functionArn: FUNCTION_ARN,
      region: 'us-east-1',
      stream: 'events',
      options: { startingPosition: 'AT_TIMESTAMP', startingPositionTimestamp: new Date(1_700_000_100_000) },
      invoke: fakeInvoke(() => null, r.calls, clock),
    });
    await again.start();
    await until(() => delivered(r.calls).length === 2);
    await again.stop();
    expect(delivered(r.calls)).toEqual([2, 3]);
  });

  it('a committed offset wins over startingPosition', async () => {
    const r = await rig({ options: { startingPosition: 'TRIM_HORIZON' }, before: records(4) });
    await until(() => delivered(r.calls).length === 4);
    await r.mapping.stop();
    await r.restart(undefined, { startingPosition: 'TRIM_HORIZON' });
    await settle();
    expect(delivered(r.calls)).toEqual([0, 1, 2, 3]);
  });
});

describe('the event', () => {
  it("is Lambda's Kinesis event to the byte, with the sequence number and ARN Sluice's Kinesis API gives", async () => {
    const gw = await startGateway({ region: 'eu-west-1' });
    let mapping: StreamMapping | undefined;
    try {
      const kinesis = new KinesisClient({ endpoint: gw.url, region: 'eu-west-1', credentials: { accessKeyId: 'AKID', secretAccessKey: 'secret' } });
      await gw.engine.createStream('clicks', { partitions: 2 });
      const put = await kinesis.send(new PutRecordCommand({ StreamName: 'clicks', PartitionKey: 'user-7', Data: Buffer.from('{"page":"/home"}') }));
      const summary = await kinesis.send(new DescribeStreamSummaryCommand({ StreamName: 'clicks' }));
      kinesis.destroy();
      const stored = (await gw.engine.read('clicks', Number(put.ShardId!.slice(-1)), 0, 1)).records[0]!;
      const calls: Call[] = [];
      mapping = createStreamMapping({
        engine: gw.engine,
        clock: systemClock,
        functionName: 'listener',
        functionArn: FUNCTION_ARN,
        region: 'eu-west-1',
        stream: 'clicks',
        options: { startingPosition: 'TRIM_HORIZON' },
        invoke: fakeInvoke(() => null, calls, systemClock),
      });
      await mapping.start();
      await until(() => calls.length === 1);
      const expected = {
        Records: [
          {
            kinesis: {
              kinesisSchemaVersion: '1.0',
              partitionKey: 'user-7',
              sequenceNumber: put.SequenceNumber,
              data: Buffer.from('{"page":"/home"}').toString('base64'),
              approximateArrivalTimestamp: stored.timestamp / 1000,
            },
            eventSource: 'aws:kinesis',
            eventVersion: '1.0',
            eventID: `${put.ShardId}:${put.SequenceNumber}`,
            eventName: 'aws:kinesis:record',
            invokeIdentityArn: 'arn:aws:iam::000000000000:role/listener',
            awsRegion: 'eu-west-1',
            eventSourceARN: summary.StreamDescriptionSummary!.StreamARN,
          },
        ],
      };
      expect(calls[0]!.json).toBe(JSON.stringify(expected));
      expect(summary.StreamDescriptionSummary!.StreamARN).toBe('arn:aws:kinesis:eu-west-1:000000000000:stream/clicks');
      expect(Number.isInteger(calls[0]!.event.Records[0].kinesis.approximateArrivalTimestamp)).toBe(stored.timestamp % 1000 === 0); // seconds, a float
    } finally {
      await mapping?.stop();
      await gw.close();
    }
  });

  it("format 'records' gives decoded records: JSON parsed, other data as text, arrival in ms", async () => {
    const clock = new ManualClock(1_700_000_000_250);
    const r = await rig({ clock, options: { format: 'records' }, handler: () => null });
    await r.engine.append('events', [
      { key: 'a', value: Buffer.from('{"n":1}') },
      { key: 'b', value: Buffer.from('plain text') },
    ]);
    await until(() => r.calls.length === 1);
    const event = r.calls[0]!.event;
    expect(event).toEqual({
      stream: 'events',
      streamArn: 'arn:aws:kinesis:us-east-1:000000000000:stream/events',
      shardId: 'shardId-000000000000',
      records: [
        { partitionKey: 'a', sequenceNumber: r.calls[0]!.seqs[0], data: { n: 1 }, arrival: 1_700_000_000_250 },
        { partitionKey: 'b', sequenceNumber: r.calls[0]!.seqs[1], data: 'plain text', arrival: 1_700_000_000_250 },
      ],
    });
  });
});

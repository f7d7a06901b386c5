// A stream mapping's events: built in one pass (sequence numbers without a BigInt per record, sizes
// counted without building), and built ahead while the batch before runs — used only for exactly the
// batch that follows, whatever failures, bisections and partial failures come between.
import { setTimeout as delay } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import type { StoredRecord } from '../../src/engine/engine.js';
import { COMPACT_MIN_RECORDS, envelopeBytes, eventBytesOf, eventOf, eventSourceOf, kinesisBatch, kinesisEventText, mapRecord, SequenceNumbers, type KinesisStreamEvent } from '../../src/functions/streams/event.js';
import { eventObject, eventText } from '../../src/functions/runtime/payload.js';
import { decodeSequence, encodeSequence } from '../../src/gateway/kinesis/shards.js';
import { records, rig, until } from './streams-harness.js';

const CREATED = 1_767_225_600_123;
const stored = (offset: number, key: string | undefined, value: string, timestamp = CREATED + 5_000): StoredRecord => ({
  partition: 3,
  offset,
  batch: offset,
  timestamp,
  key,
  value: Buffer.from(value),
});

describe('sequence numbers', () => {
  it('are encodeSequence’s, across the blocks of a million offsets they share digits in, for any stream and partition', () => {
    for (const createdAt of [0, 1, CREATED]) {
      for (const partition of [0, 7, 2 ** 31 - 1]) {
        const seqs = new SequenceNumbers(createdAt, partition);
        const offsets = [0, 1, 999_999, 1_000_000, 1_000_001, 123_456_789, 2 ** 40 + 17, Number.MAX_SAFE_INTEGER - 1_000_001, Number.MAX_SAFE_INTEGER - 3, Number.MAX_SAFE_INTEGER];
        for (let o = 0; o < 3_000_000; o += 9_973) offsets.push(o);
        for (const offset of offsets) expect(seqs.of(offset)).toBe(encodeSequence({ createdAt, partition, offset }));
        // Going back to an earlier block works too.
        expect(seqs.of(5)).toBe(encodeSequence({ createdAt, partition, offset: 5 }));
      }
    }
  });
});

describe('a Kinesis event', () => {
  const src = eventSourceOf('events', 3, 'us-east-1', 'arn:aws:iam::000000000000:role/listener', 'kinesis');
  const keys = ['device-1', '', 'with "quotes" and \\ backslash', 'tab\tnewline\n', 'ünïcödé ✓ 🎉', 'lone \ud800 surrogate', '\u007f\u0000'];
  const mapped = keys.map((key, i) => mapRecord(stored(10 + i, key, JSON.stringify({ i, text: 'ü' })), CREATED, 0));

  it('is Lambda’s shape to the byte, whatever the partition keys hold, as text and in its compact form', () => {
    const event = kinesisEventText(mapped, src);
    expect(eventText(kinesisBatch(mapped, src))).toBe(event);
    const expected = {
      Records: mapped.map((r, i) => ({
        kinesis: {
          kinesisSchemaVersion: '1.0',
          partitionKey: keys[i],
          sequenceNumber: encodeSequence({ createdAt: CREATED, partition: 3, offset: 10 + i }),
          data: Buffer.from(JSON.stringify({ i, text: 'ü' })).toString('base64'),
          approximateArrivalTimestamp: (CREATED + 5_000) / 1000,
        },
        eventSource: 'aws:kinesis',
        eventVersion: '1.0',
        eventID: `shardId-000000000003:${encodeSequence({ createdAt: CREATED, partition: 3, offset: 10 + i })}`,
        eventName: 'aws:kinesis:record',
        invokeIdentityArn: 'arn:aws:iam::000000000000:role/listener',
        awsRegion: 'us-east-1',
        eventSourceARN: 'arn:aws:kinesis:us-east-1:000000000000:stream/events',
      })),
    };
    expect(event).toBe(JSON.stringify(expected));
    expect(JSON.parse(event).Records[0].kinesis.partitionKey).toBe('device-1');
  });

  it('goes to the worker compactly, which builds the object its JSON text parses to, field order and all, after a clone as postMessage makes', () => {
    const payload = kinesisBatch(mapped, src);
    const built = eventObject(structuredClone(payload));
    // Held to the text builder's event, not to eventText (which is this object stringified).
    expect(built).toEqual(JSON.parse(kinesisEventText(mapped, src)));
    expect(JSON.stringify(built)).toBe(kinesisEventText(mapped, src));
    // An empty value, and values that are views into a larger buffer (Uint8Array, not Buffer).
    const big = new Uint8Array([9, 1, 2, 3, 9, 4, 9]);
    const views = [new Uint8Array(big.buffer, 1, 3), new Uint8Array(big.buffer, 4, 0), new Uint8Array(big.buffer, 5, 1)];
    const odd = views.map((v, i) => mapRecord({ ...stored(40 + i, 'k', ''), value: v }, CREATED, 0));
    const event = eventObject(structuredClone(kinesisBatch(odd, src))) as any;
    expect(event.Records.map((r: any) => r.kinesis.data)).toEqual(['AQID', '', 'BA==']);
  });

  it('is built from its compact form with every arrival to the fraction of a millisecond, and counted to its exact size', () => {
    const arrivals = [CREATED + 0.5, 1_700_000_000_123.456, 0.1 + 0.2, 1e-7, 2 ** 53 + 2, 0, 1_767_225_600_000.999];
    const batch = Array.from({ length: 2 * COMPACT_MIN_RECORDS }, (_, i) => mapRecord(stored(200 + i, keys[i % keys.length], `v${i}`, arrivals[i % arrivals.length]), CREATED, 0));
    const payload = eventOf(batch, src);
    expect(typeof payload).toBe('object');
    const text = kinesisEventText(batch, src);
    const built = eventObject(structuredClone(payload)) as KinesisStreamEvent;
    expect(JSON.stringify(built)).toBe(text);
    expect(built.Records.map((r) => r.kinesis.approximateArrivalTimestamp)).toEqual(batch.map((r) => r.timestamp / 1000));
    expect(batch.reduce((n, r) => n + eventBytesOf(r, src), 0) - 1 + Buffer.byteLength('{"Records":[]}')).toBe(Buffer.byteLength(eventText(payload)));
  });

  it(`is sent as text below ${COMPACT_MIN_RECORDS} records and compactly from there, the same event either way`, () => {
    const many = Array.from({ length: COMPACT_MIN_RECORDS + 1 }, (_, i) => mapRecord(stored(100 + i, `k${i}`, `v${i}`), CREATED, 0));
    for (let n = 1; n <= many.length; n++) {
      const payload = eventOf(many.slice(0, n), src);
      expect(typeof payload === 'string').toBe(n < COMPACT_MIN_RECORDS);
      expect(eventText(payload)).toBe(kinesisEventText(many.slice(0, n), src));
    }
    // A source for the process runtime (its JSON IPC sends text anyway): text at every size.
    const asText = eventSourceOf('events', 3, 'us-east-1', 'arn:aws:iam::000000000000:role/listener', 'kinesis', false);
    expect(eventOf(many, asText)).toBe(kinesisEventText(many, src));
  });

  it('is counted record by record to its exact size, for the 6 MB limit', () => {
    for (const r of mapped) {
      const alone = Buffer.byteLength(eventText(eventOf([r], src))) - Buffer.byteLength('{"Records":[]}');
      expect(eventBytesOf(r, src)).toBe(alone + 1); // its part and a comma
    }
    const all = Buffer.byteLength(eventText(eventOf(mapped, src)));
    expect(mapped.reduce((n, r) => n + eventBytesOf(r, src), 0) - 1 + Buffer.byteLength('{"Records":[]}')).toBe(all);
    expect(envelopeBytes(src)).toBeGreaterThanOrEqual(Buffer.byteLength('{"Records":[]}'));
  });

  it('gives each arrival time its own text, records of different batches side by side', () => {
    const a = mapRecord(stored(1, 'k', '1', 1_700_000_000_000), CREATED, 0);
    const b = mapRecord(stored(2, 'k', '2', 1_700_000_000_450), CREATED, 0);
    const c = mapRecord(stored(3, 'k', '3', 1_700_000_000_000), CREATED, 0);
    const times = JSON.parse(eventText(eventOf([a, b, c], src))).Records.map((r: any) => r.kinesis.approximateArrivalTimestamp);
    expect(times).toEqual([1_700_000_000, 1_700_000_000.45, 1_700_000_000]);
  });
});

describe('events built ahead', () => {
  it('are used only for the batch they were built for: after a failure, bisection, a retry and a partial failure every batch holds exactly its records, each delivered once, in order', async () => {
    const clock = new ManualClock(1_700_000_000_000);
    let reported = false;
    const r = await rig({
      clock,
      options: {
        batchSize: 10,
        bisectBatchOnFunctionError: true,
        maximumRetryAttempts: 1,
        functionResponseTypes: ['ReportBatchItemFailures'],
        onFailure: 'failures',
      },
      streams: ['failures'],
      before: records(60, 4),
      handler: async (data, call) => {
        await delay(3); // real time: the mapping builds the next event meanwhile
        if (data.some((d) => d.i === 23)) throw new Error('bad record 23');
        if (!reported && data.some((d) => d.i === 45)) {
          reported = true;
          return { batchItemFailures: [{ itemIdentifier: call.seqs[data.findIndex((d) => d.i === 45)] }] };
        }
        return null;
      },
    });
    await until(async () => (await r.committed()).get(0) === 60, { clock, stepMs: 1_000 });
    const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, k) => from + k);
    expect(r.calls.map((c) => c.data.map((d) => d.i))).toEqual([
      range(0, 9),
      range(10, 19),
      range(20, 29), // 23 fails: bisected
      range(20, 24),
      range(20, 22),
      range(23, 24),
      [23],
      [23], // its one retry, then the destination
      [24],
      range(25, 29),
      range(30, 39),
      range(40, 49), // 45 reported: 40..44 done, 45.. retried
      range(45, 49),
      range(50, 59),
    ]);
    // Each event's records are the ones its sequence numbers name (record i is at offset i).
    for (const c of r.calls) expect(c.seqs.map((s) => decodeSequence(s)!.offset)).toEqual(c.data.map((d) => d.i));
    const delivered = r.calls.filter((c) => c.outcome !== 'error').flatMap((c) => (c.outcome === 'report' ? c.data.slice(0, 5) : c.data).map((d) => d.i));
    expect(delivered).toEqual(range(0, 59).filter((i) => i !== 23));
    expect((await r.contents('failures')).map((f) => f.records.length)).toEqual([1]);
  });
});

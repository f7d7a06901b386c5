// Stream mappings when the function fails: bisection, ReportBatchItemFailures (every one of Lambda's
// rules), maximumRetryAttempts, maximumRecordAge, retention, and the onFailure failure record, on
// virtual time so backoffs and ages are exact.
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { FUNCTION_ARN, records, rig, settle, until, type Call } from './streams-harness.js';

const T0 = 1_700_000_000_000;
const okData = (calls: Call[]) => calls.filter((c) => c.outcome !== 'error').flatMap((c) => c.data.map((d) => d.i));
const sizes = (calls: Call[], outcome: Call['outcome']) => calls.filter((c) => c.outcome === outcome).map((c) => c.data.length);
const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64');

describe('bisectBatchOnFunctionError', () => {
  it('isolates the one bad record of 100 in log2 steps, delivers the other 99 exactly once, and sends the bad one with its data to the destination', async () => {
    const r = await rig({
      options: { batchSize: 100, bisectBatchOnFunctionError: true, maximumRetryAttempts: 0, onFailure: 'failures' },
      streams: ['failures'],
      before: records(100, 10),
      handler: (data) => {
        if (data.some((d) => d.i === 37)) throw new Error('bad record 37');
        return null;
      },
    });
    await until(async () => (await r.committed()).get(0) === 100);
    // Each failure halves the batch holding record 37 (halves of ceil(n/2)) until it stands alone.
    expect(sizes(r.calls, 'error')).toEqual([100, 50, 25, 13, 6, 3, 1]);
    const counts = new Map<number, number>();
    for (const i of okData(r.calls)) counts.set(i, (counts.get(i) ?? 0) + 1);
    expect([...counts.keys()].sort((a, b) => a - b)).toEqual(Array.from({ length: 100 }, (_, i) => i).filter((i) => i !== 37));
    expect([...counts.values()].every((n) => n === 1)).toBe(true);
    // Order is kept: the successes come in offset order.
    expect(okData(r.calls)).toEqual([...okData(r.calls)].sort((a, b) => a - b));
    const failures = await r.contents('failures');
    expect(failures).toHaveLength(1);
    const f = failures[0];
    const seq37 = r.calls.find((c) => c.outcome === 'error' && c.data.length === 1)!.seqs[0];
    expect(f).toEqual({
      requestContext: { requestId: expect.stringMatching(/^[0-9a-f-]{36}$/), functionArn: FUNCTION_ARN, condition: 'RetryAttemptsExhausted', approximateInvokeCount: 7 },
      responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' },
      version: '1.0',
      timestamp: new Date(T0).toISOString(),
      KinesisBatchInfo: {
        shardId: 'shardId-000000000000',
        startSequenceNumber: seq37,
        endSequenceNumber: seq37,
        approximateArrivalOfFirstRecord: new Date(T0).toISOString(),
        approximateArrivalOfLastRecord: new Date(T0).toISOString(),
        batchSize: 1,
        streamArn: 'arn:aws:kinesis:us-east-1:000000000000:stream/events',
      },
      records: [{ partitionKey: 'k7', sequenceNumber: seq37, data: b64({ i: 37 }), approximateArrivalTimestamp: T0 / 1000 }],
    });
    const stats = await r.mapping.stats();
    expect(stats).toMatchObject({ bisections: 6, recordsDiscarded: 1, recordsDelivered: 99, destinationDeliveries: 1, functionErrors: 7, retries: 0 });
  });

  it('retries the isolated record maximumRetryAttempts times, backing off 1 s then 2 s of virtual time', async () => {
    const clock = new ManualClock(T0);
    const r = await rig({
      clock,
      options: { batchSize: 4, bisectBatchOnFunctionError: true, maximumRetryAttempts: 2, onFailure: 'failures' },
      streams: ['failures'],
      before: records(4),
      handler: (data) => {
        if (data.some((d) => d.i === 2)) throw new Error('bad');
        return null;
      },
    });
    await until(async () => (await r.contents('failures')).length === 1, { clock, stepMs: 1000 });
    expect(sizes(r.calls, 'error')).toEqual([4, 2, 1, 1, 1]);
    const singles = r.calls.filter((c) => c.outcome === 'error' && c.data.length === 1).map((c) => c.at - T0);
    expect(singles).toEqual([0, 1000, 3000]);
    expect(okData(r.calls)).toEqual([0, 1, 3]);
    expect((await r.contents('failures'))[0].requestContext.approximateInvokeCount).toBe(5);
  });
});

describe('maximumRetryAttempts', () => {
  it('invokes exactly 1 + maximumRetryAttempts times, then discards the whole batch to the destination and moves on', async () => {
    const clock = new ManualClock(T0);
    let failing = true;
    const r = await rig({
      clock,
      options: { batchSize: 5, maximumRetryAttempts: 3, onFailure: 'failures' },
      streams: ['failures'],
      before: records(5),
      handler: () => {
        if (failing) throw new Error('always');
        return null;
      },
    });
    await until(async () => (await r.contents('failures')).length === 1, { clock, stepMs: 1000 });
    expect(r.calls.map((c) => c.at - T0)).toEqual([0, 1000, 3000, 7000]); // backoff 1 s, 2 s, 4 s
    const [f] = await r.contents('failures');
    expect(f.requestContext).toMatchObject({ condition: 'RetryAttemptsExhausted', approximateInvokeCount: 4 });
    expect(f.KinesisBatchInfo).toMatchObject({ batchSize: 5, startSequenceNumber: r.calls[0]!.seqs[0], endSequenceNumber: r.calls[0]!.seqs[4] });
    expect(f.records.map((x: any) => JSON.parse(Buffer.from(x.data, 'base64').toString()))).toEqual([0, 1, 2, 3, 4].map((i) => ({ i })));
    expect((await r.committed()).get(0)).toBe(5);
    failing = false;
    await r.append(records(1, 1, 5));
    await until(() => okData(r.calls).length === 1);
    expect(okData(r.calls)).toEqual([5]);
    expect(r.calls).toHaveLength(5);
  });

  it('0 discards after the first failure; without a destination the records are logged and passed', async () => {
    const r = await rig({ options: { maximumRetryAttempts: 0 }, before: records(3), handler: () => { throw new Error('no'); } });
    await until(async () => (await r.committed()).get(0) === 3);
    expect(r.calls).toHaveLength(1);
    expect(r.logs.some((l) => l.startsWith('warn:') && l.includes('discarding 3 records (offsets 0..2)'))).toBe(true);
  });

  it('-1 retries until the record leaves the stream\'s retention, then discards it with its data', async () => {
    const clock = new ManualClock(T0);
    const r = await rig({
      clock,
      retentionMs: 5 * 60_000,
      options: { onFailure: 'failures' },
      streams: ['failures'],
      before: records(1),
      handler: () => {
        throw new Error('poison');
      },
    });
    await until(
      async () => {
        await r.engine.enforceRetention();
        return (await r.contents('failures')).length === 1;
      },
      { clock, stepMs: 1000, timeoutMs: 20_000 },
    );
    const [f] = await r.contents('failures');
    expect(f.requestContext.condition).toBe('RecordAgeExceeded');
    expect(f.records[0].data).toBe(b64({ i: 0 }));
    expect(clock.now() - T0).toBeGreaterThan(5 * 60_000);
    expect(r.calls.length).toBeGreaterThan(10);
    expect(r.calls.at(-1)!.at - T0).toBeLessThanOrEqual(5 * 60_000 + 30_000);
  });
});

describe('maximumRecordAge', () => {
  it('discards a failing record once it is older than the limit, without invoking it again', async () => {
    const clock = new ManualClock(T0);
    const r = await rig({
      clock,
      options: { maximumRecordAge: 60, onFailure: 'failures' },
      streams: ['failures'],
      before: records(2),
      handler: () => {
        throw new Error('poison');
      },
    });
    await until(async () => (await r.contents('failures')).length === 1, { clock, stepMs: 1000 });
    // Retries at 1, 3, 7, 15, 31 s; the next is due at 61 s, when the records are 61 s old.
    expect(r.calls.map((c) => (c.at - T0) / 1000)).toEqual([0, 1, 3, 7, 15, 31]);
    const [f] = await r.contents('failures');
    expect(f.requestContext).toMatchObject({ condition: 'RecordAgeExceeded', approximateInvokeCount: 6 });
    expect(f.responseContext).toEqual({ statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' });
    expect(f.timestamp).toBe(new Date(T0 + 61_000).toISOString());
  });

  it('records already too old when read are never invoked: the failure record has no responseContext', async () => {
    const clock = new ManualClock(T0);
    const r = await rig({ clock, options: { maximumRecordAge: '1m', onFailure: 'failures' }, streams: ['failures'] });
    await r.mapping.stop();
    await r.append(records(3));
    clock.advance(120_000);
    await r.append(records(1, 1, 3)); // fresh
    await r.restart();
    await until(() => okData(r.calls).length === 1);
    expect(okData(r.calls)).toEqual([3]);
    expect(r.calls).toHaveLength(1);
    const [f] = await r.contents('failures');
    expect(f.requestContext).toMatchObject({ condition: 'RecordAgeExceeded', approximateInvokeCount: 0 });
    expect(f).not.toHaveProperty('responseContext');
    expect(f.KinesisBatchInfo.batchSize).toBe(3);
  });
});

describe('ReportBatchItemFailures', () => {
  const RBIF = { functionResponseTypes: ['ReportBatchItemFailures' as const] };

  it('checkpoints at the lowest failed sequence number and redelivers from there', async () => {
    const clock = new ManualClock(T0);
    const r = await rig({
      clock,
      options: { ...RBIF, batchSize: 10 },
      before: records(10),
      handler: (data, call, n) => (n === 0 ? { batchItemFailures: [{ itemIdentifier: call.seqs[7] }, { itemIdentifier: call.seqs[4] }] } : null),
    });
    await until(() => clock.sleeping > 0); // backing off before the retry
    await until(async () => (await r.committed()).get(0) === 4);
    clock.advance(1000);
    await until(() => r.calls.length === 2);
    expect(r.calls[1]!.data.map((d) => d.i)).toEqual([4, 5, 6, 7, 8, 9]);
    await until(async () => (await r.committed()).get(0) === 10);
    expect(r.calls).toHaveLength(2);
  });

  it.each([
    ['null', null],
    ['an empty object', {}],
    ['an empty list', { batchItemFailures: [] }],
    ['a null list', { batchItemFailures: null }],
    ['a response that is not an object', 'done'],
  ])('%s is complete success', async (_, answer) => {
    const r = await rig({ options: RBIF, before: records(3), handler: () => answer });
    await until(async () => (await r.committed()).get(0) === 3);
    await settle();
    expect(r.calls).toHaveLength(1);
  });

  it.each([
    ['an empty itemIdentifier', () => [{ itemIdentifier: '' }]],
    ['a null itemIdentifier', () => [{ itemIdentifier: null }]],
    ['a misnamed key', (seq: string) => [{ itemidentifier: seq }]],
    ['an entry that is not an object', () => ['x']],
    ['a sequence number not in the batch', () => [{ itemIdentifier: '49590338271490256608559692538361571095921575989136588898' }]],
    ['a list that is not a list', () => 'all of them'],
  ])('%s fails the whole batch', async (_, failures) => {
    const clock = new ManualClock(T0);
    const r = await rig({
      clock,
      options: { ...RBIF, maximumRetryAttempts: 1, onFailure: 'failures' },
      streams: ['failures'],
      before: records(3),
      handler: (data, call) => ({ batchItemFailures: failures(call.seqs[1]!) }),
    });
    await until(async () => (await r.contents('failures')).length === 1, { clock, stepMs: 1000 });
    expect(r.calls.map((c) => c.data.length)).toEqual([3, 3]);
    const [f] = await r.contents('failures');
    expect(f.KinesisBatchInfo.batchSize).toBe(3);
    expect(f.responseContext).toEqual({ statusCode: 200, executedVersion: '$LATEST' }); // not a function error
    expect((await r.mapping.stats()).lastProcessingResult).toBe('PROBLEM: Function response is not a valid batchItemFailures report');
  });

  it('is ignored unless the mapping turns it on', async () => {
    const r = await rig({ before: records(3), handler: (d, call) => ({ batchItemFailures: [{ itemIdentifier: call.seqs[0] }] }) });
    await until(async () => (await r.committed()).get(0) === 3);
    expect(r.calls).toHaveLength(1);
  });

  it('when the remainder runs out of retries, only the remainder goes to the destination, without functionError', async () => {
    const clock = new ManualClock(T0);
    const r = await rig({
      clock,
      options: { ...RBIF, maximumRetryAttempts: 1, onFailure: 'failures', bisectBatchOnFunctionError: true },
      streams: ['failures'],
      before: records(6),
      handler: (data, call) => {
        const bad = data.findIndex((d) => d.i === 3);
        return bad < 0 ? null : { batchItemFailures: [{ itemIdentifier: call.seqs[bad] }] };
      },
    });
    await until(async () => (await r.contents('failures')).length === 1, { clock, stepMs: 1000 });
    // Bisect splits only on function errors: a partial failure checkpoints and retries the rest whole.
    expect(r.calls.map((c) => c.data.map((d) => d.i))).toEqual([
      [0, 1, 2, 3, 4, 5],
      [3, 4, 5],
    ]);
    const [f] = await r.contents('failures');
    expect(f.KinesisBatchInfo.batchSize).toBe(3);
    expect(f.requestContext.approximateInvokeCount).toBe(2);
    expect(f.responseContext).toEqual({ statusCode: 200, executedVersion: '$LATEST' });
    expect((await r.committed()).get(0)).toBe(6);
  });
});

describe('stats', () => {
  it('show RETRYING and the last processing result while a batch waits to be retried, and lag', async () => {
    const clock = new ManualClock(T0);
    const r = await rig({ clock, before: records(4), handler: () => { throw new Error('down'); } });
    await until(() => clock.sleeping > 0 && r.calls.length === 1);
    clock.advance(5000);
    await r.append(records(1, 1, 4));
    const s = await r.mapping.stats();
    expect(s).toMatchObject({ id: 'fn:listener:events', state: 'Enabled', lastProcessingResult: 'PROBLEM: Function call failed', lag: 5, functionErrors: 1 });
    expect(s.partitions[0]).toMatchObject({ state: 'RETRYING', committedOffset: 0, latestOffset: 5, iteratorAgeMs: 0 });
    await r.mapping.stop();
    expect((await r.mapping.stats()).state).toBe('Disabled');
  });
});

// filterCriteria in a stream mapping: only matching records are delivered, in batches of matching
// records only, and the partition's offset moves past the others.
import { describe, expect, it } from 'vitest';
import { rig, settle, until } from './streams-harness.js';

const clicks = { Filters: [{ Pattern: JSON.stringify({ data: { kind: ['click'] } }) }] };

describe('filterCriteria', () => {
  it('delivers matching records only and commits past the ones it passed over, the trailing ones too', async () => {
    const data = Array.from({ length: 30 }, (_, i) => ({ key: `k${i % 3}`, data: { i, kind: i % 3 === 0 ? 'click' : 'view' } }));
    const r = await rig({ options: { filterCriteria: clicks, batchSize: 100 }, before: data });
    await until(async () => (await r.committed()).get(0) === 30);
    const got = r.calls.flatMap((c) => c.data);
    expect(got.map((d) => d.i)).toEqual([0, 3, 6, 9, 12, 15, 18, 21, 24, 27]);
    expect(got.every((d) => d.kind === 'click')).toBe(true);
    expect(await r.mapping.stats()).toMatchObject({ recordsFiltered: 20, recordsDelivered: 10 });
  });

  it('a batch with one matching record among 50 delivers only it', async () => {
    const data = Array.from({ length: 50 }, (_, i) => ({ key: 'k', data: { i, kind: i === 31 ? 'click' : 'view' } }));
    const r = await rig({ options: { filterCriteria: clicks, batchSize: 100 }, before: data });
    await until(async () => (await r.committed()).get(0) === 50);
    expect(r.calls).toHaveLength(1);
    expect(r.calls[0]!.event.Records).toHaveLength(1);
    expect(r.calls[0]!.data).toEqual([{ i: 31, kind: 'click' }]);
  });

  it('a stretch of records that match nothing is never delivered, and its offsets are committed', async () => {
    const r = await rig({ options: { filterCriteria: clicks }, before: Array.from({ length: 40 }, (_, i) => ({ key: 'k', data: { i, kind: 'view' } })) });
    await until(async () => (await r.committed()).get(0) === 40);
    await settle();
    expect(r.calls).toHaveLength(0);
  });

  it('records whose data is not JSON never match a pattern on data, but do match one on the partition key', async () => {
    const r = await rig({
      options: { filterCriteria: { Filters: [{ Pattern: '{"data":{"kind":[{"exists":false}]}}' }, { Pattern: '{"partitionKey":[{"prefix":"raw-"}]}' }] } },
    });
    await r.engine.append('events', [
      { key: 'raw-1', value: Buffer.from('not json') },
      { key: 'other', value: Buffer.from('not json either') },
      { key: 'other', value: Buffer.from('{"i":2}') },
    ]);
    await until(async () => (await r.committed()).get(0) === 3);
    const delivered = r.calls.flatMap((c) => c.event.Records.map((x: any) => Buffer.from(x.kinesis.data, 'base64').toString()));
    expect(delivered).toEqual(['not json', '{"i":2}']);
  });
});

// The README's dataflow example, kept true.
import { expect, it } from 'vitest';
import { count, pipeline, sum, TestDriver, tumbling } from '../../src/dataflow/index.js';

it('the README example emits what the README says', () => {
  const p = pipeline('campaign-minute');
  p.source<{ campaignId: string; ts: number; cost: number }>('views', { eventTime: (v) => v.ts, outOfOrderness: '5s' })
    .keyBy((v) => v.campaignId)
    .window(tumbling('1m'), { allowedLateness: '2h' })
    .aggregate({ views: count(), spend: sum((v) => v.cost) })
    .to('campaign-minute');
  const d = new TestDriver(p)
    .send('views', [{ campaignId: 'c1', ts: 1_000, cost: 2 }], { partition: 0 })
    .send('views', [{ campaignId: 'c1', ts: 66_000, cost: 1 }]);
  expect(d.output('campaign-minute')).toEqual([{ key: 'c1', windowStart: 0, windowEnd: 60000, views: 1, spend: 2 }]);
  d.advanceTime(30_000).finish();
  expect([...d.table('campaign-minute').values()].map((r) => [r.windowStart, r.views])).toEqual([[0, 1], [60_000, 1]]);
  expect(d.late()).toEqual([]);
  expect(d.metrics).toEqual({ records: 2, late: 0, clampedFuture: 0, errors: 0 });
});

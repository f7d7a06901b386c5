// The dataflow operators and time semantics, on the deterministic test driver (virtual time only).
import { describe, expect, it } from 'vitest';
import { avg, count, distinctCount, max, min, pipeline, session, sliding, sum, TestDriver, tumbling } from '../../src/dataflow/index.js';

interface View {
  ad: string;
  campaign: string;
  ts: number;
  cost?: number;
  ip?: string;
}

const MIN = 60_000;
const views = (ooo: number | string = 0, idle: number | string = '30s') => {
  const p = pipeline('views-per-minute');
  const src = p.source<View>('views', { eventTime: (v) => v.ts, outOfOrderness: ooo, idleTimeout: idle });
  return { p, src };
};

describe('stateless operators', () => {
  it('filters, maps, flatMaps and unions, keeping types', () => {
    const p = pipeline('stateless');
    const a = p.source<View>('a').filter((v) => v.ip !== 'bot').map((v) => ({ ad: v.ad }));
    const b = p.source<{ ads: string[] }>('b').flatMap((x) => x.ads.map((ad) => ({ ad })));
    a.union(b).to('ads');
    const d = new TestDriver(p)
      .send('a', [{ ad: 'x', campaign: 'c', ts: 0 }, { ad: 'y', campaign: 'c', ts: 0, ip: 'bot' }])
      .send('b', [{ ads: ['p', 'q'] }]);
    expect(d.output('ads')).toEqual([{ ad: 'x' }, { ad: 'p' }, { ad: 'q' }]);
  });
});

describe('aggregators', () => {
  it('distinctCount counts each value once across records, merges and accumulators loaded from JSON', () => {
    const agg = distinctCount((v: { u: string | number }) => v.u);
    let acc = agg.create();
    for (const u of ['a', 'b', 'a', 1, '1', 'b']) acc = agg.add(acc, { u });
    expect(agg.result(acc)).toBe(4); // 'a', 'b', 1, '1'
    let partial = agg.create();
    for (const u of ['b', 'c', 'c']) partial = agg.add(partial, { u });
    acc = agg.merge(acc, JSON.parse(JSON.stringify(partial)));
    expect(acc).toEqual(['a', 'b', 1, '1', 'c']);
    // As state saved and loaded (or spilled and read back): a new array, the same values.
    let loaded = JSON.parse(JSON.stringify(acc)) as (string | number)[];
    for (const u of ['c', 'd', 'a']) loaded = agg.add(loaded, { u });
    expect(agg.result(loaded)).toBe(6);
    let many = agg.create();
    for (let i = 0; i < 20_000; i++) many = agg.add(many, { u: i % 10_000 });
    expect(agg.result(many)).toBe(10_000);
  });
});

describe('tumbling windows', () => {
  it('fires a window when the watermark passes its end, with every built-in aggregate', () => {
    const { p, src } = views();
    src.keyBy((v) => v.campaign).window(tumbling('1m')).aggregate({
      views: count(), spend: sum((v) => v.cost ?? 0), cheapest: min((v) => v.cost ?? 0), dearest: max((v) => v.cost ?? 0),
      avg: avg((v) => v.cost ?? 0), ads: distinctCount((v) => v.ad),
    }).to('out');
    const d = new TestDriver(p).send('views', [
      { ad: 'a1', campaign: 'c1', ts: 1_000, cost: 2 },
      { ad: 'a2', campaign: 'c1', ts: 59_999, cost: 4 },
      { ad: 'a1', campaign: 'c2', ts: 30_000, cost: 1 },
    ]);
    expect(d.output('out')).toEqual([]); // watermark 59,999: the first minute is not over
    d.send('views', [{ ad: 'a1', campaign: 'c1', ts: MIN, cost: 8 }]);
    expect(d.output('out')).toEqual([
      { key: 'c1', windowStart: 0, windowEnd: MIN, views: 2, spend: 6, cheapest: 2, dearest: 4, avg: 3, ads: 2 },
      { key: 'c2', windowStart: 0, windowEnd: MIN, views: 1, spend: 1, cheapest: 1, dearest: 1, avg: 1, ads: 1 },
    ]);
  });

  it('places out-of-order records within the allowed out-of-orderness in their windows', () => {
    const { p, src } = views('10s');
    src.keyBy((v) => v.campaign).window(tumbling('1m')).aggregate({ n: count() }).to('out');
    const d = new TestDriver(p).send('views', [{ ad: 'a', campaign: 'c', ts: 65_000 }, { ad: 'a', campaign: 'c', ts: 55_000 }]);
    expect(d.watermark).toBe(55_000);
    d.send('views', [{ ad: 'a', campaign: 'c', ts: 70_000 }]);
    expect(d.output('out')).toEqual([{ key: 'c', windowStart: 0, windowEnd: MIN, n: 1 }]);
    d.finish();
    expect(d.output('out').at(-1)).toEqual({ key: 'c', windowStart: MIN, windowEnd: 2 * MIN, n: 2 });
  });

  it('updates an emitted result for a record within allowedLateness; a sink upserting by key and window holds the final count', () => {
    const { p, src } = views();
    src.keyBy((v) => v.campaign).window(tumbling('1m'), { allowedLateness: '1h' }).aggregate({ n: count() }).to('out');
    const d = new TestDriver(p).send('views', [{ ad: 'a', campaign: 'c', ts: 10 }, { ad: 'a', campaign: 'c', ts: 2 * MIN }]);
    expect(d.output('out')).toEqual([{ key: 'c', windowStart: 0, windowEnd: MIN, n: 1 }]);
    d.send('views', [{ ad: 'a', campaign: 'c', ts: 20 }]); // two minutes late, within the hour
    expect(d.output('out')).toEqual([{ key: 'c', windowStart: 0, windowEnd: MIN, n: 1 }, { key: 'c', windowStart: 0, windowEnd: MIN, n: 2 }]);
    expect(d.table('out').get(JSON.stringify(['c', 0]))).toEqual({ key: 'c', windowStart: 0, windowEnd: MIN, n: 2 });
    expect(d.late()).toEqual([]);
  });

  it('sends a record later than allowedLateness to the late output, counted, never dropped silently', () => {
    const { p, src } = views();
    src.keyBy((v) => v.campaign).window(tumbling('1m'), { allowedLateness: '5m' }).aggregate({ n: count() }).to('out');
    const d = new TestDriver(p).send('views', [{ ad: 'a', campaign: 'c', ts: 10 * MIN }]);
    d.send('views', [{ ad: 'late', campaign: 'c', ts: 4 * MIN + 59_999 }, { ad: 'ok', campaign: 'c', ts: 5 * MIN }]);
    expect(d.late()).toEqual([{ source: 'views', value: { ad: 'late', campaign: 'c', ts: 4 * MIN + 59_999 }, eventTime: 4 * MIN + 59_999, watermark: 10 * MIN }]);
    expect(d.metrics.late).toBe(1);
    expect(d.output('out')).toContainEqual({ key: 'c', windowStart: 5 * MIN, windowEnd: 6 * MIN, n: 1 });
  });

  it('routes late records to the stream the pipeline names with late()', () => {
    const { p, src } = views();
    src.keyBy((v) => v.campaign).window(tumbling('1m')).aggregate({ n: count() }).to('out');
    p.late().map((l) => ({ ad: (l.value as View).ad, lateBy: l.watermark - l.eventTime })).to('late-views');
    // The watermark moves between batches, as it does between an engine task's reads.
    const d = new TestDriver(p).send('views', [{ ad: 'a', campaign: 'c', ts: 3 * MIN }]).send('views', [{ ad: 'b', campaign: 'c', ts: MIN }]);
    expect(d.output('late-views')).toEqual([{ ad: 'b', lateBy: 2 * MIN }]);
    expect(d.late()).toEqual([]);
  });

  it('emits nothing for an empty window', () => {
    const { p, src } = views();
    src.keyBy((v) => v.campaign).window(tumbling('1m')).aggregate({ n: count() }).to('out');
    const d = new TestDriver(p).send('views', [{ ad: 'a', campaign: 'c', ts: 0 }, { ad: 'a', campaign: 'c', ts: 5 * MIN }]).finish();
    expect(d.output('out').map((r) => r.windowStart)).toEqual([0, 5 * MIN]);
  });
});

describe('watermarks', () => {
  it('is held back by the slowest partition until that partition has been idle for idleTimeout', () => {
    const { p, src } = views(0, '30s');
    src.keyBy((v) => v.campaign).window(tumbling('1m')).aggregate({ n: count() }).to('out');
    const d = new TestDriver(p)
      .send('views', [{ ad: 'a', campaign: 'c', ts: 10_000 }], { partition: 0 })
      .send('views', [{ ad: 'a', campaign: 'c', ts: 5 * MIN }], { partition: 1 });
    expect(d.watermark).toBe(10_000);
    expect(d.output('out')).toEqual([]);
    d.advanceTime(29_999);
    expect(d.output('out')).toEqual([]);
    d.send('views', [{ ad: 'a', campaign: 'c', ts: 5 * MIN + 1 }], { partition: 1 }); // partition 1 alive, 0 quiet
    d.advanceTime(1);
    expect(d.watermark).toBe(5 * MIN + 1);
    expect(d.output('out')).toEqual([{ key: 'c', windowStart: 0, windowEnd: MIN, n: 1 }]);
  });

  it('clamps a far-future event time and counts it instead of letting it close every window', () => {
    const p = pipeline('clamp');
    p.source<View>('views', { eventTime: (v) => v.ts, maxFutureSkew: '1m' }).keyBy((v) => v.campaign).window(tumbling('1m')).aggregate({ n: count() }).to('out');
    const d = new TestDriver(p, { startTime: 10 * MIN });
    d.send('views', [{ ad: 'a', campaign: 'c', ts: 10 * MIN }, { ad: 'broken-clock', campaign: 'c', ts: 9_999_999_999_999 }]);
    expect(d.metrics.clampedFuture).toBe(1);
    expect(d.watermark).toBe(11 * MIN);
    d.send('views', [{ ad: 'b', campaign: 'c', ts: 11 * MIN + 30_000 }]); // on time: the watermark was not pushed to the year 2286
    expect(d.late()).toEqual([]);
    expect(d.output('out')).toEqual([{ key: 'c', windowStart: 10 * MIN, windowEnd: 11 * MIN, n: 1 }]);
  });
});

describe('sliding and session windows', () => {
  it('counts a record in every sliding window that covers it', () => {
    const { p, src } = views();
    src.keyBy((v) => v.ad).window(sliding('3m', '1m')).aggregate({ n: count() }).to('out');
    const d = new TestDriver(p).send('views', [{ ad: 'a', campaign: 'c', ts: 2 * MIN + 5 }]).finish();
    expect(d.output('out').map((r) => [r.windowStart, r.windowEnd, r.n])).toEqual([[0, 3 * MIN, 1], [MIN, 4 * MIN, 1], [2 * MIN, 5 * MIN, 1]]);
  });

  it('merges sessions a record bridges, and closes a session after the gap', () => {
    const { p, src } = views();
    src.keyBy((v) => v.ad).window(session('10s')).aggregate({ n: count() }).to('out');
    const d = new TestDriver(p).send('views', [
      { ad: 'a', campaign: 'c', ts: 0 },
      { ad: 'a', campaign: 'c', ts: 15_000 }, // a second session
      { ad: 'a', campaign: 'c', ts: 8_000 }, // bridges the two (0+10s overlaps 8s, 8s+10s overlaps 15s)
    ]);
    expect(d.output('out')).toEqual([]);
    d.send('views', [{ ad: 'b', campaign: 'c', ts: 60_000 }]);
    expect(d.output('out')).toEqual([{ key: 'a', windowStart: 0, windowEnd: 25_000, n: 3 }]);
  });

  it('a session merged into another after it fired is deleted from tables (also through maps), and stays in streams', () => {
    const { p, src } = views();
    const sessions = src.keyBy((v) => v.ad).window(session('10s'), { allowedLateness: '1m' }).aggregate({ n: count() });
    sessions.to('out');
    sessions.toTable('sessions');
    sessions.map((r) => ({ ad: r.key, from: r.windowStart, n: r.n })).toTable('mapped', { key: (r) => [r.ad, r.from] });
    const d = new TestDriver(p)
      .send('views', [{ ad: 'a', campaign: 'c', ts: 20_000 }])
      .send('views', [{ ad: 'b', campaign: 'c', ts: 45_000 }]); // the watermark passes 30s: [20s, 30s) fires
    expect([...d.table('sessions').values()]).toEqual([{ key: 'a', windowStart: 20_000, windowEnd: 30_000, n: 1 }]);
    d.send('views', [{ ad: 'a', campaign: 'c', ts: 12_000 }]); // late, allowed: [12s, 22s) merges with it
    expect([...d.table('sessions').values()]).toEqual([{ key: 'a', windowStart: 12_000, windowEnd: 30_000, n: 2 }]);
    expect([...d.table('mapped', (r) => [r.ad, r.from]).values()]).toEqual([{ ad: 'a', from: 12_000, n: 2 }]);
    // A stream cannot take a record back: it has both results, and no record for the retraction.
    expect(d.output('out')).toEqual([
      { key: 'a', windowStart: 20_000, windowEnd: 30_000, n: 1 },
      { key: 'a', windowStart: 12_000, windowEnd: 30_000, n: 2 },
    ]);
    expect(d.output('sessions')).toEqual(d.output('out'));
  });

  it('reduces the records of each window with a user function', () => {
    const { p, src } = views();
    src.keyBy((v) => v.campaign).window(tumbling('1m')).reduce((a, b) => (a.ts >= b.ts ? a : b)).to('latest');
    const d = new TestDriver(p).send('views', [{ ad: 'x', campaign: 'c', ts: 5 }, { ad: 'y', campaign: 'c', ts: 7 }]).finish();
    expect(d.output('latest')).toEqual([{ key: 'c', windowStart: 0, windowEnd: MIN, value: { ad: 'y', campaign: 'c', ts: 7 } }]);
  });

  it('rejects bad window sizes with a message naming the option', () => {
    expect(() => tumbling('soon')).toThrow(`size must be milliseconds or a duration like '1m', got "soon"`);
    expect(() => sliding('1m', '7s')).toThrow('a sliding window needs 0 < slide <= size, with size a multiple of slide');
    expect(() => session(0)).toThrow('a session window needs a gap above 0');
  });
});

describe('lateness is judged against the record\'s own partition, as the batches before its own left it (decision 015)', () => {
  const windowed = (allowedLateness: number) => {
    const { p, src } = views('5s');
    src.keyBy((v) => v.campaign).window(tumbling('1m'), { allowedLateness }).aggregate({ n: count() }).to('out');
    return p;
  };

  it('does not judge a record against the records of its own batch (one append arrives together)', () => {
    const d = new TestDriver(windowed(0)).send('views', [{ ad: 'x', campaign: 'c', ts: 10 * MIN }, { ad: 'y', campaign: 'c', ts: MIN }]);
    expect(d.late()).toEqual([]);
    d.send('views', [{ ad: 'z', campaign: 'c', ts: MIN }]); // the batch before pushed partition 0 to 10m - 5s
    expect(d.late().map((l) => [l.value.ad, l.watermark])).toEqual([['z', 10 * MIN - 5_000]]);
  });

  it('judges a record by its own partition: a partition ahead does not make another partition\'s record late, its own past does', () => {
    const d = new TestDriver(windowed(MIN))
      .send('views', [{ ad: 'first', campaign: 'c', ts: 0 }], { partition: 1 })
      .send('views', [{ ad: 'a', campaign: 'c', ts: 30 * MIN }], { partition: 0 })
      .send('views', [{ ad: 'b', campaign: 'c', ts: MIN }], { partition: 1 }) // far behind partition 0, but in order on its own
      .send('views', [{ ad: 'late', campaign: 'c', ts: 2 * MIN }], { partition: 0 }); // behind partition 0 by 28 minutes
    expect(d.late().map((l) => l.value.ad)).toEqual(['late']);
    d.finish();
    expect(d.output('out').map((r) => [r.windowStart, r.n]).sort((x, y) => x[0] - y[0])).toEqual([[0, 1], [MIN, 1], [30 * MIN, 1]]);
  });

  it('clamps a future time by the record\'s arrival, not by the clock of the run', () => {
    const p = pipeline('clamp-arrival');
    p.source<View>('views', { eventTime: (v) => v.ts, maxFutureSkew: '1m' }).keyBy((v) => v.campaign).window(tumbling('1m')).aggregate({ n: count() }).to('out');
    const d = new TestDriver(p, { startTime: 100 * MIN }); // a replay runs long after the record arrived
    d.send('views', [{ ad: 'a', campaign: 'c', ts: 10 * MIN }], { arrival: 5 * MIN });
    expect(d.metrics.clampedFuture).toBe(1);
    d.finish();
    expect(d.output('out')).toEqual([{ key: 'c', windowStart: 6 * MIN, windowEnd: 7 * MIN, n: 1 }]);
  });
});

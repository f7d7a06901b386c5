// Joins on the deterministic test driver: windowed, interval (inner and left) and table lookups.
import { describe, expect, it } from 'vitest';
import { Executor } from '../../src/dataflow/executor.js';
import { isKeyed } from '../../src/dataflow/dsl.js';
import { lateFor } from '../../src/dataflow/lateness.js';
import { count, pipeline, session, sliding, TestDriver, tumbling } from '../../src/dataflow/index.js';

interface Ad { adId: string; campaignId: string; ts: number }
interface View { adId: string; ts: number; user?: string }

const MIN = 60_000;

function windowJoin(kind: 'inner' | 'left', allowedLateness = 0) {
  const p = pipeline('wj');
  const views = p.source<View>('views', { eventTime: (v) => v.ts }).keyBy((v) => v.adId);
  const ads = p.source<Ad>('ads', { eventTime: (a) => a.ts }).keyBy((a) => a.adId);
  const j = views.join(ads).window(tumbling('1m'), { allowedLateness });
  (kind === 'inner' ? j.inner((v, a) => ({ user: v.user, campaign: a.campaignId })) : j.left((v, a) => ({ user: v.user, campaign: a?.campaignId ?? null }))).to('out');
  return p;
}

describe('windowed join', () => {
  it('pairs both sides of the same key and window when the window fires, not before', () => {
    const d = new TestDriver(windowJoin('inner'))
      .send('views', [{ adId: 'a', ts: 10, user: 'u1' }, { adId: 'a', ts: 20, user: 'u2' }, { adId: 'b', ts: 30, user: 'u3' }])
      .send('ads', [{ adId: 'a', campaignId: 'c1', ts: 5 }, { adId: 'a', campaignId: 'c2', ts: MIN + 5 }]);
    expect(d.output('out')).toEqual([]); // views' watermark is 30
    d.send('views', [{ adId: 'x', ts: 2 * MIN }]);
    // u3's ad never came (inner: nothing); the c2 ad is in the next minute.
    expect(d.output('out')).toEqual([{ user: 'u1', campaign: 'c1' }, { user: 'u2', campaign: 'c1' }]);
  });

  it('left join emits (left, null) for an unmatched left record once its window is dropped', () => {
    const d = new TestDriver(windowJoin('left', MIN))
      .send('views', [{ adId: 'b', ts: 30, user: 'u3' }])
      .send('ads', [{ adId: 'z', campaignId: 'c9', ts: 40 }])
      .send('views', [{ adId: 'x', ts: MIN }]).send('ads', [{ adId: 'x', campaignId: 'c9', ts: MIN }]);
    expect(d.output('out')).toEqual([]); // fired at 1m, but a match may still come within the lateness
    d.send('ads', [{ adId: 'b', campaignId: 'c3', ts: 50 }]); // 10 s late, allowed: pairs at once
    expect(d.output('out')).toEqual([{ user: 'u3', campaign: 'c3' }]);
    d.send('views', [{ adId: 'y', ts: 3 * MIN }]).send('ads', [{ adId: 'y', campaignId: 'c9', ts: 3 * MIN }]);
    expect(d.output('out')).toEqual([{ user: 'u3', campaign: 'c3' }, { user: undefined, campaign: 'c9' }]); // x matched at 1m (fired at 2m)
    d.finish();
    expect(d.output('out').at(-1)).toEqual({ user: undefined, campaign: 'c9' });
  });

  it('sends a record later than the window plus allowedLateness to the late output', () => {
    const d = new TestDriver(windowJoin('inner'))
      .send('views', [{ adId: 'a', ts: 2 * MIN }]).send('ads', [{ adId: 'a', campaignId: 'c', ts: 2 * MIN }])
      .send('ads', [{ adId: 'a', campaignId: 'c', ts: 10 }]);
    expect(d.late()).toEqual([{ source: 'ads', value: { adId: 'a', campaignId: 'c', ts: 10 }, eventTime: 10, watermark: 2 * MIN }]);
    expect(d.metrics.late).toBe(1);
  });
});

function intervalJoin(kind: 'inner' | 'left', allowedLateness = 0) {
  const p = pipeline('ij');
  const views = p.source<View>('views', { eventTime: (v) => v.ts }).keyBy((v) => v.adId);
  const ads = p.source<Ad>('ads', { eventTime: (a) => a.ts }).keyBy((a) => a.adId);
  // A view joins the ad served up to 10 minutes before it.
  const j = views.join(ads).between('-10m', 0, { allowedLateness });
  (kind === 'inner' ? j.inner((v, a) => ({ user: v.user, campaign: a.campaignId })) : j.left((v, a) => ({ user: v.user, campaign: a?.campaignId ?? null }))).to('out');
  return p;
}

describe('interval join', () => {
  it('pairs as soon as both sides are there, in either order, bounds inclusive', () => {
    const d = new TestDriver(intervalJoin('inner'))
      .send('ads', [{ adId: 'a', campaignId: 'c1', ts: 0 }])
      .send('views', [{ adId: 'a', ts: 10 * MIN, user: 'edge' }, { adId: 'a', ts: 10 * MIN + 1, user: 'too-far' }, { adId: 'b', ts: 10 * MIN, user: 'other-ad' }]);
    expect(d.output('out')).toEqual([{ user: 'edge', campaign: 'c1' }]);
    d.send('ads', [{ adId: 'b', campaignId: 'c2', ts: 10 * MIN }]); // same instant: the upper bound 0 is inclusive
    expect(d.output('out')).toEqual([{ user: 'edge', campaign: 'c1' }, { user: 'other-ad', campaign: 'c2' }]);
  });

  it('left join emits (view, null) once no ad can match any more', () => {
    const d = new TestDriver(intervalJoin('left'))
      .send('views', [{ adId: 'a', ts: MIN, user: 'orphan' }]).send('ads', [{ adId: 'x', campaignId: 'c', ts: MIN }]);
    expect(d.output('out')).toEqual([]);
    d.send('views', [{ adId: 'x', ts: MIN + 1 }]).send('ads', [{ adId: 'x', campaignId: 'c', ts: MIN + 1 }]);
    // x at 1m+1 pairs with both x ads (1m and 1m+1); then the watermark passes 1m: the orphan's chance is gone.
    expect(d.output('out')).toEqual([{ user: undefined, campaign: 'c' }, { user: undefined, campaign: 'c' }, { user: 'orphan', campaign: null }]);
  });

  it('a record older than the watermark minus allowedLateness is late; within it, it still matches', () => {
    const d = new TestDriver(intervalJoin('inner', 5 * MIN))
      .send('views', [{ adId: 'a', ts: 20 * MIN, user: 'u' }]).send('ads', [{ adId: 'z', campaignId: 'c', ts: 20 * MIN }])
      .send('ads', [{ adId: 'a', campaignId: 'late-ok', ts: 15 * MIN }, { adId: 'a', campaignId: 'too-late', ts: 15 * MIN - 1 }]);
    expect(d.output('out')).toEqual([{ user: 'u', campaign: 'late-ok' }]);
    expect(d.late().map((l) => l.value.campaignId)).toEqual(['too-late']);
  });

  it('rejects lower above upper', () => {
    const p = pipeline('bad');
    const a = p.source<View>('a').keyBy((v) => v.adId);
    expect(() => a.join(p.source<Ad>('b').keyBy((x) => x.adId)).between('1m', '-1m')).toThrow('an interval join needs lower <= upper');
  });
});

describe('stream–table lookup', () => {
  function enrich(kind: 'inner' | 'left') {
    const p = pipeline('enrich');
    const ads = p.table<Ad | { adId: string; deleted: true }>('ads-changelog', { key: (a) => a.adId, isDelete: (a) => 'deleted' in a });
    const j = p.source<View>('views', { eventTime: (v) => v.ts }).keyBy((v) => v.adId).lookup(ads);
    (kind === 'inner' ? j.inner((v, a) => ({ user: v.user, campaign: 'campaignId' in a ? a.campaignId : '?' })) : j.left((v, a) => ({ user: v.user, campaign: a && 'campaignId' in a ? a.campaignId : null }))).to('out');
    return p;
  }

  it('joins each record with the latest row of its key; a delete removes the row', () => {
    const d = new TestDriver(enrich('left'))
      .send('views', [{ adId: 'a', ts: 1, user: 'before' }])
      .send('ads-changelog', [{ adId: 'a', campaignId: 'c1', ts: 0 }])
      .send('views', [{ adId: 'a', ts: 2, user: 'u1' }])
      .send('ads-changelog', [{ adId: 'a', campaignId: 'c2', ts: 0 }])
      .send('views', [{ adId: 'a', ts: 3, user: 'u2' }])
      .send('ads-changelog', [{ adId: 'a', deleted: true }])
      .send('views', [{ adId: 'a', ts: 4, user: 'after' }]);
    expect(d.output('out')).toEqual([
      { user: 'before', campaign: null }, { user: 'u1', campaign: 'c1' }, { user: 'u2', campaign: 'c2' }, { user: 'after', campaign: null },
    ]);
  });

  it('inner lookup drops records without a row; the changelog does not hold the watermark back', () => {
    const p = enrich('inner');
    p.source<View>('views', { eventTime: (v) => v.ts }).keyBy((v) => v.adId).window(tumbling('1m')).aggregate({ n: count() }).to('per-ad');
    const d = new TestDriver(p).send('ads-changelog', [{ adId: 'a', campaignId: 'c1', ts: 0 }]).send('views', [{ adId: 'b', ts: 1 }, { adId: 'a', ts: 2 * MIN }]);
    expect(d.output('out')).toEqual([{ user: undefined, campaign: 'c1' }]);
    expect(d.output('per-ad')).toEqual([{ key: 'b', windowStart: 0, windowEnd: MIN, n: 1 }]);
  });
});

describe('table sinks', () => {
  it('carry the row key: the window key and start unless told otherwise', () => {
    const p = pipeline('t');
    const src = p.source<View>('views', { eventTime: (v) => v.ts });
    src.keyBy((v) => v.adId).window(tumbling('1m')).aggregate({ n: count() }).toTable('per_ad');
    expect(() => src.toTable('bad name')).toThrow("invalid table name 'bad name'");
    const d = new TestDriver(p).send('views', [{ adId: 'a', ts: 1 }]).finish();
    expect(d.table('per_ad').get(JSON.stringify(['a', 0]))).toEqual({ key: 'a', windowStart: 0, windowEnd: MIN, n: 1 });
  });

  it('send a value that cannot be a row to <pipeline>-errors: not an object, a _key field, too many fields', () => {
    const p = pipeline('rows');
    p.source<{ kind: string }>('in').map((x): unknown => {
      if (x.kind === 'number') return 5;
      if (x.kind === 'key') return { _key: 'mine', a: 1 };
      if (x.kind === 'wide') return Object.fromEntries(Array.from({ length: 501 }, (_, i) => [`f${i}`, i]));
      return { a: 1 };
    }).toTable('rows', { key: () => ['k'] });
    const d = new TestDriver(p).send('in', [{ kind: 'number' }, { kind: 'key' }, { kind: 'wide' }, { kind: 'ok' }]);
    expect(d.errors().map((e) => e.error)).toEqual([
      "table 'rows': a row must be an object, got number",
      "table 'rows': a row may not have a field '_key' (the table's primary key column)",
      "table 'rows': a row may have at most 500 fields, got 501",
    ]);
    expect([...d.table('rows', () => 'k').values()]).toEqual([{ a: 1 }]);
    expect(d.metrics.errors).toBe(3);
  });

  it('rejects a pipeline name that cannot name its streams and state', () => {
    expect(() => pipeline('a/b')).toThrow("invalid pipeline name 'a/b': use 1-64 letters, digits, _ or -");
    expect(() => pipeline('')).toThrow('invalid pipeline name');
    expect(() => pipeline('x'.repeat(65))).toThrow('invalid pipeline name');
  });
});

describe('one lateness rule: lateFor agrees with what each operator refuses', () => {
  it('for tumbling, sliding and session windows, windowed and interval joins, over random times and watermarks', () => {
    const p = pipeline('rule');
    const a = p.source<{ k: string; t: number }>('a', { eventTime: (x) => x.t }).keyBy((x) => x.k);
    const b = p.source<{ k: string; t: number }>('b', { eventTime: (x) => x.t }).keyBy((x) => x.k);
    a.window(tumbling('1m', '10s'), { allowedLateness: '30s' }).aggregate({ n: count() }).to('o1');
    a.window(sliding('3m', '1m'), { allowedLateness: '45s' }).aggregate({ n: count() }).to('o2');
    a.window(session('2m'), { allowedLateness: '1m' }).aggregate({ n: count() }).to('o3');
    a.join(b).window(sliding('2m', '1m'), { allowedLateness: '20s' }).inner((l, r) => ({ l, r })).to('o4');
    a.join(b).between('-5m', '1m', { allowedLateness: '2m' }).left((l, r) => ({ l, r })).to('o5');
    let seed = 7;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const executor = new Executor(p);
    for (const node of p.nodes.filter(isKeyed)) {
      const op = executor.operators.get(node.id)!;
      for (let i = 0; i < 2000; i++) {
        const t = Math.floor(random() * 20 * MIN);
        const w = Math.floor(random() * 25 * MIN);
        expect(lateFor(node, t, w), `${node.kind} ${node.kind === 'window' ? node.spec.kind : ''} t=${t} w=${w}`).toBe(!op.add(0, `k${i}`, { k: `k${i}`, t }, t, w));
      }
    }
  });
});

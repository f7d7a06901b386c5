// The archive sink on both engines (sqlite, and a real nats-server): object keys, contents, rolls
// by size, time and day, announcements, crashes before and after an object's commit, and records
// that cannot be NDJSON lines. Time is a ManualClock: arrival times and rollInterval alike.
import { afterEach, describe, expect, it } from 'vitest';
import { archiveKey, archiveStateKey } from '../../src/connectors/archive/index.js';
import type { Engine, StoredRecord } from '../../src/engine/engine.js';
import { allRecords, ENGINES } from '../support/engines.js';
import { coverage, enc, harness, T0, type Harness } from './archive-harness.js';

const text = (r: StoredRecord) => Buffer.from(r.value).toString();

for (const { name, factory } of ENGINES) {
  describe(`archive sink on ${name}`, () => {
    const engines: Engine[] = [];
    const open = async (clock: Parameters<typeof factory>[0]) => {
      const e = await factory(clock);
      engines.push(e);
      return e;
    };
    afterEach(async () => {
      for (const e of engines.splice(0)) await e.close();
    });

    const append = async (h: Harness, partition: number, values: unknown[]) => {
      await h.engine.append('s', values.map((v) => ({ partition, value: enc(v) })));
    };
    const records = async (h: Harness, partition: number) => (await allRecords(h.engine, 's')).filter((r) => r.partition === partition);

    it('names objects <prefix>/<yyyy>/<mm>/<dd>/<stream>-<partition>-<first offset>.ndjson.gz, each holding its offset range exactly, rolled by size; an open object is not visible', async () => {
      // Lines of 27 bytes: the 4th reaches rollSize 100.
      const h = await harness(open, { rollSize: 100 });
      for (const p of [0, 1]) await append(h, p, Array.from({ length: 10 }, (_, n) => ({ p, n, pad: 'xxxxxxxxx' })));
      for (const p of [0, 1]) await h.drainSteps(await h.partition(p));
      const before = await h.archived();
      const want = async (p: number, upTo: number) => {
        const rs = (await records(h, p)).slice(0, upTo);
        const out = [];
        for (let i = 0; i < rs.length; i += 4) out.push({ key: `raw/2024/03/05/s-${p}-${rs[i]!.offset}.ndjson.gz`, lines: rs.slice(i, i + 4).map(text) });
        return out;
      };
      expect(before.map(({ key, lines }) => ({ key, lines }))).toEqual([...(await want(0, 8)), ...(await want(1, 8))]);
      expect(before[0]!.metadata).toMatchObject({ 'content-type': 'application/gzip', 'x-amz-meta-sluice-stream': 's', 'x-amz-meta-sluice-records': '4' });
    });

    it('a clean stop commits the open object; each object is announced once, as ObjectCreated:Put of its version', async () => {
      const h = await harness(open, { rollSize: 100 });
      await append(h, 0, Array.from({ length: 10 }, (_, n) => ({ p: 0, n, pad: 'xxxxxxxxx' })));
      const part = await h.partition(0);
      await h.drainSteps(part);
      await part.drain();
      const objects = await h.archived();
      const rs = await records(h, 0);
      expect(objects.map((o) => o.key)).toEqual([0, 4, 8].map((i) => `raw/2024/03/05/s-0-${rs[i]!.offset}.ndjson.gz`));
      expect(objects.flatMap((o) => o.lines)).toEqual(rs.map(text));
      expect(await h.announced()).toEqual(objects.map((o) => ({ bucket: 'arch', key: o.key, event: 'ObjectCreated:Put', version: o.version })));
      expect(part.stats).toMatchObject({ records: 10, objects: 3, errors: 0, committed: rs[9]!.offset + 1 });
    });

    it('rolls by time: an object is committed rollInterval after it opened, however small', async () => {
      const h = await harness(open, { rollInterval: 60_000 });
      await append(h, 0, [{ n: 1 }, { n: 2 }, { n: 3 }]);
      const part = await h.partition(0);
      await h.drainSteps(part);
      h.clock.advance(59_999);
      await h.drainSteps(part);
      expect(await h.archived()).toEqual([]);
      h.clock.advance(1);
      await h.drainSteps(part);
      const rs = await records(h, 0);
      expect((await h.archived()).map(({ key, lines }) => ({ key, lines }))).toEqual([{ key: `raw/2024/03/05/s-0-${rs[0]!.offset}.ndjson.gz`, lines: ['{"n":1}', '{"n":2}', '{"n":3}'] }]);
      await append(h, 0, [{ n: 4 }]);
      await h.drainSteps(part);
      h.clock.advance(60_000);
      await h.drainSteps(part);
      const all = await records(h, 0);
      expect((await h.archived()).map((o) => o.key)).toEqual([0, 3].map((i) => `raw/2024/03/05/s-0-${all[i]!.offset}.ndjson.gz`));
    });

    it('with arrival times an object never spans two UTC days; with timeField the key carries the first record\'s event time', async () => {
      const h = await harness(open, {});
      h.clock.set(Date.UTC(2024, 11, 31, 23, 59, 59, 500));
      await append(h, 0, [{ n: 1 }, { n: 2 }]);
      h.clock.advance(1_000);
      await append(h, 0, [{ n: 3 }]);
      const part = await h.partition(0);
      await h.drainSteps(part);
      await part.drain();
      const rs = await records(h, 0);
      expect((await h.archived()).map(({ key, lines }) => ({ key, lines }))).toEqual([
        { key: `raw/2024/12/31/s-0-${rs[0]!.offset}.ndjson.gz`, lines: ['{"n":1}', '{"n":2}'] },
        { key: `raw/2025/01/01/s-0-${rs[2]!.offset}.ndjson.gz`, lines: ['{"n":3}'] },
      ]);
      const e = await harness(open, { timeField: 'ts', compression: 'none', prefix: '' });
      await e.engine.append('s', [{ partition: 1, value: enc({ ts: '2023-07-04T12:00:00Z' }) }, { partition: 1, value: enc({ ts: Date.UTC(2024, 0, 1) }) }]);
      const p1 = await e.partition(1);
      await e.drainSteps(p1);
      await p1.drain();
      const first = (await records(e, 1))[0]!.offset;
      expect((await e.archived()).map((o) => o.key)).toEqual([`2023/07/04/s-1-${first}.ndjson`]);
      expect(archiveKey('a/b', Date.UTC(987, 0, 9), 'x.y', 3, 42, 'gzip')).toBe('a/b/0987/01/09/x.y-3-42.ndjson.gz');
    });

    it('a crash with an object open (staged, not committed): the next instance archives from the last object, every offset once', async () => {
      const h = await harness(open, { rollSize: 100 });
      await append(h, 0, Array.from({ length: 6 }, (_, n) => ({ p: 0, n, pad: 'xxxxxxxxx' })));
      const dying = await h.partition(0);
      await h.drainSteps(dying); // one object of 4; records 4 and 5 staged in the open one
      await append(h, 0, Array.from({ length: 6 }, (_, n) => ({ p: 0, n: n + 6, pad: 'xxxxxxxxx' })));
      // The process dies: the open object is never committed (nor discarded: the engine sweeps it).
      const next = await h.partition(0);
      await h.drainSteps(next);
      await next.drain();
      const objects = await h.archived();
      const rs = await records(h, 0);
      expect(objects.flatMap((o) => o.lines)).toEqual(rs.map(text));
      expect(coverage(objects, rs.map((r) => r.offset))).toEqual({ twice: [], missing: [] });
      expect(objects.map((o) => o.key)).toEqual([0, 4, 8].map((i) => `raw/2024/03/05/s-0-${rs[i]!.offset}.ndjson.gz`));
      expect((await h.announced()).length).toBe(3);
    });

    it('a crash after an object committed but before its offset (nats writes them in turn): the next instance moves past it, writing and announcing nothing twice', async () => {
      const h = await harness(open, { rollSize: 100 });
      await append(h, 0, Array.from({ length: 8 }, (_, n) => ({ p: 0, n, pad: 'xxxxxxxxx' })));
      const part = await h.partition(0);
      await h.drainSteps(part);
      // Put the offset back to before the second object, as if its state write never happened.
      const key = archiveStateKey('s', 0);
      const entry = (await h.engine.getState(key))!;
      const rs = await records(h, 0);
      await h.engine.commit({ state: [{ key, value: enc({ offset: rs[4]!.offset }), expectedVersion: entry.version }] });
      const again = await h.partition(0);
      await h.drainSteps(again);
      const objects = await h.archived();
      expect(objects.map((o) => ({ key: o.key, lines: o.lines.length }))).toEqual([0, 4].map((i) => ({ key: `raw/2024/03/05/s-0-${rs[i]!.offset}.ndjson.gz`, lines: 4 })));
      expect((await h.announced()).map((a) => a.version)).toEqual(objects.map((o) => o.version));
      expect(again.stats.committed).toBe(rs[7]!.offset + 1);
    });

    it('records that are not JSON go to <stream>-archive-errors once with their bytes; JSON over several lines is written on one; the rest is archived', async () => {
      const h = await harness(open, {});
      await h.engine.append('s', [
        { partition: 0, value: Buffer.from('not json') },
        { partition: 0, value: enc({ n: 1 }) },
        { partition: 0, value: Buffer.from('{\n  "n": 2\n}') },
        { partition: 0, value: Buffer.from([0xff, 0x00]) },
        { partition: 0, value: enc({ n: 3 }) },
      ]);
      const dying = await h.partition(0);
      await h.drainSteps(dying); // the errors wait for the object: a crash now reports them again under the same ids
      const part = await h.partition(0);
      await h.drainSteps(part);
      await part.drain();
      expect((await h.archived()).map((o) => o.lines)).toEqual([['{"n":1}', '{"n":2}', '{"n":3}']]);
      const errors = (await allRecords(h.engine, 's-archive-errors')).map((r) => JSON.parse(text(r)));
      expect(errors.map((e) => [e.source, Buffer.from(e.value, 'base64').toString('latin1')])).toEqual([['s', 'not json'], ['s', '\xff\x00']]);
      expect(errors[0].error).toMatch(/^record at offset \d+ of partition 0 is not JSON/);
      expect(part.stats.errors).toBe(2);
      // Only refused records left: their offset moves with them, no object.
      await h.engine.append('s', [{ partition: 0, value: Buffer.from('nope') }]);
      await h.drainSteps(part);
      expect((await allRecords(h.engine, 's-archive-errors')).length).toBe(3);
      expect((await h.archived()).length).toBe(1);
      const last = (await records(h, 0)).at(-1)!;
      expect(part.stats.committed).toBe((await h.engine.read('s', 0, last.offset, 10)).next);
    });
  });
}

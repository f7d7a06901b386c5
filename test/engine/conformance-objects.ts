// The object part of the engine conformance suite (decision 018), run by engineConformance for
// every engine: streamed round trips, a big object with flat memory, ranges, listings in byte
// order, staging that leaves nothing, preconditions, announcements committed with their objects,
// multipart by reference, kill -9 of a writer, a full disk.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { getEventListeners } from 'node:events';
import { createInterface } from 'node:readline';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { crc32 } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import type { Engine, ObjectWritten, StagedObject } from '../../src/engine/engine.js';
import { ConflictError, InvalidArgumentError, InvalidRangeError, ObjectTooLargeError, StorageFullError } from '../../src/engine/errors.js';
import type { EngineConfig } from '../../src/engine/open.js';
import type { EngineHarness } from './conformance.js';
import { md5Of, objectChunks } from './fixtures/object-bytes.js';

const MiB = 1024 * 1024;
/** The big object's size: 200 MiB in CI (a few seconds), SLUICE_BIG_OBJECT_MB=5120 for 5 GiB locally. */
const BIG_MB = Number(process.env.SLUICE_BIG_OBJECT_MB ?? 200);

type Fresh = () => Promise<{ engine: Engine; config: EngineConfig }>;

const bytesOf = async (engine: Engine, name: string, range?: { start: number; end?: number } | { suffix: number }) => {
  const opened = await engine.openObject(name, range ? { range } : {});
  if (!opened) return undefined;
  const chunks: Buffer[] = [];
  for await (const c of opened.body) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
};
const put = async (engine: Engine, name: string, data: Uint8Array | AsyncIterable<Uint8Array>, extra: { metadata?: Record<string, string> } = {}) => {
  const staged = await engine.stageObject(data);
  const { objects } = await engine.commit({ objects: [{ name, content: staged, ...extra }] });
  return objects[0] as Extract<ObjectWritten, { deleted: false }>;
};
const md5 = (b: Uint8Array) => createHash('md5').update(b).digest('hex');
const announce = (stream: string) => (written: ObjectWritten[]) =>
  written.map((w) => ({ stream, records: [{ value: Buffer.from(JSON.stringify({ name: w.name, deleted: w.deleted, version: w.deleted ? w.version : w.info.version })) }] }));
const events = async (engine: Engine, stream: string) => {
  const out: { name: string; deleted: boolean; version: number }[] = [];
  const { partitions } = await engine.describeStream(stream);
  for (let p = 0; p < partitions; p++) for (const r of (await engine.read(stream, p, 0, 100_000)).records) out.push(JSON.parse(Buffer.from(r.value).toString()));
  return out;
};
/** A full garbage collection on demand (the flag is set at run time, so the suite needs no node option). */
function collector(): () => void {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}
async function* slowly(chunks: Buffer[]) {
  for (const c of chunks) {
    await new Promise((r) => setImmediate(r));
    yield c;
  }
}

export function objectConformance(harness: EngineHarness, fresh: Fresh, keep: (e: Engine) => void): void {
  describe('objects', () => {
    it('round-trips 0 B, 1 B and 8 MiB + 1 streamed in odd chunks, with size, MD5, checksums, metadata and growing versions', async () => {
      const { engine } = await fresh();
      const big = Buffer.concat([Buffer.alloc(4 * MiB, 7), Buffer.alloc(4 * MiB + 1, 9)]);
      const odd = Array.from({ length: Math.ceil(big.length / 65_537) }, (_, i) => big.subarray(i * 65_537, (i + 1) * 65_537));
      const cases: [string, Buffer, Uint8Array | AsyncIterable<Uint8Array>][] = [
        ['empty', Buffer.alloc(0), slowly([])],
        ['one', Buffer.from('x'), Buffer.from('x')],
        ['eight/mib+1', big, slowly(odd)],
      ];
      for (const [name, data, body] of cases) {
        const staged = await engine.stageObject(body, { checksums: ['crc32', 'crc32c', 'sha1', 'sha256'] });
        expect(staged).toMatchObject({ size: data.length, md5: md5(data) });
        const crc = Buffer.alloc(4);
        crc.writeUInt32BE(crc32(data));
        expect(staged.checksums).toMatchObject({ crc32: crc.toString('base64'), sha1: createHash('sha1').update(data).digest('base64'), sha256: createHash('sha256').update(data).digest('base64') });
        const { objects } = await engine.commit({ objects: [{ name, content: staged, metadata: { 'content-type': 'text/plain', 'x-amz-meta-a': 'b' } }] });
        expect(objects[0]).toMatchObject({ name, deleted: false, info: { size: data.length, etag: md5(data), md5: md5(data), metadata: { 'content-type': 'text/plain', 'x-amz-meta-a': 'b' } } });
        expect(Buffer.compare((await bytesOf(engine, name))!, data)).toBe(0);
      }
      const one = await engine.statObject('one');
      expect(one).toMatchObject({ name: 'one', size: 1, etag: md5(Buffer.from('x')), checksums: expect.objectContaining({ crc32c: Buffer.from('a93c5f93', 'hex').toString('base64') }) });
      const again = await put(engine, 'one', Buffer.from('y'));
      expect(again.info.version).toBeGreaterThan(one!.version);
      expect(await engine.statObject('missing')).toBeUndefined();
      expect(await engine.openObject('missing')).toBeUndefined();
    });

    it(`streams a ${BIG_MB} MiB object in and out with the process' memory flat`, async () => {
      const { engine } = await fresh();
      const size = BIG_MB * MiB;
      let peak = 0;
      const sample = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
      const base = process.memoryUsage().rss;
      try {
        let t = performance.now();
        const sent = createHash('md5');
        const staged = await engine.stageObject((async function* () {
          for await (const c of objectChunks(1, size, 64 * 1024)) (sent.update(c), yield c);
        })());
        await engine.commit({ objects: [{ name: 'big', content: staged }] });
        const putMBs = BIG_MB / ((performance.now() - t) / 1000);
        expect(staged).toMatchObject({ size, md5: sent.digest('hex') });
        t = performance.now();
        const read = await md5Of((await engine.openObject('big'))!.body);
        const getMBs = BIG_MB / ((performance.now() - t) / 1000);
        expect(read).toEqual({ md5: staged.md5, size });
        const grew = (peak - base) / MiB;
        console.log(JSON.stringify({ engine: engine.kind, objectMiB: BIG_MB, putMBs: Math.round(putMBs), getMBs: Math.round(getMBs), rssGrowthMiB: Math.round(grew) }));
        expect(grew).toBeLessThan(160);
      } finally {
        clearInterval(sample);
      }
    }, 600_000);

    it('reads ranges: first byte, last byte, the middle across pieces, past the end, a suffix', async () => {
      const { engine } = await fresh();
      const a = Buffer.alloc(3 * MiB, 1);
      const b = Buffer.from('0123456789');
      await put(engine, '.uploads/u/1', a);
      await put(engine, '.uploads/u/2', b);
      await engine.commit({ objects: [{ name: 'joined', content: [{ object: '.uploads/u/1' }, { object: '.uploads/u/2' }] }] });
      const all = Buffer.concat([a, b]);
      expect((await bytesOf(engine, 'joined', { start: 0, end: 0 }))!.toString('hex')).toBe('01');
      expect((await bytesOf(engine, 'joined', { start: all.length - 1 }))!.toString()).toBe('9');
      expect((await bytesOf(engine, 'joined', { start: a.length - 2, end: a.length + 3 }))!).toEqual(all.subarray(a.length - 2, a.length + 4));
      expect((await bytesOf(engine, 'joined', { start: all.length - 3, end: all.length + 100 }))!.toString()).toBe('789');
      expect((await bytesOf(engine, 'joined', { suffix: 4 }))!.toString()).toBe('6789');
      const opened = await engine.openObject('joined', { range: { start: 5, end: 9 } });
      expect(opened).toMatchObject({ start: 5, end: 9, info: { size: all.length } });
      opened!.body.destroy();
      await expect(engine.openObject('joined', { range: { start: all.length } })).rejects.toBeInstanceOf(InvalidRangeError);
      await put(engine, 'empty', Buffer.alloc(0));
      await expect(engine.openObject('empty', { range: { start: 0 } })).rejects.toBeInstanceOf(InvalidRangeError);
      expect(await bytesOf(engine, 'empty')).toEqual(Buffer.alloc(0));
    });

    it('lists by UTF-8 byte order with prefix, after, cursor pages, delimiter and limit 1', async () => {
      const { engine } = await fresh();
      // JavaScript's (UTF-16) order puts U+1F600 before U+FFFD; UTF-8 byte order (S3's) puts it after.
      const names = ['a', 'a-', 'a/', 'a/b', 'a/b/c', 'a/c', 'a0', 'b/%2F/..', 'b/ space', 'é', '\uFFFD', '\u{1F600}', '/lead', 'z'.repeat(300)];
      for (const n of names) await put(engine, `bkt/${n}`, Buffer.from(n));
      await put(engine, 'other/x', Buffer.from('x'));
      const order = [...names].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y))).map((n) => `bkt/${n}`);
      expect(order.indexOf('bkt/\uFFFD')).toBeLessThan(order.indexOf('bkt/\u{1F600}'));
      const seen: string[] = [];
      let cursor: string | undefined;
      let pages = 0;
      do {
        const page = await engine.listObjects({ prefix: 'bkt/', limit: 3, ...(cursor ? { cursor } : {}) });
        seen.push(...page.objects.map((o) => o.name));
        cursor = page.next;
        pages++;
      } while (cursor);
      expect(seen).toEqual(order);
      expect(pages).toBe(Math.ceil(order.length / 3));
      expect((await engine.listObjects({ prefix: 'bkt/', after: 'bkt/a0' })).objects.map((o) => o.name)).toEqual(order.slice(order.indexOf('bkt/a0') + 1));
      const rolled = await engine.listObjects({ prefix: 'bkt/a', delimiter: '/' });
      expect([rolled.objects.map((o) => o.name), rolled.prefixes]).toEqual([['bkt/a', 'bkt/a-', 'bkt/a0'], ['bkt/a/']]);
      const tops: string[][] = [];
      cursor = undefined;
      do {
        const page = await engine.listObjects({ prefix: 'bkt/', delimiter: '/', limit: 2, ...(cursor ? { cursor } : {}) });
        tops.push([...page.objects.map((o) => o.name), ...page.prefixes]);
        cursor = page.next;
      } while (cursor);
      const byBytes = (x: string, y: string) => Buffer.compare(Buffer.from(x), Buffer.from(y));
      expect(tops.flat().sort(byBytes)).toEqual(['bkt//', 'bkt/a', 'bkt/a-', 'bkt/a/', 'bkt/a0', 'bkt/b/', `bkt/${'z'.repeat(300)}`, 'bkt/é', 'bkt/\uFFFD', 'bkt/\u{1F600}'].sort(byBytes));
      expect(tops.every((p) => p.length <= 2)).toBe(true);
      expect((await engine.listObjects({ prefix: 'bkt/', limit: 1 })).objects).toHaveLength(1);
      expect(await engine.listObjects({ prefix: 'nobucket/', limit: 1 })).toEqual({ objects: [], prefixes: [] });
      const [o] = (await engine.listObjects({ prefix: 'bkt/é' })).objects;
      expect(o).toMatchObject({ name: 'bkt/é', size: Buffer.byteLength('é'), etag: md5(Buffer.from('é')) });
      await expect(engine.listObjects({ limit: 0 })).rejects.toBeInstanceOf(InvalidArgumentError);
    });

    it('names of any UTF-8 up to 1,088 bytes; a longer or ill-formed one is refused', async () => {
      const { engine } = await fresh();
      for (const n of ['../x', '%2F..%2F', 'a//b', ' ', 'k'.repeat(1088), `${'b'.repeat(63)}/${'k/'.repeat(512)}`, '日本/語'.repeat(10)]) {
        await put(engine, n, Buffer.from(n));
        expect((await bytesOf(engine, n))!.toString()).toBe(n);
      }
      const staged = await engine.stageObject(Buffer.from('x'));
      for (const bad of ['', 'k'.repeat(1089), 'é'.repeat(545), 'a\uD800b']) {
        await expect(engine.commit({ objects: [{ name: bad, content: staged }] })).rejects.toBeInstanceOf(InvalidArgumentError);
      }
      await engine.discardStaged(staged);
    });

    it('a staged object that is discarded, aborted, cut off or too large leaves nothing', async () => {
      const { engine } = await fresh();
      const staged = await engine.stageObject(Buffer.alloc(1000, 1));
      await engine.discardStaged(staged);
      await expect(engine.commit({ objects: [{ name: 'x', content: staged }] })).rejects.toBeInstanceOf(InvalidArgumentError);
      const ac = new AbortController();
      const stalls = (async function* () {
        yield Buffer.alloc(MiB, 2);
        setTimeout(() => ac.abort(new Error('client went away')), 50);
        await new Promise(() => {}); // never sends the rest
      })();
      await expect(engine.stageObject(stalls, { signal: ac.signal })).rejects.toThrow('client went away');
      const cut = (async function* () {
        yield Buffer.alloc(MiB, 3);
        throw new Error('ECONNRESET');
      })();
      await expect(engine.stageObject(cut)).rejects.toThrow('ECONNRESET');
      await expect(engine.stageObject(objectChunks(2, 3 * MiB), { maxBytes: 2 * MiB })).rejects.toBeInstanceOf(ObjectTooLargeError);
      expect(await engine.listObjects()).toEqual({ objects: [], prefixes: [] });
      expect(await engine.statObject('x')).toBeUndefined();
    });

    it('a signal over a long upload holds one listener while it streams and none after, and no memory per chunk; an abort after 1,000 chunks leaves nothing', async () => {
      const { engine } = await fresh();
      const gc = collector();
      const heap = () => (gc(), process.memoryUsage().heapUsed);
      const listening: number[] = [];
      let grown = 0;
      const body = async function* (signal: AbortSignal, count: number, then?: () => Promise<void>) {
        let from = 0;
        for (let i = 0; i < count; i++) {
          if (i % 1000 === 999) listening.push(getEventListeners(signal, 'abort').length);
          if (i % 100 === 0) await new Promise((r) => setImmediate(r));
          if (i === 1000) from = heap();
          yield Buffer.alloc(1024, i);
        }
        if (count > 1000) grown = heap() - from;
        await then?.();
      };
      // 20,000 chunks: a promise or reaction kept per chunk would be megabytes.
      const ac = new AbortController();
      const staged = await engine.stageObject(body(ac.signal, 20_000), { signal: ac.signal });
      expect(staged.size).toBe(20_000 * 1024);
      expect(listening).toEqual(Array(20).fill(1));
      expect(getEventListeners(ac.signal, 'abort')).toHaveLength(0);
      expect(grown).toBeLessThan(1024 * 1024);
      await engine.discardStaged(staged);
      const cut = new AbortController();
      const stalls = body(cut.signal, 1000, () => {
        setTimeout(() => cut.abort(new Error('client went away')), 20);
        return new Promise(() => {}); // never sends the rest
      });
      await expect(engine.stageObject(stalls, { signal: cut.signal })).rejects.toThrow('client went away');
      expect(getEventListeners(cut.signal, 'abort')).toHaveLength(0);
      expect(await engine.listObjects()).toEqual({ objects: [], prefixes: [] });
    });

    it('a unit whose precondition fails publishes neither its objects nor its appends; one that holds publishes both', async () => {
      const { engine } = await fresh();
      await engine.createStream('events', { partitions: 2 });
      const first = await engine.stageObject(Buffer.from('v1'));
      const done = await engine.commit({ objects: [{ name: 'k', content: first, expectedVersion: 0 }], announce: announce('events') });
      const v1 = (done.objects[0] as Extract<ObjectWritten, { deleted: false }>).info.version;
      expect(await events(engine, 'events')).toEqual([{ name: 'k', deleted: false, version: v1 }]);
      expect(done.appends).toHaveLength(1);
      const second = await engine.stageObject(Buffer.from('v2'));
      for (const bad of [{ expectedVersion: 0 }, { expectedVersion: v1 + 1 }]) {
        await expect(engine.commit({ objects: [{ name: 'k', content: second, ...bad }, { name: 'other', content: null }], appends: [{ stream: 'events', records: [{ value: Buffer.from('{}') }] }], announce: announce('events') }))
          .rejects.toBeInstanceOf(ConflictError);
      }
      const fence = engine.commit({ fences: [{ key: 'lease', version: 3 }], objects: [{ name: 'k', content: second }], announce: announce('events') });
      await expect(fence).rejects.toBeInstanceOf(ConflictError);
      expect((await bytesOf(engine, 'k'))!.toString()).toBe('v1');
      expect(await events(engine, 'events')).toHaveLength(1);
      const ok = await engine.commit({ objects: [{ name: 'k', content: second, expectedVersion: v1 }], announce: announce('events') });
      const v2 = (ok.objects[0] as Extract<ObjectWritten, { deleted: false }>).info.version;
      expect(v2).toBeGreaterThan(v1);
      const del = await engine.commit({ objects: [{ name: 'k', content: null, expectedVersion: v2 }, { name: 'never', content: null }], announce: announce('events') });
      expect(del.objects).toEqual([{ name: 'k', deleted: true, existed: true, version: expect.any(Number) }, { name: 'never', deleted: true, existed: false, version: 0 }]);
      const v3 = (del.objects[0] as { version: number }).version;
      expect(v3).toBeGreaterThan(v2);
      const again = await put(engine, 'k', Buffer.from('v4'));
      expect(again.info.version).toBeGreaterThan(v3);
      expect((await events(engine, 'events')).map((e) => [e.name, e.deleted, e.version])).toEqual(expect.arrayContaining([['k', false, v1], ['k', false, v2], ['k', true, v3]]));
    });

    it('completes a multipart upload from parts committed as objects, by reference, deleting the parts in the same unit', async () => {
      const { engine } = await fresh();
      const parts = [Buffer.alloc(5 * MiB, 1), Buffer.alloc(5 * MiB, 2), Buffer.from('tail')];
      const written = [];
      for (const [i, p] of parts.entries()) written.push(await put(engine, `.uploads/up1/${i + 1}`, p));
      expect(written.map((w) => w.info.md5)).toEqual(parts.map(md5));
      expect((await engine.listObjects({ prefix: '.uploads/up1/' })).objects.map((o) => o.size)).toEqual(parts.map((p) => p.length));
      const etag = `${md5(Buffer.concat(parts.map((p) => Buffer.from(md5(p), 'hex'))))}-3`;
      const stale = engine.commit({ objects: [{ name: 'bkt/big', content: [{ object: '.uploads/up1/1', version: written[0]!.info.version + 1 }] }] });
      await expect(stale).rejects.toBeInstanceOf(ConflictError);
      const done = await engine.commit({
        objects: [
          { name: 'bkt/big', content: written.map((w) => ({ object: w.name, version: w.info.version })), etag, metadata: { 'content-type': 'application/octet-stream' } },
          ...written.map((w) => ({ name: w.name, content: null })),
        ],
      });
      expect(done.objects[0]).toMatchObject({ deleted: false, info: { size: 10 * MiB + 4, etag } });
      expect((done.objects[0] as Extract<ObjectWritten, { deleted: false }>).info.md5).toBeUndefined();
      expect(await engine.listObjects({ prefix: '.uploads/' })).toEqual({ objects: [], prefixes: [] });
      expect(md5((await bytesOf(engine, 'bkt/big'))!)).toBe(md5(Buffer.concat(parts)));
      const copy = await engine.commit({ objects: [{ name: 'bkt/copy', content: [{ object: 'bkt/big' }], etag }] });
      expect(copy.objects[0]).toMatchObject({ info: { size: 10 * MiB + 4 } });
      await engine.commit({ objects: [{ name: 'bkt/big', content: null }] });
      expect(md5((await bytesOf(engine, 'bkt/copy'))!)).toBe(md5(Buffer.concat(parts)));
    });

    it('keeps reading an object that is deleted while it streams', async () => {
      const { engine } = await fresh();
      await put(engine, 'r', objectChunks(5, 6 * MiB));
      const opened = (await engine.openObject('r'))!;
      await engine.commit({ objects: [{ name: 'r', content: null }] });
      expect(await md5Of(opened.body)).toEqual(await md5Of(objectChunks(5, 6 * MiB)));
      expect(await engine.statObject('r')).toBeUndefined();
    });

    it('keeps objects through close and reopen; blobs are objects', async () => {
      const { engine, config } = await fresh();
      await put(engine, 'kept', Buffer.from('kept'), { metadata: { a: '1' } });
      await engine.putBlob('archive/2026/11/a.ndjson', Buffer.from('{}\n'));
      expect((await engine.listObjects({ prefix: 'archive/' })).objects.map((o) => o.name)).toEqual(['archive/2026/11/a.ndjson']);
      await engine.close();
      const again = await harness.reopen(config);
      keep(again);
      expect(await again.statObject('kept')).toMatchObject({ size: 4, metadata: { a: '1' } });
      expect((await bytesOf(again, 'kept'))!.toString()).toBe('kept');
      expect(Buffer.from((await again.getBlob('archive/2026/11/a.ndjson'))!).toString()).toBe('{}\n');
    });

    it('after kill -9 of a writer mid-stream and right after commits, an object is there whole iff its announcement is', async () => {
      const { engine, config } = await fresh();
      await engine.createStream('events', { partitions: 1 });
      await engine.close();
      const acked: string[] = [];
      acked.push(...(await killObjectWriter(config, 0, 'streaming', 3)));
      acked.push(...(await killObjectWriter(config, 1, 'ack', 2)));
      // Hours later by the engine's clock: whatever a dead writer left is old enough to be recovered or swept.
      const reader = await harness.reopen(config, new ManualClock(Date.now() + 2 * 3600_000));
      keep(reader);
      const announced = await events(reader, 'events');
      const objects = [];
      for (let cursor: string | undefined, first = true; first || cursor; first = false) {
        const page = await reader.listObjects({ prefix: 'crash/', ...(cursor ? { cursor } : {}) });
        objects.push(...page.objects);
        cursor = page.next;
      }
      expect(announced.map((e) => [e.name, e.version]).sort()).toEqual(objects.map((o) => [o.name, o.version]).sort());
      for (const name of acked) expect(objects.map((o) => o.name)).toContain(name);
      for (const o of objects) {
        const seed = Number(o.metadata.seed);
        expect([o.name, await md5Of((await reader.openObject(o.name))!.body)]).toEqual([o.name, await md5Of(objectChunks(seed, OBJECT_WRITER_BYTES))]);
      }
    }, 120_000);

    it('a full disk fails staging with StorageFullError and leaves nothing; space comes back', async () => {
      const small = await harness.createSmall(24 * MiB);
      keep(small.engine);
      const engine = small.engine;
      await expect(engine.stageObject(objectChunks(3, 48 * MiB))).rejects.toBeInstanceOf(StorageFullError);
      expect(await engine.listObjects()).toEqual({ objects: [], prefixes: [] });
      const staged: StagedObject = await engine.stageObject(objectChunks(4, 2 * MiB));
      await engine.commit({ objects: [{ name: 'fits', content: staged }] });
      expect(await md5Of((await engine.openObject('fits'))!.body)).toEqual(await md5Of(objectChunks(4, 2 * MiB)));
    }, 60_000);
  });
}

export const OBJECT_WRITER_BYTES = 3 * MiB + 5;

/** Runs the object writer as a real process and kill -9s it once it printed `<what> <n>`; returns the names it acknowledged. */
async function killObjectWriter(config: EngineConfig, run: number, what: 'streaming' | 'ack', n: number): Promise<string[]> {
  const child = spawn(process.execPath, ['--import', 'tsx', new URL('./fixtures/object-writer.ts', import.meta.url).pathname, JSON.stringify(config), String(run), String(OBJECT_WRITER_BYTES)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const acked: string[] = [];
  const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
  for await (const line of createInterface({ input: child.stdout })) {
    const [kind, at] = line.split(' ');
    if (kind === 'ack') acked.push(`crash/${run}/${at}`);
    if (kind === what && Number(at) === n) child.kill('SIGKILL');
  }
  expect(await exited).toBe('SIGKILL');
  return acked;
}

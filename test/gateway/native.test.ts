// The native HTTP API: streams admin, appends in every body format, reads, and every bad input.
import { gzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { partitionOfKey } from '../../src/engine/partitioner.js';
import { MAX_JSON_DEPTH } from '../../src/json-depth.js';
import { ENGINES } from '../support/engines.js';
import { get, post, startGateway, type TestGateway } from '../support/gateway.js';

describe.each(ENGINES)('on the $name engine', ({ factory: engine }) => {
  let t: TestGateway;
  beforeEach(async () => {
    t = await startGateway({}, { engine });
    await post(`${t.url}/v1/streams`, { name: 'events', partitions: 4 });
  });
  afterEach(() => t.close());

  const recordsOf = async (stream: string, partitions = 4) => {
    const out: unknown[] = [];
    for (let p = 0; p < partitions; p++) out.push(...(await get(`${t.url}/v1/streams/${stream}/records?partition=${p}&limit=10000&from=earliest`)).body.records.map((r: { value: unknown }) => r.value));
    return out;
  };

  describe('streams admin', () => {
    it('creates a stream with a retention text, lists, describes and deletes it', async () => {
      const created = await post(`${t.url}/v1/streams`, { name: 'clicks', partitions: 2, retention: '24h', partitionKeyField: 'adId' });
      expect(created.status).toBe(201);
      expect(created.body).toMatchObject({ name: 'clicks', partitions: 2, retentionMs: 86_400_000, partitionKeyField: 'adId' });
      expect((await get(`${t.url}/v1/streams`)).body.streams.map((s: { name: string }) => s.name)).toEqual(['clicks', 'events']);
      const described = await get(`${t.url}/v1/streams/clicks`);
      expect(described.body.partitionInfo).toHaveLength(2);
      expect((await fetch(`${t.url}/v1/streams/clicks`, { method: 'DELETE' })).status).toBe(204);
      expect((await get(`${t.url}/v1/streams/clicks`)).body).toEqual({ error: { code: 'StreamNotFound', message: "stream 'clicks' does not exist", stream: 'clicks' } });
    });

    it('answers 409 for an existing stream and 400 naming the bad field', async () => {
      expect((await post(`${t.url}/v1/streams`, { name: 'events' })).status).toBe(409);
      expect((await post(`${t.url}/v1/streams`, { name: 'x', partitions: 0 })).body.error).toEqual({
        code: 'InvalidArgument', message: 'partitions must be an integer from 1 to 1024, got 0', field: 'partitions',
      });
      expect((await post(`${t.url}/v1/streams`, { name: 'x', retention: 'forever' })).body.error.field).toBe('retention');
      expect((await post(`${t.url}/v1/streams`, { name: 'x', color: 'red' })).body.error.message).toBe("unknown field 'color'");
      expect((await post(`${t.url}/v1/streams`, { name: 'bad name' })).status).toBe(400);
      for (const name of ['.', '..']) expect((await post(`${t.url}/v1/streams`, { name })).body.error.code).toBe('InvalidArgument');
    });
  });

  describe('append', () => {
    it('stores a JSON array and reports partition and offset per record', async () => {
      const res = await post(`${t.url}/v1/streams/events/records?key=user-1`, [{ n: 1 }, { n: 2 }, { n: 3 }]);
      const p = partitionOfKey('user-1', 4);
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ stored: 3, duplicates: 0, failed: 0 });
      const offsets = res.body.results.map((r: { partition: number; offset: number }) => (expect(r.partition).toBe(p), r.offset));
      expect([...offsets].sort((a: number, b: number) => a - b)).toEqual(offsets);
      const read = await get(`${t.url}/v1/streams/events/records?partition=${p}`);
      expect(read.body.records.map((r: { value: unknown; key: string; offset: number }) => [r.key, r.value, r.offset])).toEqual([
        ['user-1', { n: 1 }, offsets[0]], ['user-1', { n: 2 }, offsets[1]], ['user-1', { n: 3 }, offsets[2]],
      ]);
      expect(read.body.next).toBeGreaterThan(offsets[2]);
    });

    it('stores a single JSON object, NDJSON with CRLF and blank lines, and gzip bodies', async () => {
      expect((await post(`${t.url}/v1/streams/events/records`, { one: 1 })).body.stored).toBe(1);
      const nd = await post(`${t.url}/v1/streams/events/records`, '{"two":2}\r\n\n{"three":3}\n', { 'content-type': 'application/x-ndjson' });
      expect(nd.body.stored).toBe(2);
      const gz = await post(`${t.url}/v1/streams/events/records`, gzipSync(JSON.stringify([{ four: 4 }])), { 'content-encoding': 'gzip' });
      expect(gz.body.stored).toBe(1);
      expect((await recordsOf('events')).sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)))).toEqual([{ four: 4 }, { one: 1 }, { three: 3 }, { two: 2 }]);
    });

    it('takes the partition key from the field the stream names, and per record from envelopes', async () => {
      await post(`${t.url}/v1/streams`, { name: 'ads', partitions: 4, partitionKeyField: 'adId' });
      const byField = await post(`${t.url}/v1/streams/ads/records`, [{ adId: 'a1' }, { adId: 'a2' }, { adId: 7 }]);
      expect(byField.body.results.map((r: { partition: number }) => r.partition)).toEqual(['a1', 'a2', '7'].map((k) => partitionOfKey(k, 4)));
      const env = await post(`${t.url}/v1/streams/events/records?format=envelope`, [{ key: 'k1', value: { x: 1 } }, { key: 'k2', value: 'str' }]);
      expect(env.body.results.map((r: { partition: number }) => r.partition)).toEqual([partitionOfKey('k1', 4), partitionOfKey('k2', 4)]);
    });

    it('stores a retried request once when it carries the same Idempotency-Key', async () => {
      const body = [{ e: 1 }, { e: 2 }];
      const first = await post(`${t.url}/v1/streams/events/records`, body, { 'idempotency-key': 'req-42' });
      const retry = await post(`${t.url}/v1/streams/events/records`, body, { 'idempotency-key': 'req-42' });
      expect(first.body.stored).toBe(2);
      expect(retry.body).toEqual({ stored: 0, duplicates: 2, failed: 0, results: first.body.results.map((r: object) => ({ ...r, duplicate: true })) });
      const other = await post(`${t.url}/v1/streams/events/records`, body, { 'idempotency-key': 'req-43' });
      expect(other.body.stored).toBe(2);
      expect(await recordsOf('events')).toHaveLength(4);
    });

    it('de-duplicates by the id of an envelope across requests', async () => {
      await post(`${t.url}/v1/streams/events/records?format=envelope`, [{ id: 'evt-1', value: 1 }]);
      const again = await post(`${t.url}/v1/streams/events/records?format=envelope`, [{ id: 'evt-1', value: 1 }, { id: 'evt-2', value: 2 }]);
      expect(again.body).toMatchObject({ stored: 1, duplicates: 1 });
      expect(await recordsOf('events')).toHaveLength(2);
    });
  });

  describe('bad input: precise errors, nothing stored that is not reported', () => {
    it('malformed JSON says the line and column, and stores nothing', async () => {
      const res = await post(`${t.url}/v1/streams/events/records`, '[{"a":1},\n{"b" 2}]');
      expect(res.status).toBe(400);
      expect(res.body.error).toEqual({ code: 'MalformedJson', message: 'malformed JSON at line 2, column 6: ColonExpected', line: 2, column: 6 });
      const nd = await post(`${t.url}/v1/streams/events/records`, '{"a":1}\n{"a":2}\n{"a":\n', { 'content-type': 'application/x-ndjson' });
      expect(nd.body.error).toMatchObject({ code: 'MalformedJson', line: 3 });
      expect(nd.body.error.message).toMatch(/^malformed JSON on line 3, column \d+: /);
      expect(await recordsOf('events')).toEqual([]);
    });

    it('a wrong content type is 415, an unknown encoding 415, a broken gzip 400', async () => {
      expect((await post(`${t.url}/v1/streams/events/records`, 'a,b', { 'content-type': 'text/csv' })).body.error).toEqual({
        code: 'UnsupportedMediaType', message: "content-type 'text/csv' is not supported; use application/json or application/x-ndjson",
      });
      expect((await post(`${t.url}/v1/streams/events/records`, '[1]', { 'content-encoding': 'br' })).status).toBe(415);
      expect((await post(`${t.url}/v1/streams/events/records`, 'not gzip', { 'content-encoding': 'gzip' })).body.error.code).toBe('BadEncoding');
      expect(await recordsOf('events')).toEqual([]);
    });

    it('an empty batch is 400, an unknown stream 404, an unknown route 404', async () => {
      expect((await post(`${t.url}/v1/streams/events/records`, '[]')).body.error).toEqual({ code: 'EmptyBatch', message: 'the request holds no records' });
      expect((await post(`${t.url}/v1/streams/events/records`, '\n\n', { 'content-type': 'application/x-ndjson' })).status).toBe(400);
      for (const empty of ['', ' \n ']) expect((await post(`${t.url}/v1/streams/events/records`, empty)).body.error.code).toBe('EmptyBatch');
      expect((await post(`${t.url}/v1/streams/nope/records`, [1])).status).toBe(404);
      expect((await get(`${t.url}/v2/whatever`)).status).toBe(404);
    });

    it('an oversized record fails alone; the others are stored and reported', async () => {
      await t.close();
      t = await startGateway({ maxRecordBytes: 100 }, { engine });
      await post(`${t.url}/v1/streams`, { name: 'events', partitions: 1 });
      const res = await post(`${t.url}/v1/streams/events/records`, [{ a: 1 }, { big: 'x'.repeat(200) }, { a: 3 }]);
      expect(res.status).toBe(200);
      expect(res.body).toEqual({
        stored: 2, duplicates: 0, failed: 1,
        results: [
          { partition: 0, offset: expect.any(Number) },
          { error: { code: 'RecordTooLarge', message: 'record is 210 bytes; the limit is 100' } },
          { partition: 0, offset: expect.any(Number) },
        ],
      });
      const all = await post(`${t.url}/v1/streams/events/records`, [{ big: 'x'.repeat(200) }]);
      expect(all.status).toBe(413);
      expect(await recordsOf('events', 1)).toEqual([{ a: 1 }, { a: 3 }]);
    });

    it('a bad partition key fails its record with InvalidPartitionKey', async () => {
      const res = await post(`${t.url}/v1/streams/events/records?format=envelope`, [{ key: '', value: 1 }, { key: 'k'.repeat(257), value: 2 }, { key: 'ok', value: 3 }]);
      expect(res.body.failed).toBe(2);
      expect(res.body.results[0]).toEqual({ error: { code: 'InvalidPartitionKey', message: 'partition key must be 1-256 characters, got 0' } });
      expect(res.body.results[1].error.code).toBe('InvalidPartitionKey');
      expect(await recordsOf('events')).toEqual([3]);
    });

    it('a malformed envelope rejects the request and names the record', async () => {
      const res = await post(`${t.url}/v1/streams/events/records?format=envelope`, [{ value: 1 }, { vale: 2 }]);
      expect(res.body.error).toEqual({ code: 'InvalidEnvelope', message: "record 1: unknown envelope field 'vale'", index: 1 });
      expect(await recordsOf('events')).toEqual([]);
    });

    it('a record nested deeper than MAX_JSON_DEPTH fails alone with NestingTooDeep (JSON, NDJSON, envelope); the others are stored', async () => {
      const nest = (d: number) => '['.repeat(d) + ']'.repeat(d);
      const deepest = nest(MAX_JSON_DEPTH); // the limit itself is fine
      const tooDeep = { error: { code: 'NestingTooDeep', message: `record nests arrays and objects deeper than ${MAX_JSON_DEPTH} levels` } };
      // 5,000 levels overflow JSON.stringify's stack; 600 do not but are past the limit.
      const json = await post(`${t.url}/v1/streams/events/records?key=k`, `[1, ${nest(5_000)}, ${nest(MAX_JSON_DEPTH + 1)}, ${deepest}, 2]`);
      expect(json.status).toBe(200);
      expect(json.body).toMatchObject({ stored: 3, failed: 2 });
      expect(json.body.results[1]).toEqual(tooDeep);
      expect(json.body.results[2]).toEqual(tooDeep);
      const nd = await post(`${t.url}/v1/streams/events/records?key=k`, `3\n${nest(7_000)}\n"${'['.repeat(2000)}"\n`, { 'content-type': 'application/x-ndjson' });
      expect(nd.body).toMatchObject({ stored: 2, failed: 1 });
      expect(nd.body.results[1]).toEqual(tooDeep);
      const env = await post(`${t.url}/v1/streams/events/records?format=envelope`, `[{"key":"k","value":${nest(4_000)}}]`);
      expect(env.status).toBe(400);
      expect(env.body.results[0]).toEqual(tooDeep);
      const all = await recordsOf('events');
      expect(all).toHaveLength(5);
      expect(all).toContainEqual('['.repeat(2000)); // brackets inside a string do not nest
      expect(JSON.stringify(all)).toContain(deepest);
    });

    it('malformed JSON nested 100,000 deep is MalformedJson, not a crash', async () => {
      const res = await post(`${t.url}/v1/streams/events/records`, '['.repeat(100_000));
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('MalformedJson');
      const nd = await post(`${t.url}/v1/streams/events/records`, `1\n${'{"a":'.repeat(50_000)}\n`, { 'content-type': 'application/x-ndjson' });
      expect(nd.body.error).toMatchObject({ code: 'MalformedJson', line: 2 });
      expect(await recordsOf('events')).toEqual([]);
    });

    it('a reader never fails on a stored record: raw data nested too deep is returned as base64', async () => {
      const deep = Buffer.from('['.repeat(8_000) + ']'.repeat(8_000));
      const notUtf8 = Buffer.from([0x22, 0xff, 0x22]); // "\xff": JSON only if decoded lossily
      await t.engine.append('events', [{ partition: 0, value: deep }, { partition: 0, value: notUtf8 }, { partition: 0, value: Buffer.from('{"ok":1}') }]);
      const page = await get(`${t.url}/v1/streams/events/records?partition=0`);
      expect(page.status).toBe(200);
      expect(page.body.records.map((r: { value?: unknown; data?: string }) => r.value ?? r.data)).toEqual([deep.toString('base64'), notUtf8.toString('base64'), { ok: 1 }]);
    });

    it('a body that is not UTF-8 is 400 InvalidUtf8, naming the NDJSON line, and stores nothing', async () => {
      const bad = Buffer.concat([Buffer.from('{"a":"'), Buffer.from([0xc3, 0x28]), Buffer.from('"}')]);
      const json = await post(`${t.url}/v1/streams/events/records`, bad);
      expect(json.status).toBe(400);
      expect(json.body.error).toEqual({ code: 'InvalidUtf8', message: 'the body is not valid UTF-8 (JSON text must be UTF-8)' });
      const nd = await post(`${t.url}/v1/streams/events/records`, Buffer.concat([Buffer.from('{"a":1}\n{"b":2}\n'), bad]), { 'content-type': 'application/x-ndjson' });
      expect(nd.body.error).toEqual({ code: 'InvalidUtf8', message: 'line 3 is not valid UTF-8 (JSON text must be UTF-8)', line: 3 });
      expect((await post(`${t.url}/v1/streams/events/records`, '{"é":"ü"}')).body.stored).toBe(1);
      expect(await recordsOf('events')).toEqual([{ é: 'ü' }]);
    });

    it('an envelope hashKey that is not a 128-bit decimal rejects the request as InvalidEnvelope', async () => {
      for (const hashKey of ['abc', '-1', '', (1n << 128n).toString(), '1.5']) {
        const res = await post(`${t.url}/v1/streams/events/records?format=envelope`, [{ value: 1 }, { value: 2, hashKey }]);
        expect(res.status).toBe(400);
        expect(res.body.error).toEqual({ code: 'InvalidEnvelope', message: "record 1: 'hashKey' must be a decimal integer from 0 to 2^128-1", index: 1 });
      }
      const ok = await post(`${t.url}/v1/streams/events/records?format=envelope`, [{ value: 1, hashKey: ((1n << 128n) - 1n).toString() }]);
      expect(ok.body.results[0].partition).toBe(3);
      expect(await recordsOf('events')).toEqual([1]);
    });

    it('a body over the limit is 413 by its declared length and by its actual size, gzip included', async () => {
      await t.close();
      t = await startGateway({ maxBodyBytes: 1000 }, { engine });
      await post(`${t.url}/v1/streams`, { name: 'events', partitions: 1 });
      const declared = await post(`${t.url}/v1/streams/events/records`, JSON.stringify([{ x: 'y'.repeat(2000) }]));
      expect(declared.status).toBe(413);
      expect(declared.body.error).toEqual({ code: 'PayloadTooLarge', message: 'the request body is larger than 1000 bytes', limit: 1000 });
      const bomb = gzipSync(JSON.stringify([{ x: '0'.repeat(100_000) }]));
      expect(bomb.length).toBeLessThan(1000);
      const zipped = await post(`${t.url}/v1/streams/events/records`, bomb, { 'content-encoding': 'gzip' });
      expect(zipped.body.error.message).toBe('the decompressed request body is larger than 1000 bytes');
      expect(await recordsOf('events', 1)).toEqual([]);
      expect(t.gw.admission.stats.inflightBytes).toBe(0);
    });

    it('too many records in one request is 413', async () => {
      await t.close();
      t = await startGateway({ maxRecordsPerRequest: 3 }, { engine });
      await post(`${t.url}/v1/streams`, { name: 'events', partitions: 1 });
      expect((await post(`${t.url}/v1/streams/events/records`, [1, 2, 3, 4])).body.error.code).toBe('TooManyRecords');
      expect((await post(`${t.url}/v1/streams/events/records`, [1, 2, 3])).body.stored).toBe(3);
    });

    it('a read with bad parameters is 400 naming the parameter', async () => {
      expect((await get(`${t.url}/v1/streams/events/records`)).body.error.field).toBe('partition');
      expect((await get(`${t.url}/v1/streams/events/records?partition=9`)).body.error.message).toBe("stream 'events' has no partition 9");
      expect((await get(`${t.url}/v1/streams/events/records?partition=0&from=soon`)).body.error.field).toBe('from');
      expect((await get(`${t.url}/v1/streams/events/records?partition=0&limit=0`)).body.error.field).toBe('limit');
      expect((await get(`${t.url}/v1/streams/events/records?partition=0&since=yesterday`)).body.error.field).toBe('since');
    });
  });

  describe('reads', () => {
    it('reads from an offset, latest and a time, with a limit', async () => {
      const put = await post(`${t.url}/v1/streams/events/records?key=k`, [1, 2, 3, 4, 5]);
      const offsets = put.body.results.map((r: { offset: number }) => r.offset);
      const p = partitionOfKey('k', 4);
      const page = await get(`${t.url}/v1/streams/events/records?partition=${p}&from=${offsets[1]}&limit=2`);
      expect(page.body.records.map((r: { value: number }) => r.value)).toEqual([2, 3]);
      expect(page.body.next).toBe(offsets[3]);
      const latest = (await get(`${t.url}/v1/streams/events/records?partition=${p}&from=latest`)).body;
      expect(latest.records).toEqual([]);
      expect(latest.next).toBeGreaterThan(offsets[4]);
      const since = await get(`${t.url}/v1/streams/events/records?partition=${p}&since=${new Date(Date.now() - 60_000).toISOString()}`);
      expect(since.body.records).toHaveLength(5);
    });
  });
});

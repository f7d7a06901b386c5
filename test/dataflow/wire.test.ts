import { describe, expect, it } from 'vitest';
import { decodeRecords, encodeTexts } from '../../src/engine/batch-codec.js';
import type { StoredRecord } from '../../src/engine/engine.js';
import { pack, rawRecord, unpackRows, unpackShuffle, encode, type ShuffleRecord } from '../../src/dataflow/runtime/wire.js';

describe('internal stream messages (decision 008)', () => {
  const records = (n: number, pad = ''): ShuffleRecord[] => Array.from({ length: n }, (_, i) => [0, 0, `k${i}`, i, 's', { i, text: `${pad}é€😀` }]);

  it('packs records into messages under the byte limit that unpack to the same records, in order', () => {
    for (const [n, pad, max] of [[1, '', 100], [3, 'x'.repeat(50), 200], [1000, '', 4096], [700, 'y'.repeat(300), 20_000]] as const) {
      const items = records(n, pad);
      const messages = pack(items, max);
      for (const m of messages) if (unpackShuffle(m).length > 1) expect(m.length).toBeLessThanOrEqual(max);
      expect(messages.flatMap((m) => unpackShuffle(m))).toEqual(items);
    }
  });

  it('sends a record bigger than a message alone rather than failing', () => {
    const items = [...records(2), [0, 0, 'big', 1, null, 'z'.repeat(5000)] as ShuffleRecord, ...records(2)];
    const messages = pack(items, 1000);
    expect(messages.map((m) => unpackShuffle(m).length)).toContain(1);
    expect(messages.flatMap((m) => unpackShuffle(m))).toEqual(items);
  });

  it('still reads messages written before 008: one shuffle record or one table row each', () => {
    expect(unpackShuffle(encode([2, 's.a.0', 5, 0]))).toEqual([[2, 's.a.0', 5, 0]]);
    expect(unpackRows(encode([['k', 1], { n: 1 }]))).toEqual([[['k', 1], { n: 1 }]]);
    expect(unpackRows(encode([[['k', 1], { n: 1 }]]))).toEqual([[['k', 1], { n: 1 }]]);
    expect(unpackRows(encode([[['k', 1], { n: 1 }], [['k', 2], { n: 2 }]]))).toEqual([[['k', 1], { n: 1 }], [['k', 2], { n: 2 }]]);
  });

  it('refuses a message that is not what Sluice writes, saying why', () => {
    const b = (text: string) => Buffer.from(text);
    expect(() => unpackShuffle(b('{x'))).toThrow('not JSON');
    expect(() => unpackShuffle(b('"text"'))).toThrow('not an array of shuffle records');
    expect(() => unpackShuffle(b('[0,1]'))).toThrow('not a shuffle record');
    expect(() => unpackShuffle(b('[[2,"p",5,0],[0,0,{},1,null,1]]'))).toThrow('item 1 is not a shuffle record'); // an object key
    expect(() => unpackShuffle(b('[[1,"k",0,"end",{}]]'))).toThrow('item 0 is not a shuffle record');
    expect(() => unpackRows(b('{"a":1}'))).toThrow('not an array of table rows');
    expect(() => unpackRows(b('[[["k"],{"n":1}],[["k"],[1]]]'))).toThrow('item 1 is not a table row [key columns, row object] or a deletion [key columns, row object, 1]');
    expect(() => unpackRows(b('[[["k"],{"n":1},2]]'))).toThrow('item 0 is not a table row');
    expect(() => unpackRows(b('[[["k"],{"n":1},1,1]]'))).toThrow('item 0 is not a table row');
    expect(() => unpackRows(b('[[["k"],null,1]]'))).toThrow('item 0 is not a table row');
    expect(unpackRows(b('[]'))).toEqual([]);
  });

  it('reads a deletion: a row that no longer holds, with a 1 after it', () => {
    expect(unpackRows(encode([[['k', 0], { n: 1 }, 1], [['k', 5], { n: 2 }]]))).toEqual([[['k', 0], { n: 1 }, 1], [['k', 5], { n: 2 }]]);
  });

  it('packs source records as the text they were read as, among other records, under the limit (decision 011)', () => {
    // Raw texts as a source stream may hold them: spaces, escapes, multi-byte characters, numbers JSON writes differently.
    const texts = ['{ "id" : 1, "name": "é€😀" }', '[1, 2.50, 1e3]', '"a\\"b"', '  null ', '{"nested":{"x":[{}]}}'];
    const items: unknown[] = [];
    const expected: ShuffleRecord[] = [];
    for (let i = 0; i < 300; i++) {
      if (i % 7 === 3) {
        items.push([2, `s.a.${i}`, i, 0]);
        expected.push([2, `s.a.${i}`, i, 0]);
        continue;
      }
      // Heads written digit by digit (whole numbers from 0) and as text (negative, fractional, null stream, string keys).
      const keys = [i, `k€"${i}`, -i, i + 0.5, 0, 2 ** 53 - 1 - i];
      const times = [1000 + i, 1_767_225_600_000 + i, -5 - i, i + 0.25, 0];
      const [port, key, t, stream, text] = [i % 3, keys[i % keys.length]!, times[i % times.length]!, i % 4 === 0 ? null : i % 4, texts[i % texts.length]!];
      items.push(rawRecord(port, key, t, stream, Buffer.from(text)));
      expected.push([0, port, key, t, stream, JSON.parse(text)]);
    }
    for (const max of [64, 1000, 100_000]) {
      const messages = pack(items, max);
      for (const m of messages) if (unpackShuffle(m).length > 1) expect(m.length).toBeLessThanOrEqual(max);
      expect(messages.flatMap((m) => unpackShuffle(m))).toEqual(expected);
    }
  });

  it('encodes keyless values as stored batches of at most the given bytes, each value its own record', () => {
    const values = [{ a: 'é€😀' }, 1, 'x', null, { b: 'y'.repeat(100) }];
    for (const max of [10, 40, 1000]) {
      const batches = encodeTexts(values.map((v) => JSON.stringify(v)), 3, max);
      for (const b of batches) if (b.count > 1) expect(b.payload.length).toBeLessThanOrEqual(max);
      const out: StoredRecord[] = [];
      for (const b of batches) decodeRecords(b.payload, 0, b.count, b.partition, 0, 0, out);
      expect(out.map((r) => [r.partition, r.key, JSON.parse(Buffer.from(r.value).toString())])).toEqual(values.map((v) => [3, undefined, v]));
    }
  });
});

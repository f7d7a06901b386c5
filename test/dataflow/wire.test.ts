import { describe, expect, it } from 'vitest';
import { pack, unpackRows, unpackShuffle, encode, encodeEach, type ShuffleRecord } from '../../src/dataflow/runtime/wire.js';

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
    expect(() => unpackRows(b('[[["k"],{"n":1}],[["k"],[1]]]'))).toThrow('item 1 is not a table row [key columns, row object]');
    expect(unpackRows(b('[]'))).toEqual([]);
  });

  it('encodes each value as its own JSON text', () => {
    const values = [{ a: 'é€😀' }, 1, 'x', null];
    expect(encodeEach(values).map((b) => JSON.parse(b.toString()))).toEqual(values);
  });
});

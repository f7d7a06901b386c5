import { describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { hashPartitionOfKey, hashRangeOf, parseHashKey, partitionOfHash, partitionOfKey } from '../../src/engine/partitioner.js';

describe('Kinesis hash-key partitioning', () => {
  it('gives partition ranges that tile the hash space as Kinesis shards do', () => {
    expect(hashRangeOf(0, 3)).toEqual({ start: '0', end: '113427455640312821154458202477256070484' });
    expect(hashRangeOf(2, 3)).toEqual({ start: '226854911280625642308916404954512140970', end: '340282366920938463463374607431768211455' });
    for (const n of [1, 2, 3, 7, 1024]) {
      for (let p = 0; p < n; p += Math.max(1, Math.floor(n / 5))) {
        const { start, end } = hashRangeOf(p, n);
        expect([partitionOfHash(BigInt(start), n), partitionOfHash(BigInt(end), n)]).toEqual([p, p]);
        if (p > 0) expect(partitionOfHash(BigInt(start) - 1n, n)).toBe(p - 1);
      }
    }
  });

  it('maps a key by the MD5 of its text, the fast path agreeing with the exact one', () => {
    for (let i = 0; i < 2000; i++) {
      const key = `key-${i}`;
      const exact = BigInt('0x' + createHash('md5').update(key).digest('hex'));
      for (const n of [1, 3, 4, 17, 1000]) {
        expect(hashPartitionOfKey(key, n)).toBe(partitionOfHash(exact, n));
        expect(partitionOfKey(key, n)).toBe(partitionOfHash(exact, n));
      }
    }
  });

  it('accepts explicit hash keys from 0 to 2^128-1 only', () => {
    expect(parseHashKey('0')).toBe(0n);
    expect(parseHashKey('340282366920938463463374607431768211455')).toBe((1n << 128n) - 1n);
    for (const bad of ['340282366920938463463374607431768211456', '-1', '1e5', '', 'abc']) expect(parseHashKey(bad)).toBeUndefined();
  });
});

// Adversarial: stream mappings fed records a hostile producer can store. Kinesis' PutRecord takes any
// bytes up to 1 MiB, so a record may be JSON nested 100,000 deep; no record may stop a partition (or
// end Sluice with an unhandled rejection).
import { describe, expect, it } from 'vitest';
import { records, rig, until } from './streams-harness.js';

const DEEP = '['.repeat(100_000) + ']'.repeat(100_000);

/** How deep a value nests arrays (without recursion). */
function depth(v: unknown): number {
  let n = 0;
  for (let x = v; Array.isArray(x); x = x[0]) n++;
  return n;
}

describe('a record of JSON nested 100,000 deep', () => {
  it("reaches a format 'records' handler as its value, and the records after it follow", async () => {
    const r = await rig({ options: { format: 'records', batchSize: 10 } });
    await r.engine.append('events', [{ key: 'deep', value: Buffer.from(DEEP) }]);
    await r.append(records(2));
    await until(async () => (await r.committed()).get(0) === 3);
    expect(r.calls.flatMap((c) => c.keys)).toEqual(['deep', 'k0', 'k0']);
    const data = r.calls.flatMap((c) => c.data);
    expect(depth(data[0])).toBe(100_000);
    expect(data.slice(1)).toEqual([{ i: 0 }, { i: 1 }]);
    expect(r.logs.filter((l) => l.startsWith('error'))).toEqual([]);
  });

  it('is matched by filterCriteria without harm (kinesis format), and the records after it follow', async () => {
    const r = await rig({ options: { filterCriteria: { Filters: [{ Pattern: JSON.stringify({ data: { i: [{ exists: true }] } }) }] } } });
    await r.engine.append('events', [{ key: 'deep', value: Buffer.from(DEEP) }, { key: 'deep', value: Buffer.from(`{"i":${DEEP}}`) }]);
    await r.append(records(2));
    await until(async () => (await r.committed()).get(0) === 4);
    expect(r.calls.flatMap((c) => c.keys)).toEqual(['deep', 'k0', 'k0']);
    expect((await r.mapping.stats()).recordsFiltered).toBe(1);
  });
});

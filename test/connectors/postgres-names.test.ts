// The PostgreSQL sink and field names no column can have, on a real PostgreSQL: a row with an
// empty field name, a NUL in one, or one past PostgreSQL's 63 bytes (which it truncates, so two
// such fields alike in their first 63 bytes were one column named twice) failed its whole batch,
// every time it was retried (a NUL even broke the connection: SQLSTATE 08P01, retried as a network
// error). Such a row goes to the errors stream; the batch's other rows commit with the offset.
import { afterEach, describe, expect, it } from 'vitest';
import { OFFSETS_TABLE, PostgresSink, type DependencyFor } from '../../src/connectors/postgres/index.js';
import type { RejectedRow, SinkBatch, SinkRow } from '../../src/connectors/sink.js';
import { Dependencies, type Dependency } from '../../src/resilience/index.js';
import { freshDatabase, query, rowsOf } from './postgres-harness.js';

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
});

function sink(url: string): PostgresSink {
  const deps = new Dependencies();
  const made = new Map<string, Dependency>();
  const dependencyFor: DependencyFor = (name, o) => made.get(name) ?? made.set(name, deps.policyFor(name, { ...o, retry: { maxAttempts: 1 } })).get(name)!;
  const s = new PostgresSink({ connection: url, table: 't', key: ['id'], columns: {} }, dependencyFor);
  closers.push(async () => (await s.close(), deps.dispose()));
  return s;
}

const row = (offset: number, value: Record<string, unknown>): SinkRow => ({ key: [value.id], value, deleted: false, place: `${offset}.0` });
const batch = (from: number, next: number, rows: SinkRow[]): SinkBatch => ({ pipeline: 'p', sink: 'pg.t', stream: '_sluice.p.t.pg.t', partition: 0, from, next, epoch: 1, generation: 1, rows });

async function write(s: PostgresSink, b: SinkBatch): Promise<RejectedRow[]> {
  const refused: RejectedRow[] = [];
  await s.write(b, { signal: new AbortController().signal, reject: async (r) => void refused.push(...r) });
  return refused;
}

const long = 'x'.repeat(63);

describe('the PostgreSQL sink and field names no column can have', () => {
  it.each([
    ['two fields alike in their first 63 bytes', { [`${long}A`]: 1, [`${long}B`]: 'two' }, /longer than PostgreSQL's 63-byte column names/],
    ['a NUL in a field name', { 'a\u0000b': 1 }, /has a NUL/],
    ['an empty field name', { '': 1 }, /empty field name/],
  ])('a row with %s goes to the errors stream and the others commit', async (_what, fields, error) => {
    const url = await freshDatabase();
    const s = sink(url);
    const refused = await write(s, batch(0, 3, [row(0, { id: 'a', n: 1 }), row(1, { id: 'bad', ...fields }), row(2, { id: 'c', n: 3 })]));
    expect(refused.map((r) => r.row.place)).toEqual(['1.0']);
    expect(refused[0]!.error).toMatch(error);
    expect((await rowsOf<{ id: string; n: number }>(url, 't', 'id')).map((r) => [r.id, r.n])).toEqual([['a', 1], ['c', 3]]);
    expect(await query(url, `SELECT next FROM ${OFFSETS_TABLE}`)).toEqual([{ next: '3' }]);
  }, 60_000);

  it('a field named at exactly 63 bytes is a column; a null field with a name past it is no reason to refuse a row', async () => {
    const url = await freshDatabase();
    const s = sink(url);
    expect(await write(s, batch(0, 1, [row(0, { id: 'a', [long]: 1, [`${long}zz`]: null })]))).toEqual([]);
    expect(await rowsOf<Record<string, unknown>>(url, 't', 'id')).toEqual([{ id: 'a', [long]: 1 }]);
  }, 60_000);
});

// The sink conformance suite: every sink (SQLite table, PostgreSQL, webhook) runs it unmodified,
// behind the runtime's sink unit on a real engine. It feeds the sink step's internal stream with
// messages of rows as the pipeline's units write them, steps the unit, and checks what the
// external system holds: every change in order (the last change of a key wins, deletions remove),
// a crash between the sink's write and the unit moving on (a new sink instance, as a new process,
// takes over: transactional sinks resume after the written batch, idempotent ones send that batch
// again under the same idempotency key), and rows the sink refuses (to '<pipeline>-errors' with
// their input, once, and the rest stored).
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import type { Sink } from '../../src/connectors/sink.js';
import { pipeline, type DataStream } from '../../src/dataflow/dsl.js';
import { Layout, tableStream } from '../../src/dataflow/runtime/layout.js';
import { prepare } from '../../src/dataflow/runtime/runner.js';
import { SinkUnit } from '../../src/dataflow/runtime/sink-unit.js';
import type { UnitContext } from '../../src/dataflow/runtime/units.js';
import { SqliteEngine } from '../../src/engine/sqlite/index.js';
import { allRecords } from '../support/engines.js';
import { tempDir } from '../support/tmp.js';

export type Row = { id: string; n: number; [field: string]: unknown };

export interface SinkUnderTest {
  /** Adds the sink step to a pipeline's stream of rows (key: the `id` field). */
  attach(s: DataStream<Row>): void;
  /** The sink step's name in the pipeline ('t', 'pg.t', 'webhook.t'). */
  name: string;
  /** A new instance of the sink, as a new process would open it. */
  open(): Sink;
  /** What the external system holds: rows by id (without fields the sink adds). */
  state(): Promise<Map<string, Row>>;
  /** A row this sink refuses (a value of the wrong type, too many columns, one its receiver answers 400 for). */
  badRow(id: string): Row;
  /** Idempotent sinks: the idempotency keys under which each record id was delivered. */
  deliveries?(): Map<string, Set<string>>;
  close(): Promise<void>;
}

type Change = [key: string, row: Row | null];
const enc = (v: unknown) => Buffer.from(JSON.stringify(v));

/** Messages of rows as a pipeline writes them to the sink's stream, and the state they fold to. */
function messages(changes: Change[][]): { values: Buffer[]; want: Map<string, Row> } {
  const want = new Map<string, Row>();
  const values = changes.map((m) => enc(m.map(([id, row]) => (row ? [[id], row] : [[id], { id, n: 0 }, 1]))));
  for (const m of changes) for (const [id, row] of m) (row ? want.set(id, row) : want.delete(id));
  return { values, want };
}

const r = (id: string, n: number, extra: Record<string, unknown> = {}): Row => ({ id, n, ...extra });

/** Runs the suite against the sink `make()` gives, one fresh sink (database, receiver) per test. */
export function sinkConformance(kind: string, make: () => Promise<SinkUnderTest>): void {
  describe(`sink conformance: ${kind}`, () => {
    const engines: SqliteEngine[] = [];
    const made: SinkUnderTest[] = [];
    const sinks: Sink[] = [];
    afterEach(async () => {
      for (const s of sinks.splice(0)) await s.close();
      for (const m of made.splice(0)) await m.close();
      for (const e of engines.splice(0)) await e.close();
    });

    /** An engine with the pipeline's streams and lease, and a unit over `sink` reading `batch` messages at a time. */
    async function setup(batch = 2) {
      const t = await make();
      made.push(t);
      const engine = new SqliteEngine({ dataDir: join(tempDir(), 'data') });
      engines.push(engine);
      const p = pipeline('conf');
      t.attach(p.source<Row>('in'));
      const prepared = await prepare(engine, p);
      const ctx: UnitContext = {
        engine, layout: new Layout(p, prepared.keyGroups), clock: new ManualClock(0), lease: prepared.lease, batch, epochMs: 0, maxDrift: 0,
        spill: () => { throw new Error('no keyed state here'); }, stateKeysInMemory: 10, trimInternal: false,
      };
      const stream = tableStream('conf', t.name);
      const unit = async (sink: Sink) => {
        sinks.push(sink);
        const u = new SinkUnit(t.name, sink, ctx);
        await u.open(() => engine.resolve(stream, 0, 'earliest'));
        return u;
      };
      const feed = (values: Buffer[]) => engine.append(stream, values.map((value) => ({ partition: 0, value })));
      const drain = async (u: SinkUnit) => {
        while (await u.step());
      };
      const errors = async () => (await allRecords(engine, 'conf-errors')).map((x) => JSON.parse(Buffer.from(x.value).toString()) as { source: string; error: string; value: Row });
      return { t, engine, unit, feed, drain, errors };
    }

    it('delivers every change in order: the last change of a key wins, a deletion removes its row', async () => {
      const { t, unit, feed, drain } = await setup();
      const { values, want } = messages([
        [['a', r('a', 1)], ['b', r('b', 1)]],
        [['a', r('a', 2)]],
        [['c', r('c', 1)], ['b', null]],
        [['a', r('a', 3)], ['a', r('a', 4)], ['d', r('d', 1, { label: 'new field' })]],
        [['c', null], ['c', r('c', 5)], ['e', r('e', 1)], ['e', null]],
        [['never', null]],
      ]);
      await feed(values);
      await drain(await unit(t.open()));
      expect(await t.state()).toEqual(want);
      expect([...want.keys()].sort()).toEqual(['a', 'c', 'd']);
    });

    it("after a crash between the sink's write and the unit moving on, a new sink instance ends with the same rows; nothing is applied twice (transactional) or the batch is sent again under the same key (idempotent)", async () => {
      const { t, unit, feed, drain } = await setup();
      const { values, want } = messages(Array.from({ length: 8 }, (_, i) => [[`k${i % 3}`, r(`k${i % 3}`, i)], [`m${i}`, r(`m${i}`, i)]] as Change[]));
      await feed(values);
      const first = t.open();
      let writes = 0;
      const crashing: Sink = Object.assign(Object.create(first) as Sink, {
        write: async (...args: Parameters<Sink['write']>) => {
          await first.write(...args);
          if (++writes === 2) throw new Error('kill -9 (simulated) after the second write');
        },
      });
      const u1 = await unit(crashing);
      await expect(drain(u1)).rejects.toThrow('simulated');
      sinks.push(first);
      const u2 = await unit(t.open());
      await drain(u2);
      expect(await t.state()).toEqual(want);
      const rowsPerBatch = 4; // 2 messages of 2 rows
      if (first.delivery === 'transactional') {
        expect(u2.stats.records).toBe(16 - 2 * rowsPerBatch); // it resumed after the second batch: read nothing twice
      } else {
        expect(u2.stats.records).toBe(16 - rowsPerBatch); // the second batch again, then the rest
        const keys = t.deliveries!();
        expect(keys.size).toBe(16);
        for (const [, k] of keys) expect(k.size).toBe(1); // every record under one idempotency key, the repeat included
      }
    });

    it("sends rows the sink refuses to '<pipeline>-errors' with their input, once (also when the batch is written again), and stores the rest", async () => {
      const { t, unit, feed, drain, errors } = await setup(4);
      const bad = t.badRow('bad');
      await feed([enc([[['g1'], r('g1', 1)], [['bad'], bad], [['g2'], r('g2', 2)]]), enc([[['g3'], r('g3', 3)]])]);
      const first = t.open();
      const crashing: Sink = Object.assign(Object.create(first) as Sink, {
        write: async (...args: Parameters<Sink['write']>) => {
          await first.write(...args);
          throw new Error('kill -9 (simulated) after the write');
        },
      });
      await expect(drain(await unit(crashing))).rejects.toThrow('simulated');
      sinks.push(first);
      await drain(await unit(t.open()));
      const state = await t.state();
      expect([...state.keys()].sort()).toEqual(['g1', 'g2', 'g3']);
      const refused = await errors();
      expect(refused.map((e) => [e.source, e.value])).toEqual([[tableStream('conf', t.name), bad]]);
      expect(refused[0]!.error).toMatch(/\S/);
    });
  });
}

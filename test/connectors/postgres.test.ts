// The PostgreSQL sink on a real PostgreSQL (Debian's package, started by the tests): the sink
// conformance suite, then pipelines into it.
import { PostgresSink, type DependencyFor } from '../../src/connectors/postgres/index.js';
import { Dependencies, type Dependency } from '../../src/resilience/index.js';
import { sinkConformance, type Row } from './conformance.js';
import { freshDatabase, rowsOf } from './postgres-harness.js';

sinkConformance('postgres', async () => {
  const url = await freshDatabase();
  const deps = new Dependencies();
  const made = new Map<string, Dependency>();
  const dependencyFor: DependencyFor = (name, o) => made.get(name) ?? made.set(name, deps.policyFor(name, o)).get(name)!;
  return {
    name: 'pg.t',
    attach: (s) => s.toPostgres('t', { connection: url, key: ['id'], columns: { n: 'integer' } }),
    open: () => new PostgresSink({ connection: url, table: 't', key: ['id'], columns: { n: 'integer' } }, dependencyFor),
    async state() {
      const rows = await rowsOf<Row>(url, 't');
      return new Map(rows.map((r) => [r.id, Object.fromEntries(Object.entries(r).filter(([, v]) => v !== null)) as Row]));
    },
    badRow: (id) => ({ id, n: 'not a number' as unknown as number }),
    async close() {
      deps.dispose();
    },
  };
});

// The SQLite table sink (`.toTable`) through the sink conformance suite.
import Database from 'better-sqlite3';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { SqliteTableSink, TablesDb } from '../../src/connectors/sqlite/index.js';
import { tempDir } from '../support/tmp.js';
import { sinkConformance, type Row } from './conformance.js';

sinkConformance('sqlite', async () => {
  const path = join(tempDir(), 'tables.db');
  const dbs: TablesDb[] = [];
  return {
    name: 't',
    attach: (s) => s.toTable('t', { key: (v) => [v.id] }),
    open: () => {
      const db = new TablesDb(path);
      dbs.push(db);
      return new SqliteTableSink('t', db);
    },
    async state() {
      if (!existsSync(path)) return new Map();
      const db = new Database(path, { readonly: true });
      try {
        const rows = db.prepare('SELECT * FROM t').all() as Record<string, unknown>[];
        return new Map(rows.map(({ _key, ...row }) => [JSON.parse(_key as string)[0] as string, Object.fromEntries(Object.entries(row).filter(([, v]) => v !== null)) as Row]));
      } finally {
        db.close();
      }
    },
    // 1,001 fields: past the 1,000 columns a table may grow to.
    badRow: (id) => ({ id, n: 0, ...Object.fromEntries(Array.from({ length: 999 }, (_, i) => [`wide${i}`, i])) }),
    async close() {
      for (const db of dbs) db.close();
    },
  };
});

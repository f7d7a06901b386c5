// Scratch space for keyed state values that left memory (decision 010): a private temporary
// SQLite database per thread, which SQLite deletes when it is closed (or the process dies). The
// engine holds the durable copy of every unit's state; this only spares RAM, so it never needs to
// survive a crash: a unit that opens loads its state from the engine and spills again.
import Database from 'better-sqlite3';
import type { Key } from '../dsl.js';
import type { SpillStore } from '../keyed-state.js';

/** Pages of the spill database kept in memory (its own cache), in KiB. */
const SPILL_CACHE_KIB = 16 * 1024;

export class SpillFile {
  private readonly db: Database.Database;
  private readonly q: Record<'get' | 'put' | 'del' | 'clear', Database.Statement>;

  constructor() {
    this.db = new Database(''); // '' : a private, temporary on-disk database
    this.db.pragma(`cache_size = -${SPILL_CACHE_KIB}`);
    this.db.exec('CREATE TABLE spill (unit TEXT NOT NULL, node INTEGER NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (unit, node, key)) WITHOUT ROWID');
    this.q = {
      get: this.db.prepare('SELECT value FROM spill WHERE unit = ? AND node = ? AND key = ?').pluck(),
      put: this.db.prepare('INSERT OR REPLACE INTO spill (unit, node, key, value) VALUES (?, ?, ?, ?)'),
      del: this.db.prepare('DELETE FROM spill WHERE unit = ? AND node = ? AND key = ?'),
      clear: this.db.prepare('DELETE FROM spill WHERE unit = ? AND node = ?'),
    };
  }

  /** The store of one operator of one unit. */
  store(unit: string, node: number): SpillStore {
    const { q } = this;
    const put = this.db.transaction((entries: [Key, string][]) => {
      for (const [k, v] of entries) q.put.run(unit, node, JSON.stringify(k), v);
    });
    return {
      get: (k) => q.get.get(unit, node, JSON.stringify(k)) as string | undefined,
      put: (entries) => put(entries),
      delete: (k) => void q.del.run(unit, node, JSON.stringify(k)),
      clear: () => void q.clear.run(unit, node),
    };
  }

  close(): void {
    this.db.close();
  }
}

// State values of the embedded engine. Small ones live in the `state` table; values of
// LARGE_VALUE_BYTES or more (pipelines' state chunks) are appended to files under `state/`, and
// their row keeps where (`seg`, `pos`, `len`): written once, instead of into the WAL, again at
// checkpoint, and read back page by page when the row is replaced (an overflow chain).
// Bytes are written inside the commit transaction at the position SQLite records (`state_head`),
// so a crash before the commit leaves bytes the next write overwrites, as with segments.ts.
// A file the head has moved past is looked at after each commit that let go of a value in it
// (and when the head leaves it, and at open): deleted when no row points into it, and when less
// than a quarter of it is still pointed into, those values are first copied to the head (rows
// keep their versions), so files hold at most 4× the live bytes. See
// docs/decisions/012-state-values-in-files.md.
import type Database from 'better-sqlite3';
import { readdirSync } from 'node:fs';
import { Segments } from './segments.js';

/** Values this big or bigger go to files. */
export const LARGE_VALUE_BYTES = 16 * 1024;
/** A new state file starts past this size (or the engine's segment size, if smaller). */
export const STATE_FILE_BYTES = 16 * 1024 * 1024;

/** A state row as stored: `value` is empty when the bytes are in a file. */
export interface StateRow {
  version: number;
  value: Buffer;
  seg: number | null;
  pos: number | null;
  len: number | null;
}

type Stmt = Database.Statement;

export class StateValues {
  private readonly files: Segments;
  private readonly headGet: Stmt;
  private readonly headSet: Stmt;
  private readonly live: Stmt;
  private readonly rowsIn: Stmt;
  private readonly move: Stmt;
  private readonly relocate: Database.Transaction<(seg: number) => void>;
  private readonly fileBytes: number;
  /** The file this connection last wrote to (its handle stays open). */
  private writing?: number;
  /** Files that lost a value (or that the head left) in the current transaction: looked at once it commits. */
  private released = new Set<number>();

  constructor(db: Database.Database, private readonly dir: string, fsync: boolean, segmentBytes: number) {
    this.files = new Segments(dir, fsync);
    this.fileBytes = Math.min(STATE_FILE_BYTES, segmentBytes);
    this.headGet = db.prepare('SELECT seg, pos FROM state_head WHERE id = 0');
    this.headSet = db.prepare('INSERT INTO state_head (id, seg, pos) VALUES (0, ?, ?) ON CONFLICT (id) DO UPDATE SET seg = excluded.seg, pos = excluded.pos');
    this.live = db.prepare('SELECT COUNT(*) AS n, COALESCE(SUM(len), 0) AS bytes FROM state WHERE seg = ?');
    this.rowsIn = db.prepare('SELECT key, pos, len FROM state WHERE seg = ?');
    this.move = db.prepare('UPDATE state SET seg = ?, pos = ? WHERE key = ?');
    this.relocate = db.transaction((seg: number) => {
      for (const r of this.rowsIn.all(seg) as { key: string; pos: number; len: number }[]) {
        const at = this.append(this.files.read(0, 0, seg, r.pos, r.len));
        this.move.run(at.seg, at.pos, r.key);
      }
    });
  }

  /**
   * Inside a write transaction, before a row is replaced or deleted: notes the file its current
   * value is in (`oldSeg`), if any. Then, for a value being written, returns where it goes (bytes
   * written) when it is large, or undefined to keep it in the row.
   */
  replace(oldSeg: number | null, value: Uint8Array | null): { seg: number; pos: number; len: number } | undefined {
    if (oldSeg !== null) this.released.add(oldSeg);
    if (value === null || value.length < LARGE_VALUE_BYTES) return undefined;
    return { ...this.append(value), len: value.length };
  }

  /** Writes bytes at the head (inside a write transaction); the head moves past them. */
  private append(value: Uint8Array): { seg: number; pos: number } {
    const head = (this.headGet.get() as { seg: number; pos: number } | undefined) ?? { seg: 0, pos: 0 };
    let { seg, pos } = head;
    if (pos > 0 && pos + value.length > this.fileBytes) {
      this.released.add(seg); // the head leaves it: look at it once this commits
      seg += 1;
      pos = 0;
    }
    if (this.writing !== undefined && this.writing !== seg) this.files.release(0, 0, this.writing);
    this.writing = seg;
    this.files.write(0, 0, seg, pos, value);
    this.headSet.run(seg, pos + value.length);
    return { seg, pos };
  }

  /** The value of a stored row. */
  valueOf(row: StateRow): Buffer {
    // No handle is kept on a file another connection may delete; ENOENT if it just did (the caller reads again).
    return row.seg === null ? row.value : this.files.readOnce(0, 0, row.seg, row.pos!, row.len!);
  }

  /** After the transaction: `true` to keep what `replace` noted (it committed), `false` to forget it (rolled back). */
  settle(committed: boolean): void {
    const released = this.released;
    this.released = new Set();
    if (committed) for (const seg of released) this.collect(seg);
  }

  /** Deletes files behind the head that no row points into (left by a crash between a commit and its clean-up). */
  sweep(): void {
    let names: string[];
    try {
      names = readdirSync(`${this.dir}/0/0`);
    } catch {
      return;
    }
    for (const name of names) if (name.endsWith('.log')) this.collect(Number(name.slice(0, 20)));
    this.released.clear();
  }

  close(): void {
    this.files.close();
  }

  /**
   * A file behind the head (nothing is written there again): deleted when no row points into it;
   * when less than a quarter of it is pointed into, its values are copied to the head first.
   */
  private collect(seg: number): void {
    const head = this.headGet.get() as { seg: number } | undefined;
    if (!head || seg >= head.seg) return;
    const { n, bytes } = this.live.get(seg) as { n: number; bytes: number };
    if (n > 0) {
      if (bytes * 4 >= this.fileBytes) return;
      try {
        this.relocate.immediate(seg);
      } catch {
        return; // (busy: a later commit that releases a value there tries again)
      }
    }
    this.files.dropOne(0, 0, seg);
  }
}

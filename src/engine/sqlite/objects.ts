// Objects of the embedded engine (decision 018): bytes in files named by random ids, the names,
// versions and pieces in SQLite. A commit links staged files to their data names and writes the
// rows in its one transaction; files no piece points into any more are unlinked after it.
import type Database from 'better-sqlite3';
import { randomBytes } from 'node:crypto';
import { openSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import type { Clock } from '../../clock.js';
import type {
  ListObjectsOptions, ObjectBody, ObjectInfo, ObjectListing, ObjectPiece, ObjectRef, ObjectWrite, ObjectWritten, OpenedObject,
  OpenOptions, StagedObject, StageOptions,
} from '../engine.js';
import { ConflictError, InvalidArgumentError, StorageFullError } from '../errors.js';
import { StagedSet, stageBody, type StageSink } from '../objects/body.js';
import { checkObjectName, listPage, resolveRange } from '../objects/names.js';
import { isFull, ObjectFiles, tagAlive, unlinkQuietly } from './object-files.js';
import { ObjectReader, type PieceSpan } from './object-reader.js';

type Stmt = Database.Statement<unknown[], unknown>;
interface Row {
  id: number;
  name: Buffer;
  version: number;
  size: number;
  etag: string;
  md5: string | null;
  modified: number;
  meta: string;
}
interface Piece {
  file: string;
  size: number;
}

/** Readers' files opened eagerly, up to this many pieces (past it, each piece opens when reached). */
const EAGER_PIECES = 256;
/** Bounds a scan whose prefix has no upper bound: valid UTF-8 never holds the byte 0xFF. */
const TOP = Buffer.from([0xff]);

export class SqliteObjects {
  private readonly files: ObjectFiles;
  private readonly staged = new StagedSet<StagedObject>();
  /** Data files open in readers of this connection, by id: they are unlinked only once closed. */
  private readonly inUse = new Map<string, number>();
  private readonly doomed = new Set<string>();
  /** Garbage files unlinked whose rows the next object commit deletes. */
  private unlinked: string[] = [];
  /** What the transaction in progress did: links made, garbage found, garbage rows it deletes. */
  private tx = { links: [] as string[], garbage: [] as string[], cleared: [] as string[] };
  private readonly q: Record<string, Stmt>;

  constructor(private readonly db: Database.Database, root: string, private readonly fsync: boolean, private readonly clock: Clock) {
    this.files = new ObjectFiles(root, fsync);
    const p = (sql: string) => db.prepare(sql);
    const cols = 'id, name, version, size, etag, md5, modified, meta';
    this.q = {
      byName: p(`SELECT ${cols} FROM objects WHERE name = ?`),
      scanFrom: p(`SELECT ${cols} FROM objects WHERE name >= ? AND name < ? ORDER BY name`),
      scanAfter: p(`SELECT ${cols} FROM objects WHERE name > ? AND name < ? ORDER BY name`),
      upsert: p(
        'INSERT INTO objects (name, version, size, etag, md5, modified, meta) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (name) DO UPDATE SET ' +
          'version = excluded.version, size = excluded.size, etag = excluded.etag, md5 = excluded.md5, modified = excluded.modified, meta = excluded.meta RETURNING id',
      ),
      deleteObject: p('DELETE FROM objects WHERE id = ?'),
      pieces: p('SELECT file, size FROM object_pieces WHERE object = ? ORDER BY idx'),
      deletePieces: p('DELETE FROM object_pieces WHERE object = ?'),
      insertPiece: p('INSERT INTO object_pieces (object, idx, file, size) VALUES (?, ?, ?, ?)'),
      referenced: p('SELECT 1 FROM object_pieces WHERE file = ? LIMIT 1'),
      insertGarbage: p('INSERT OR IGNORE INTO object_garbage (file) VALUES (?)'),
      deleteGarbage: p('DELETE FROM object_garbage WHERE file = ?'),
      allGarbage: p('SELECT file FROM object_garbage'),
      seq: p('SELECT v FROM object_seq WHERE id = 0'),
      setSeq: p('INSERT INTO object_seq (id, v) VALUES (0, ?) ON CONFLICT (id) DO UPDATE SET v = excluded.v'),
    };
  }

  /** At open: staging files of dead processes, files of uncommitted links, garbage not unlinked yet. */
  sweep(): void {
    for (const f of this.files.stagedLeftovers()) {
      if (tagAlive(f.tag)) continue;
      if (!this.q.referenced!.get(f.id)) unlinkQuietly(this.files.dataPath(f.id)); // linked by a commit that never happened
      unlinkQuietly(f.path);
    }
    const garbage = (this.q.allGarbage!.all() as { file: string }[]).map((r) => r.file);
    for (const file of garbage) unlinkQuietly(this.files.dataPath(file));
    if (garbage.length) this.db.transaction(() => garbage.forEach((f) => this.q.deleteGarbage!.run(f))).immediate();
  }

  async stage(body: ObjectBody, options?: StageOptions): Promise<StagedObject> {
    const id = randomBytes(12).toString('hex');
    const path = this.files.stagingPath(id);
    let fh: FileHandle | undefined;
    try {
      fh = await open(path, 'wx');
      const r = await stageBody(body, options, fileSink(fh));
      if (this.fsync) await fh.sync();
      await fh.close();
      fh = undefined;
      const staged: StagedObject = Object.freeze({ id, size: r.size, md5: r.md5, checksums: Object.freeze(r.checksums) });
      this.staged.add(id, staged, this.clock.now());
      return staged;
    } catch (e) {
      await fh?.close().catch(() => {});
      unlinkQuietly(path);
      if (isFull(e)) throw new StorageFullError(`no space left on the device of ${this.files.staging} to stage an object (nothing was kept)`, { cause: e });
      throw e;
    }
  }

  async discard(staged: StagedObject): Promise<void> {
    if (this.staged.delete(staged.id)) unlinkQuietly(this.files.stagingPath(staged.id));
  }

  /** Drops staged objects older than the TTL. */
  expire(): void {
    for (const s of this.staged.expired(this.clock.now())) unlinkQuietly(this.files.stagingPath(s.id));
  }

  /** Inside the commit transaction: preconditions, versions, rows, links. Writes apply in order. */
  write(writes: readonly ObjectWrite[]): ObjectWritten[] {
    this.tx = { links: [], garbage: [], cleared: this.unlinked.slice() };
    for (const file of this.tx.cleared) this.q.deleteGarbage!.run(file);
    let seq = (this.q.seq!.get() as { v: number } | undefined)?.v ?? 0;
    const now = this.clock.now();
    const released: string[] = [];
    const used = new Set<string>();
    const out = writes.map((w): ObjectWritten => {
      const key = checkObjectName(w.name);
      const cur = this.q.byName!.get(key) as Row | undefined;
      const actual = cur?.version ?? 0;
      if (w.expectedVersion !== undefined && w.expectedVersion !== actual) throw new ConflictError(w.name, w.expectedVersion, actual, 'object');
      if (cur) {
        released.push(...(this.q.pieces!.all(cur.id) as Piece[]).map((p) => p.file));
        this.q.deletePieces!.run(cur.id);
      }
      if (w.content === null) {
        if (!cur) return { name: w.name, deleted: true, existed: false, version: 0 };
        this.q.deleteObject!.run(cur.id);
        return { name: w.name, deleted: true, existed: true, version: ++seq };
      }
      const { pieces, single } = this.piecesOf(w.content, used);
      const info: ObjectInfo = {
        name: w.name,
        size: pieces.reduce((n, p) => n + p.size, 0),
        version: ++seq,
        etag: w.etag ?? single?.md5 ?? '',
        ...(single ? { md5: single.md5 } : {}),
        modified: now,
        metadata: { ...w.metadata },
        checksums: { ...(w.checksums ?? single?.checksums) },
      };
      const meta = JSON.stringify({ m: info.metadata, c: info.checksums });
      const { id } = this.q.upsert!.get(key, info.version, info.size, info.etag, info.md5 ?? null, now, meta) as { id: number };
      pieces.forEach((p, i) => this.q.insertPiece!.run(id, i, p.file, p.size));
      return { name: w.name, deleted: false, info };
    });
    this.q.setSeq!.run(seq);
    for (const file of new Set(released)) {
      if (this.q.referenced!.get(file)) continue;
      this.q.insertGarbage!.run(file);
      this.tx.garbage.push(file);
    }
    for (const s of used) {
      this.files.link(s);
      this.tx.links.push(s);
    }
    this.files.syncDirs(this.tx.links);
    return out;
  }

  /** After the commit transaction: on success staged names and garbage go; on failure the links made go. */
  settle(ok: boolean): void {
    const { links, garbage, cleared } = this.tx;
    this.tx = { links: [], garbage: [], cleared: [] };
    if (!ok) {
      for (const id of links) unlinkQuietly(this.files.dataPath(id));
      return;
    }
    for (const id of links) {
      this.staged.delete(id);
      unlinkQuietly(this.files.stagingPath(id));
    }
    if (cleared.length) this.unlinked = this.unlinked.filter((f) => !cleared.includes(f));
    for (const file of garbage) this.dropFile(file);
  }

  stat(name: string): ObjectInfo | undefined {
    const row = this.q.byName!.get(checkObjectName(name)) as Row | undefined;
    return row && infoOf(row);
  }

  open(name: string, o: OpenOptions = {}): OpenedObject | undefined {
    o.signal?.throwIfAborted();
    const { row, pieces } = this.db.transaction(() => {
      const r = this.q.byName!.get(checkObjectName(name)) as Row | undefined;
      return { row: r, pieces: r ? (this.q.pieces!.all(r.id) as Piece[]) : [] };
    })();
    if (!row) return undefined;
    if (o.version !== undefined && o.version !== row.version) throw new ConflictError(name, o.version, row.version, 'object');
    const { start, end } = resolveRange(name, row.size, o.range);
    const spans: PieceSpan[] = [];
    for (let i = 0, base = 0; i < pieces.length && base <= end; base += pieces[i]!.size, i++) {
      const p = pieces[i]!;
      if (base + p.size <= start || p.size === 0) continue;
      spans.push({ path: this.files.dataPath(p.file), from: Math.max(0, start - base), to: Math.min(p.size, end + 1 - base) });
    }
    const held = [...new Set(spans.map((s) => s.path.slice(s.path.lastIndexOf('/') + 1)))];
    for (const f of held) this.inUse.set(f, (this.inUse.get(f) ?? 0) + 1);
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      for (const f of held) {
        const n = this.inUse.get(f)! - 1;
        if (n > 0) this.inUse.set(f, n);
        else {
          this.inUse.delete(f);
          if (this.doomed.delete(f)) this.dropFile(f);
        }
      }
    };
    try {
      if (spans.length <= EAGER_PIECES) for (const s of spans) s.fd = openSync(s.path, 'r');
    } catch (e) {
      release();
      throw e;
    }
    const body = new ObjectReader(spans, release);
    const signal = o.signal;
    if (signal) {
      const onAbort = () => body.destroy(signal.reason as Error);
      signal.addEventListener('abort', onAbort, { once: true });
      body.once('close', () => signal.removeEventListener('abort', onAbort));
    }
    return { info: infoOf(row), start, end, body };
  }

  list(o: ListObjectsOptions = {}): ObjectListing {
    return this.db.transaction(() =>
      listPage(o, (from, below) => {
        const stmt = from.inclusive ? this.q.scanFrom! : this.q.scanAfter!;
        const rows = stmt.iterate(from.key, below ?? TOP) as IterableIterator<Row>;
        return (function* () {
          for (const row of rows) yield [row.name, infoOf(row)] as [Buffer, ObjectInfo];
        })();
      }),
    )();
  }

  private piecesOf(content: StagedObject | readonly ObjectPiece[], used: Set<string>): { pieces: Piece[]; single?: StagedObject } {
    const list: readonly ObjectPiece[] = Array.isArray(content) ? content : [content as StagedObject];
    const pieces: Piece[] = [];
    for (const piece of list) {
      if (isRef(piece)) {
        const src = this.q.byName!.get(checkObjectName(piece.object, 'content')) as Row | undefined;
        const actual = src?.version ?? 0;
        if (!src || (piece.version !== undefined && piece.version !== actual)) throw new ConflictError(piece.object, piece.version ?? 1, actual, 'object');
        pieces.push(...(this.q.pieces!.all(src.id) as Piece[]));
        continue;
      }
      const staged = this.staged.get(piece.id);
      if (!staged || used.has(piece.id)) {
        throw new InvalidArgumentError(`staged object ${piece.id} is not staged here (committed, discarded, expired, or named twice in a unit)`, 'content');
      }
      used.add(piece.id);
      pieces.push({ file: piece.id, size: staged.size });
    }
    const single = list.length === 1 && !isRef(list[0]!) ? this.staged.get(list[0]!.id) : undefined;
    return single ? { pieces, single } : { pieces };
  }

  private dropFile(file: string): void {
    if (this.inUse.has(file)) {
      this.doomed.add(file);
      return;
    }
    try {
      unlinkQuietly(this.files.dataPath(file));
      this.unlinked.push(file);
    } catch {
      // left in object_garbage: unlinked at the next open
    }
  }
}

/** Pieces written to a staging file in order, each with one positioned writev, one write in flight while the next piece fills. */
function fileSink(fh: FileHandle): StageSink {
  let position = 0;
  let inFlight: Promise<void> = Promise.resolve();
  return {
    async write(piece, size) {
      await inFlight;
      inFlight = writeAll(fh, piece, position);
      inFlight.catch(() => {}); // (awaited by the next write or the flush)
      position += size;
    },
    flush: () => inFlight,
  };
}

async function writeAll(fh: FileHandle, piece: readonly Uint8Array[], position: number): Promise<void> {
  let views = piece as Uint8Array[];
  for (;;) {
    let written = (await fh.writev(views, position)).bytesWritten;
    position += written;
    // A short write (rare on a file): the rest of the piece goes again.
    let i = 0;
    while (i < views.length && written >= views[i]!.length) written -= views[i++]!.length;
    if (i === views.length) return;
    views = [views[i]!.subarray(written), ...views.slice(i + 1)];
  }
}

const isRef = (p: ObjectPiece): p is ObjectRef => typeof (p as ObjectRef).object === 'string';

function infoOf(row: Row): ObjectInfo {
  const meta = JSON.parse(row.meta) as { m: Record<string, string>; c: ObjectInfo['checksums'] };
  return {
    name: row.name.toString('utf8'),
    size: row.size,
    version: row.version,
    etag: row.etag,
    ...(row.md5 !== null ? { md5: row.md5 } : {}),
    modified: row.modified,
    metadata: meta.m,
    checksums: meta.c,
  };
}

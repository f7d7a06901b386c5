// Objects of the nats engine (decision 018): chunks on the Object Store bucket's stream under a
// subject per staged object, an entry per name in KV `<prefix>_objects`, and a write-ahead
// intent per commit so that an object is announced if and only if it became visible.
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import type { JetStreamClient, JetStreamManager, StoredMsg } from '@nats-io/jetstream';
import type { KV, KvEntry } from '@nats-io/kv';
import type { Clock } from '../../clock.js';
import {
  DEFAULT_STAGED_TTL_MS, type AppendResult, type CommitAppend, type ListObjectsOptions, type ObjectBody, type ObjectInfo, type ObjectListing,
  type ObjectPiece, type ObjectRef, type ObjectWrite, type ObjectWritten, type OpenedObject, type OpenOptions, type StagedObject, type StageOptions,
} from '../engine.js';
import { ConflictError, EngineUnavailableError, InvalidArgumentError, StorageFullError } from '../errors.js';
import { mapLimit } from '../limit.js';
import { StagedSet, stageBody } from '../objects/body.js';
import { checkObjectName, listPage } from '../objects/names.js';
import { resolveRange } from '../objects/names.js';
import { decodeIntent, encodeIntent, type Intent, type Op } from './object-intents.js';
import { isStorageFull } from './requests.js';
import { decodeEntry, encodeEntry, entryKey, filterOf, infoOf, intentKey, nameOfKey, runsOf, seqAt, type Entry, type PieceRef } from './object-entries.js';

/** Chunks of at most 1 MiB (or the server's max_payload), up to 8 publishes in flight. */
const CHUNK_BYTES = 1024 * 1024;
const PUBLISH_WINDOW = 8;
/** Chunk reads in flight ahead of the reader. */
const READ_AHEAD = 4;
/** KV reads at once (listing pages, the sweep's mark). */
const KV_READS = 16;
/** An intent this old belongs to a writer that died (a commit takes milliseconds): it is redone. */
export const INTENT_AGE_MS = 30_000;

interface Staged extends StagedObject {
  piece: PieceRef;
}

export interface NatsObjectsDeps {
  js: JetStreamClient;
  jsm: JetStreamManager;
  kv: KV;
  kvStream: string;
  bucket: string;
  maxPayload: number;
  clock: Clock;
  timeoutMs: number;
  /** Publishes a unit's appends under message ids `<unit>/<i>` (a repeat is dropped by JetStream). */
  publish(appends: CommitAppend[], unit: string): Promise<AppendResult[][]>;
  stagedTtlMs?: number;
}

/** What `prepare` found: the writes to make, what they will have done, the staged objects they use. */
export interface Prepared {
  ops: Op[];
  written: ObjectWritten[];
  used: string[];
}

export class NatsObjects {
  readonly stream: string;
  private readonly staged: StagedSet<Staged>;
  private readonly staging = new Set<string>();
  private readonly lists = new Map<string, { seq: number; names: Buffer[] }>();
  private readonly chunkBytes: number;

  constructor(private readonly d: NatsObjectsDeps) {
    this.stream = `OBJ_${d.bucket}`;
    this.staged = new StagedSet(d.stagedTtlMs ?? DEFAULT_STAGED_TTL_MS);
    this.chunkBytes = Math.min(CHUNK_BYTES, d.maxPayload);
  }

  private subject(id: string): string {
    return `$O.${this.d.bucket}.C.${id}`;
  }

  async stage(body: ObjectBody, options?: StageOptions): Promise<StagedObject> {
    const id = randomBytes(12).toString('hex');
    const subject = this.subject(id);
    const seqs: number[] = [];
    const inflight: Promise<void>[] = [];
    let n = 0;
    this.staging.add(id);
    try {
      const r = await stageBody(body, options, {
        // The window is the only backpressure: a piece is published at once, and the next waits only when PUBLISH_WINDOW are unacknowledged.
        write: async (piece, size) => {
          const i = n++;
          const published = this.d.js.publish(subject, piece.length === 1 ? piece[0]! : Buffer.concat(piece, size), { timeout: this.d.timeoutMs }).then(
            (ack) => void (seqs[i] = ack.seq),
            (err) => {
              throw storageError(this.stream, err);
            },
          );
          published.catch(() => {}); // (awaited in turn below, or by the flush)
          inflight.push(published);
          if (inflight.length >= PUBLISH_WINDOW) await inflight.shift();
        },
        flush: async () => {
          const failed = (await Promise.allSettled(inflight.splice(0))).find((s) => s.status === 'rejected');
          if (failed) throw failed.reason;
        },
      }, this.chunkBytes);
      const staged: Staged = { id, size: r.size, md5: r.md5, checksums: Object.freeze(r.checksums), piece: { id, size: r.size, c: this.chunkBytes, r: runsOf(seqs) } };
      this.staged.add(id, staged, this.d.clock.now());
      return Object.freeze({ id, size: r.size, md5: r.md5, checksums: staged.checksums });
    } catch (e) {
      await this.purge(id, seqs.filter((q) => q !== undefined)).catch(() => {}); // else the sweep does, after the TTL
      throw e; // the body's own error, the signal's reason, or the publish's (storageError)
    } finally {
      this.staging.delete(id);
    }
  }

  async discard(staged: StagedObject): Promise<void> {
    const s = this.staged.get(staged.id);
    if (s && this.staged.delete(staged.id)) await this.purge(s.id, seqsOf(s.piece));
  }

  /**
   * Removes a chunk subject. Chunks whose sequences are known are deleted one by one first:
   * nats-server 2.9's filtered purge empties the subject but leaves the account's storage use
   * as it was (a full JetStream stays full until a restart); deleting messages gives it back.
   */
  private async purge(id: string, seqs: number[] = []): Promise<void> {
    await mapLimit(seqs, KV_READS, (seq) => this.d.jsm.streams.deleteMessage(this.stream, seq, false).catch(() => false));
    await this.d.jsm.streams.purge(this.stream, { filter: this.subject(id) });
  }

  async stat(name: string): Promise<ObjectInfo | undefined> {
    const e = live(await this.d.kv.get(entryKey(nameOf(name))));
    return e && infoOf(name, e);
  }

  async open(name: string, o: OpenOptions = {}): Promise<OpenedObject | undefined> {
    o.signal?.throwIfAborted();
    const e = live(await this.d.kv.get(entryKey(nameOf(name))));
    if (!e) return undefined;
    if (o.version !== undefined && o.version !== e.v) throw new ConflictError(name, o.version, e.v, 'object');
    const { start, end } = resolveRange(name, e.size, o.range);
    const body = Readable.from(this.chunks(name, e.p, start, end + 1), { objectMode: false, highWaterMark: CHUNK_BYTES });
    const signal = o.signal;
    if (signal) {
      const onAbort = () => body.destroy(signal.reason as Error);
      signal.addEventListener('abort', onAbort, { once: true });
      body.once('close', () => signal.removeEventListener('abort', onAbort));
    }
    return { info: infoOf(name, e), start, end, body };
  }

  /** The bytes [start, to) of the pieces, chunk by chunk, READ_AHEAD direct gets in flight. */
  private async *chunks(name: string, pieces: PieceRef[], start: number, to: number): AsyncGenerator<Buffer> {
    const wanted: { seq: number; from: number; to: number }[] = [];
    for (let i = 0, base = 0; i < pieces.length && base < to; base += pieces[i]!.size, i++) {
      const p = pieces[i]!;
      const a = Math.max(start - base, 0);
      const b = Math.min(to - base, p.size);
      for (let k = Math.floor(a / p.c); b > a && k * p.c < b; k++) wanted.push({ seq: seqAt(p, k), from: Math.max(a - k * p.c, 0), to: Math.min(b - k * p.c, p.c) });
    }
    const ahead: Promise<StoredMsg | null>[] = [];
    let next = 0;
    const fill = () => {
      while (ahead.length < READ_AHEAD && next < wanted.length) ahead.push(this.d.jsm.direct.getMessage(this.stream, { seq: wanted[next++]!.seq }));
    };
    try {
      for (const w of wanted) {
        fill();
        const m = await ahead.shift()!;
        if (!m) throw new Error(`the content of object '${name}' is gone (deleted and swept while it was read)`);
        yield Buffer.from(m.data.buffer, m.data.byteOffset + w.from, w.to - w.from);
      }
    } finally {
      await Promise.allSettled(ahead);
    }
  }

  async list(o: ListObjectsOptions = {}): Promise<ObjectListing> {
    const names = await this.sortedNames(filterOf(o.prefix ?? ''));
    const page = listPage<Buffer>(o, (from, below) => scanSorted(names, from.key, from.inclusive, below));
    const entries = await mapLimit(page.objects, KV_READS, async (n) => {
      const name = n.toString('utf8');
      const e = live(await this.d.kv.get(entryKey(name)));
      return e && infoOf(name, e);
    });
    return { objects: entries.filter((e): e is ObjectInfo => e !== undefined), prefixes: page.prefixes, ...(page.next !== undefined ? { next: page.next } : {}) };
  }

  /** The names under a filter, sorted by bytes; rescanned only when the bucket changed since. */
  private async sortedNames(filter: string): Promise<Buffer[]> {
    const seq = (await this.d.jsm.streams.info(this.d.kvStream)).state.last_seq;
    const cached = this.lists.get(filter);
    if (cached?.seq === seq) return cached.names;
    const names: Buffer[] = [];
    for await (const k of await this.d.kv.keys(filter)) names.push(Buffer.from(nameOfKey(k), 'utf8'));
    names.sort(Buffer.compare);
    if (this.lists.size > 64) this.lists.clear();
    this.lists.set(filter, { seq, names });
    return names;
  }

  /** Reads what the writes change, checks their preconditions and assigns versions; writes nothing. */
  async prepare(writes: readonly ObjectWrite[]): Promise<Prepared> {
    const seen = new Set<string>();
    const used: string[] = [];
    const ops: Op[] = [];
    const written: ObjectWritten[] = [];
    const now = this.d.clock.now();
    for (const w of writes) {
      const key = entryKey(nameOf(w.name));
      if (seen.has(key)) throw new InvalidArgumentError(`object '${w.name}' is written twice in one unit`, 'objects');
      seen.add(key);
      const cur = await this.d.kv.get(key);
      const e = live(cur);
      const actual = e?.v ?? 0;
      if (w.expectedVersion !== undefined && w.expectedVersion !== actual) throw new ConflictError(w.name, w.expectedVersion, actual, 'object');
      const rev = cur?.revision ?? 0;
      if (w.content === null) {
        if (!e) written.push({ name: w.name, deleted: true, existed: false, version: 0 });
        else {
          ops.push({ key, name: w.name, rev, entry: null });
          written.push({ name: w.name, deleted: true, existed: true, version: e.v + 1 });
        }
        continue;
      }
      const { pieces, single } = await this.piecesOf(w.content, used);
      const entry: Entry = {
        v: e ? e.v + 1 : cur ? cur.revision + 1 : 1,
        w: randomBytes(8).toString('hex'),
        size: pieces.reduce((s, p) => s + p.size, 0),
        etag: w.etag ?? single?.md5 ?? '',
        ...(single ? { md5: single.md5 } : {}),
        mtime: now,
        meta: { ...w.metadata },
        cks: { ...(w.checksums ?? single?.checksums) },
        p: pieces,
      };
      ops.push({ key, name: w.name, rev, entry });
      written.push({ name: w.name, deleted: false, info: infoOf(w.name, entry) });
    }
    return { ops, written, used };
  }

  private async piecesOf(content: StagedObject | readonly ObjectPiece[], used: string[]): Promise<{ pieces: PieceRef[]; single?: Staged }> {
    const list: readonly ObjectPiece[] = Array.isArray(content) ? content : [content as StagedObject];
    const pieces: PieceRef[] = [];
    for (const piece of list) {
      if (isRef(piece)) {
        const src = live(await this.d.kv.get(entryKey(nameOf(piece.object, 'content'))));
        const actual = src?.v ?? 0;
        if (!src || (piece.version !== undefined && piece.version !== actual)) throw new ConflictError(piece.object, piece.version ?? 1, actual, 'object');
        pieces.push(...src.p);
        continue;
      }
      const staged = this.staged.get(piece.id);
      if (!staged || used.includes(piece.id)) throw new InvalidArgumentError(`staged object ${piece.id} is not staged here (committed, discarded, expired, or named twice in a unit)`, 'content');
      used.push(piece.id);
      pieces.push(staged.piece);
    }
    const single = list.length === 1 && !isRef(list[0]!) ? this.staged.get(list[0]!.id) : undefined;
    return single ? { pieces, single } : { pieces };
  }

  /** Writes the intent: from here on the unit completes, by this process or by a recovery. */
  async begin(unit: string, ops: Op[], appends: CommitAppend[]): Promise<string> {
    const key = intentKey(unit);
    const data = encodeIntent({ at: this.d.clock.now(), unit, ops, appends });
    if (data.length > this.d.maxPayload) throw new InvalidArgumentError(`the unit's object writes and announcements take ${data.length} bytes, past the server's max_payload (${this.d.maxPayload})`, 'objects');
    await this.d.kv.put(key, data);
    return key;
  }

  /** The entries, each compare-and-set on the revision read; a racing writer fails the rest with ConflictError. */
  async apply(ops: Op[]): Promise<void> {
    for (const op of ops) await this.applyOne(op);
  }

  private async applyOne(op: Op): Promise<void> {
    try {
      if (op.entry === null) await this.d.kv.delete(op.key, { previousSeq: op.rev });
      else if (op.rev === 0) await this.d.kv.create(op.key, encodeEntry(op.entry));
      else await this.d.kv.update(op.key, encodeEntry(op.entry), op.rev);
    } catch (e) {
      if (/wrong last sequence|key exists/i.test((e as Error).message)) throw new ConflictError(op.name, op.entry ? op.entry.v - 1 : -1, -1, 'object');
      throw e;
    }
  }

  /** The unit is whole: its intent goes, its staged objects are no longer this process' to drop. */
  async end(key: string | undefined, used: string[]): Promise<void> {
    for (const id of used) this.staged.delete(id);
    if (key) await this.abandon(key);
  }

  /** Drops the intent of a unit that failed before any entry was written. */
  async abandon(key: string): Promise<void> {
    await this.d.jsm.streams.purge(this.d.kvStream, { filter: `$KV.${this.kvBucket()}.${key}` }).catch(() => {});
  }

  private kvBucket(): string {
    return this.d.kvStream.slice('KV_'.length);
  }

  /** Redoes intents older than INTENT_AGE_MS: the entries not written yet (unless the name moved on), then the appends, then the intent goes. */
  async recover(): Promise<number> {
    const keys: string[] = [];
    for await (const k of await this.d.kv.keys('i.>')) keys.push(k);
    let redone = 0;
    for (const k of keys) {
      const e = await this.d.kv.get(k);
      if (!e || e.operation !== 'PUT') continue;
      const intent = decodeIntent(e.value);
      if (this.d.clock.now() - intent.at < INTENT_AGE_MS) continue;
      await this.redo(intent);
      await this.abandon(k);
      redone++;
    }
    return redone;
  }

  private async redo(intent: Intent): Promise<void> {
    let visible = false;
    for (const op of intent.ops) {
      const cur = await this.d.kv.get(op.key);
      const e = live(cur);
      const done = op.entry === null ? !e || (cur?.revision ?? 0) > op.rev : e?.w === op.entry.w;
      if (done) visible = true;
      else if ((cur?.revision ?? 0) === op.rev) {
        await this.applyOne(op).then(() => (visible = true), () => {});
      }
    }
    if (visible || intent.ops.length === 0) await this.d.publish(intent.appends, intent.unit);
  }

  /**
   * Purges chunk subjects no entry, intent or staging of this process points at, whose last chunk
   * is older than the staged TTL: staged leftovers of dead processes, content of deleted or
   * replaced objects. Redoes old intents first. Returns how many subjects it purged.
   */
  async sweep(): Promise<number> {
    await this.recover();
    const now = this.d.clock.now();
    for (const s of this.staged.expired(now)) await this.purge(s.id, seqsOf(s.piece)).catch(() => {});
    const marked = new Set<string>([...this.staging, ...this.staged.ids()]);
    const keys: string[] = [];
    for await (const k of await this.d.kv.keys('>')) keys.push(k);
    await mapLimit(keys, KV_READS, async (k) => {
      const e = await this.d.kv.get(k);
      if (e?.operation !== 'PUT') return;
      const entries = k.startsWith('i.') ? decodeIntent(e.value).ops.flatMap((op) => (op.entry ? [op.entry] : [])) : [decodeEntry(e.value)];
      for (const entry of entries) for (const p of entry.p) marked.add(p.id);
    });
    const info = await this.d.jsm.streams.info(this.stream, { subjects_filter: this.subject('>') });
    const ttl = this.d.stagedTtlMs ?? DEFAULT_STAGED_TTL_MS;
    let purged = 0;
    for (const subject of Object.keys(info.state.subjects ?? {})) {
      const id = subject.slice(this.subject('').length);
      if (marked.has(id)) continue;
      const last = await this.d.jsm.direct.getMessage(this.stream, { last_by_subj: subject });
      if (last && now - last.time.getTime() <= ttl) continue;
      await this.purge(id);
      purged++;
    }
    return purged;
  }
}

/** The stream sequences of a piece's chunks. */
const seqsOf = (p: PieceRef): number[] => p.r.flatMap(([first, count]) => Array.from({ length: count }, (_, k) => first + k));
const isRef = (p: ObjectPiece): p is ObjectRef => typeof (p as ObjectRef).object === 'string';
const nameOf = (name: string, field = 'name') => (checkObjectName(name, field), name);
const live = (e: KvEntry | null): Entry | undefined => (e && e.operation === 'PUT' ? decodeEntry(e.value) : undefined);

export { isStorageFull };

/** A failed chunk publish (after the 'nats' dependency's retries): StorageFullError when JetStream is full, else EngineUnavailableError (retriable). */
function storageError(stream: string, e: unknown): Error {
  const message = ((e instanceof EngineUnavailableError ? e.cause : e) as Error)?.message ?? String(e);
  if (isStorageFull(e)) return new StorageFullError(`JetStream has no storage left for stream ${stream} (nothing of the object was kept): ${message}`, { cause: e });
  return new EngineUnavailableError(`NATS: a chunk of the object was not stored (nothing of it was kept): ${message}`, { cause: e });
}

/** The sorted names from `key` (inclusive or not) while below `below`. */
function* scanSorted(names: Buffer[], key: Buffer, inclusive: boolean, below: Buffer | undefined): Generator<[Buffer, Buffer]> {
  let lo = 0;
  let hi = names.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    const c = Buffer.compare(names[mid]!, key);
    if (c < 0 || (c === 0 && !inclusive)) lo = mid + 1;
    else hi = mid;
  }
  for (let i = lo; i < names.length; i++) {
    if (below && Buffer.compare(names[i]!, below) >= 0) return;
    yield [names[i]!, names[i]!];
  }
}

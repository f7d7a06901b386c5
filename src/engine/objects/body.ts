// Reading an object's body for staging: cut into pieces of a fixed size (~1 MiB) made of views of
// the body's own buffers (nothing copied, nothing allocated per piece), hashed over those same
// buffers as they arrive, each piece handed to the engine's sink, which keeps its own writes in
// flight; a byte limit and the caller's signal (which also interrupts a body that stalls).
import { DEFAULT_STAGED_TTL_MS, MAX_OBJECT_BYTES, type Checksums, type ObjectBody, type StageOptions } from '../engine.js';
import { InvalidArgumentError, ObjectTooLargeError } from '../errors.js';
import { BodyDigests } from './checksums.js';

/** Staged pieces are this large (the last one may be smaller): few writes or messages, little memory per upload. */
export const STAGE_CHUNK_BYTES = 1024 * 1024;

export interface StagedBody {
  size: number;
  md5: string;
  checksums: Checksums;
}

/**
 * Where staged pieces go. `write` gets each piece in order, as views of the body's buffers (which
 * it may keep until they are stored) and their total size, exactly the chunk size but for the
 * last; it resolves when the sink takes another piece (its own window of writes in flight).
 * `flush` resolves once every piece is stored, or rejects with the first failure.
 */
export interface StageSink {
  write(piece: readonly Uint8Array[], size: number): Promise<void>;
  flush(): Promise<void>;
}

export function checkStageOptions(o: StageOptions | undefined): number {
  const maxBytes = o?.maxBytes ?? MAX_OBJECT_BYTES;
  if (!Number.isSafeInteger(maxBytes) || maxBytes < 0) throw new InvalidArgumentError(`maxBytes must be a non-negative integer, got ${maxBytes}`, 'maxBytes');
  return maxBytes;
}

/** Feeds the whole body to `sink` in pieces of `chunkBytes`; throws on abort, limit, a body or a sink error (after the sink settled). */
export async function stageBody(body: ObjectBody, options: StageOptions | undefined, sink: StageSink, chunkBytes = STAGE_CHUNK_BYTES): Promise<StagedBody> {
  const maxBytes = checkStageOptions(options);
  options?.signal?.throwIfAborted();
  const digests = new BodyDigests(options?.checksums);
  const pieces = new Pieces(chunkBytes);
  let size = 0;
  const take = async (data: Uint8Array) => {
    size += data.length;
    if (size > maxBytes) throw new ObjectTooLargeError(maxBytes);
    digests.update(data);
    for (let at = 0; at < data.length; ) {
      at = pieces.add(data, at);
      if (pieces.full) await sink.write(...pieces.take());
    }
  };
  const reader = body instanceof Uint8Array ? undefined : new BodyReader(body, options?.signal);
  try {
    if (!reader) await take(body as Uint8Array);
    else for (let data = await reader.next(); data !== undefined; data = await reader.next()) await take(data);
    if (pieces.size > 0) await sink.write(...pieces.take());
    await sink.flush();
  } catch (e) {
    reader?.close();
    await sink.flush().catch(() => {});
    throw e;
  }
  return { size, ...digests.finish() };
}

/** The piece being filled: views of the body's chunks, up to `chunkBytes`. */
class Pieces {
  private views: Uint8Array[] = [];
  size = 0;
  constructor(private readonly chunkBytes: number) {}

  get full(): boolean {
    return this.size === this.chunkBytes;
  }

  /** Adds what fits of `data` from `at`; returns where the rest starts. */
  add(data: Uint8Array, at: number): number {
    const n = Math.min(data.length - at, this.chunkBytes - this.size);
    this.views.push(at === 0 && n === data.length ? data : data.subarray(at, at + n));
    this.size += n;
    return at + n;
  }

  take(): [readonly Uint8Array[], number] {
    const out: [Uint8Array[], number] = [this.views, this.size];
    this.views = [];
    this.size = 0;
    return out;
  }
}

/**
 * A body's chunks, read one at a time (undefined at the end). An abort rejects even a read that
 * waits (a stalled upload) through one listener for the whole body, which rejects the read in
 * progress: no promise or listener outlives the read it was made for.
 */
export class BodyReader {
  private readonly it: AsyncIterator<Uint8Array>;
  private reject: ((e: unknown) => void) | undefined;
  private done = false;
  private readonly onAbort = () => this.reject?.(this.signal!.reason);

  constructor(body: AsyncIterable<Uint8Array>, private readonly signal: AbortSignal | undefined) {
    this.it = body[Symbol.asyncIterator]();
    signal?.addEventListener('abort', this.onAbort, { once: true });
  }

  async next(): Promise<Uint8Array | undefined> {
    const signal = this.signal;
    let r: IteratorResult<Uint8Array>;
    if (!signal) r = await this.it.next();
    else {
      signal.throwIfAborted();
      r = await new Promise<IteratorResult<Uint8Array>>((resolve, reject) => {
        this.reject = reject;
        this.it.next().then(resolve, reject);
      });
      this.reject = undefined;
    }
    if (!r.done) return r.value;
    this.done = true;
    this.detach();
    return undefined;
  }

  /** Stops reading: the listener goes, and a body not read to its end is closed. */
  close(): void {
    this.detach();
    if (!this.done) void Promise.resolve(this.it.return?.()).catch(() => {});
    this.done = true;
  }

  private detach(): void {
    this.signal?.removeEventListener('abort', this.onAbort);
    this.reject = undefined;
  }
}

/** Staged objects of this process not committed or discarded, by id, with when they were staged. */
export class StagedSet<T> {
  private readonly items = new Map<string, { item: T; at: number }>();
  constructor(private readonly ttlMs = DEFAULT_STAGED_TTL_MS) {}

  add(id: string, item: T, now: number): void {
    this.items.set(id, { item, at: now });
  }
  get(id: string): T | undefined {
    return this.items.get(id)?.item;
  }
  delete(id: string): boolean {
    return this.items.delete(id);
  }
  has(id: string): boolean {
    return this.items.has(id);
  }
  ids(): IterableIterator<string> {
    return this.items.keys();
  }
  /** Takes out and returns the items staged longer than the TTL ago. */
  expired(now: number): T[] {
    const out: T[] = [];
    for (const [id, { item, at }] of this.items) if (now - at > this.ttlMs) (this.items.delete(id), out.push(item));
    return out;
  }
}

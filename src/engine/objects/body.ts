// Reading an object's body for staging: in chunks of a fixed size (~1 MiB), hashed as they pass,
// each handed to the engine's sink while the next one fills; a byte limit and the caller's signal
// (which also interrupts a body that stalls between chunks).
import { DEFAULT_STAGED_TTL_MS, MAX_OBJECT_BYTES, type Checksums, type ObjectBody, type StageOptions } from '../engine.js';
import { InvalidArgumentError, ObjectTooLargeError } from '../errors.js';
import { BodyDigests } from './checksums.js';

/** Staged chunks are about this large: few writes or messages, little memory per upload. */
export const STAGE_CHUNK_BYTES = 1024 * 1024;

export interface StagedBody {
  size: number;
  md5: string;
  checksums: Checksums;
}

/** Where staged chunks go; `write` may resolve before the bytes are stored (nats keeps a window), `end` once all are. */
export interface StageSink {
  write(chunk: Buffer): Promise<void>;
}

export function checkStageOptions(o: StageOptions | undefined): number {
  const maxBytes = o?.maxBytes ?? MAX_OBJECT_BYTES;
  if (!Number.isSafeInteger(maxBytes) || maxBytes < 0) throw new InvalidArgumentError(`maxBytes must be a non-negative integer, got ${maxBytes}`, 'maxBytes');
  return maxBytes;
}

/** Feeds the whole body to `sink` in chunks of `chunkBytes`, one write in flight; throws on abort, limit, or a body error. */
export async function stageBody(body: ObjectBody, options: StageOptions | undefined, sink: StageSink, chunkBytes = STAGE_CHUNK_BYTES): Promise<StagedBody> {
  const maxBytes = checkStageOptions(options);
  const signal = options?.signal;
  signal?.throwIfAborted();
  const digests = new BodyDigests(options?.checksums);
  let size = 0;
  let buf = Buffer.allocUnsafe(chunkBytes);
  let filled = 0;
  let pending: Promise<void> | undefined;
  const flush = async () => {
    if (filled === 0) return;
    const chunk = buf.subarray(0, filled);
    digests.update(chunk);
    if (pending) await pending;
    pending = sink.write(chunk);
    buf = Buffer.allocUnsafe(chunkBytes);
    filled = 0;
  };
  const take = async (data: Uint8Array) => {
    size += data.length;
    if (size > maxBytes) throw new ObjectTooLargeError(maxBytes);
    for (let at = 0; at < data.length; ) {
      const n = Math.min(data.length - at, chunkBytes - filled);
      buf.set(data.subarray(at, at + n), filled);
      filled += n;
      at += n;
      if (filled === chunkBytes) await flush();
    }
  };
  try {
    if (body instanceof Uint8Array) await take(body);
    else for await (const data of abortable(body, signal)) await take(data);
    await flush();
    if (pending) await pending;
  } catch (e) {
    await pending?.catch(() => {});
    throw e;
  }
  return { size, ...digests.finish() };
}

/** The body's chunks; an abort rejects even a read that waits (a stalled upload), and closes the body. */
async function* abortable(body: AsyncIterable<Uint8Array>, signal: AbortSignal | undefined): AsyncGenerator<Uint8Array> {
  const it = body[Symbol.asyncIterator]();
  let onAbort: (() => void) | undefined;
  const aborted = signal
    ? new Promise<never>((_, reject) => {
        onAbort = () => reject(signal.reason);
        signal.addEventListener('abort', onAbort, { once: true });
      })
    : undefined;
  aborted?.catch(() => {});
  let done = false;
  try {
    for (;;) {
      const r = aborted ? await Promise.race([it.next(), aborted]) : await it.next();
      if (r.done) {
        done = true;
        return;
      }
      signal?.throwIfAborted();
      yield r.value;
    }
  } finally {
    if (onAbort) signal!.removeEventListener('abort', onAbort);
    if (!done) void Promise.resolve(it.return?.()).catch(() => {});
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

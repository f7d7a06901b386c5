// Kinesis-only stream metadata (tags, capacity mode), one state key per stream in the engine's
// state store. It records the stream's createdAt, so metadata left by a deleted stream of the same
// name (deleted through the native API, say) does not match its successor and is ignored.
import type { Engine, StateEntry } from '../../engine/engine.js';
import { ConflictError } from '../../engine/errors.js';
import { ACCOUNT, KinesisError } from './errors.js';

export const META_PREFIX = '_sluice/kinesis/streams/';
export const MAX_META_ATTEMPTS = 5; // compare-and-set attempts before a concurrent writer wins

export type StreamMode = 'PROVISIONED' | 'ON_DEMAND';

export interface StreamMeta {
  /** The createdAt of the stream this metadata belongs to. */
  createdAt: number;
  mode: StreamMode;
  tags: Map<string, string>;
}

interface StoredMeta {
  createdAt: number;
  mode: StreamMode;
  tags: [string, string][];
}

const keyOf = (stream: string) => META_PREFIX + stream;
const fresh = (createdAt: number): StreamMeta => ({ createdAt, mode: 'PROVISIONED', tags: new Map() });

function parse(entry: StateEntry): StreamMeta | undefined {
  try {
    const m = JSON.parse(Buffer.from(entry.value).toString('utf8')) as StoredMeta;
    return { createdAt: m.createdAt, mode: m.mode, tags: new Map(m.tags) };
  } catch {
    return undefined;
  }
}

function decode(entry: StateEntry | undefined, createdAt: number): StreamMeta | undefined {
  const m = entry && parse(entry);
  return m?.createdAt === createdAt ? m : undefined;
}

const encode = (m: StreamMeta): Uint8Array =>
  Buffer.from(JSON.stringify({ createdAt: m.createdAt, mode: m.mode, tags: [...m.tags] } satisfies StoredMeta));

/** A stream's metadata; a stream without any (or with a predecessor's) is PROVISIONED and untagged. */
export async function readMeta(engine: Engine, stream: { name: string; createdAt: number }): Promise<StreamMeta> {
  return decode(await engine.getState(keyOf(stream.name)), stream.createdAt) ?? fresh(stream.createdAt);
}

/** The metadata of every stream that has some, by stream name (callers match createdAt themselves). */
export async function readAllMeta(engine: Engine): Promise<Map<string, StreamMeta>> {
  const out = new Map<string, StreamMeta>();
  for (const [key, entry] of await engine.listState(META_PREFIX)) {
    const m = parse(entry);
    if (m) out.set(key.slice(META_PREFIX.length), m);
  }
  return out;
}

/** Replaces a stream's metadata, whatever was there (a new stream's first write). */
export async function writeMeta(engine: Engine, stream: string, meta: StreamMeta): Promise<void> {
  await engine.commit({ state: [{ key: keyOf(stream), value: encode(meta) }] });
}

/** Deletes a stream's metadata (with the stream, through DeleteStream). */
export async function deleteMeta(engine: Engine, stream: string): Promise<void> {
  await engine.commit({ state: [{ key: keyOf(stream), value: null }] });
}

/** Reads, changes and writes a stream's metadata with compare-and-set; `change` may throw to refuse. */
export async function changeMeta(engine: Engine, stream: { name: string; createdAt: number }, change: (m: StreamMeta) => void): Promise<StreamMeta> {
  for (let attempt = 0; attempt < MAX_META_ATTEMPTS; attempt++) {
    const entry = await engine.getState(keyOf(stream.name));
    const meta = decode(entry, stream.createdAt) ?? fresh(stream.createdAt);
    change(meta);
    try {
      await engine.commit({ state: [{ key: keyOf(stream.name), value: encode(meta), expectedVersion: entry?.version ?? 0 }] });
      return meta;
    } catch (e) {
      if (!(e instanceof ConflictError)) throw e;
    }
  }
  throw new KinesisError('ResourceInUseException', `Stream ${stream.name} under account ${ACCOUNT} is being updated by another request.`);
}

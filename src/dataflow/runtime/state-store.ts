// A keyed unit's operator state in the engine (decision 007): a base snapshot and the changes of the
// epochs after it, each split into chunks, under the unit's state key (`<unit key>/b|d/<epoch>/<i>`).
// An epoch writes only the keys that changed; once the changes outgrow the base, the epoch writes a
// new base instead and drops the old segments. The unit's own key (written after the chunks) says
// which segments make its state, so chunks of an epoch that never committed are never read.
import type { Engine, StateWrite } from '../../engine/engine.js';
import type { NodeChange, StateEntry } from '../executor.js';
import { decode } from './wire.js';

/** Bytes per chunk (well under NATS' default max_payload of 1 MB). */
const CHUNK_BYTES = 256 * 1024;
/** Changes are folded into a new base once they outgrow both this many times the base, and MIN_COMPACT_BYTES. */
const COMPACT_RATIO = 2;
const MIN_COMPACT_BYTES = 1024 * 1024;

export interface Segment {
  epoch: number;
  chunks: number;
  bytes: number;
}

/** Which segments hold a unit's state: a base, then deltas in epoch order. */
export interface StoreRef {
  base: Segment | null;
  deltas: Segment[];
}

export const EMPTY_STORE: StoreRef = { base: null, deltas: [] };

const keysOf = (unitKey: string, kind: 'b' | 'd', s: Segment) => Array.from({ length: s.chunks }, (_, i) => `${unitKey}/${kind}/${s.epoch}/${i}`);

export interface StoreLimits {
  chunkBytes: number;
  compactBytes: number;
}

const LIMITS: StoreLimits = { chunkBytes: CHUNK_BYTES, compactBytes: MIN_COMPACT_BYTES };

/** The items as one JSON text, cut into slices of chunkBytes (a single key's state may be larger than one). */
function chunk(items: unknown[], chunkBytes: number): Buffer[] {
  const text = Buffer.from(JSON.stringify(items));
  const out: Buffer[] = [];
  for (let i = 0; i < text.length; i += chunkBytes) out.push(text.subarray(i, i + chunkBytes));
  return out;
}

function segment(unitKey: string, kind: 'b' | 'd', epoch: number, items: unknown[], chunkBytes: number): { seg: Segment; writes: StateWrite[] } {
  const chunks = chunk(items, chunkBytes);
  const seg: Segment = { epoch, chunks: chunks.length, bytes: chunks.reduce((n, c) => n + c.length, 0) };
  return { seg, writes: keysOf(unitKey, kind, seg).map((key, i) => ({ key, value: chunks[i]! })) };
}

/**
 * An epoch's state writes: `before` the unit's key (its changes, or a new base), the unit's new
 * ref, and `after` the unit's key (old segments a new base replaced).
 */
export function saveState(unitKey: string, ref: StoreRef, epoch: number, changes: NodeChange[], all: () => StateEntry[], limits = LIMITS): { before: StateWrite[]; after: StateWrite[]; ref: StoreRef } {
  if (changes.length === 0) return { before: [], after: [], ref };
  const delta = segment(unitKey, 'd', epoch, changes, limits.chunkBytes);
  const held = ref.deltas.reduce((n, d) => n + d.bytes, 0) + delta.seg.bytes;
  if (held <= Math.max(limits.compactBytes, COMPACT_RATIO * (ref.base?.bytes ?? 0))) return { before: delta.writes, after: [], ref: { base: ref.base, deltas: [...ref.deltas, delta.seg] } };
  const base = segment(unitKey, 'b', epoch, all(), limits.chunkBytes);
  const old = [...(ref.base ? keysOf(unitKey, 'b', ref.base) : []), ...ref.deltas.flatMap((d) => keysOf(unitKey, 'd', d))];
  return { before: base.writes, after: old.map((key) => ({ key, value: null })), ref: { base: base.seg, deltas: [] } };
}

/** Reads the segments a ref names. */
export async function loadState(engine: Engine, unitKey: string, ref: StoreRef): Promise<{ base: StateEntry[]; deltas: NodeChange[][] }> {
  const read = async (keys: string[]) => {
    const entries = await Promise.all(keys.map((k) => engine.getState(k)));
    return decode(Buffer.concat(entries.map((e, i) => {
      if (!e) throw new Error(`state chunk '${keys[i]}' is missing`);
      return e.value;
    }))) as unknown[];
  };
  const base = ref.base ? ((await read(keysOf(unitKey, 'b', ref.base))) as StateEntry[]) : [];
  const deltas = await Promise.all(ref.deltas.map(async (d) => (await read(keysOf(unitKey, 'd', d))) as NodeChange[]));
  return { base, deltas };
}

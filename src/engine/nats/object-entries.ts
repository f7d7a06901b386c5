// The nats engine's object index (decision 018): one KV entry per object name in bucket
// `<prefix>_objects`, keyed by the name's '/'-separated segments in hex; the content as pieces,
// each a chunk subject of the Object Store stream with its chunks' stream sequences as runs.
import type { ObjectInfo } from '../engine.js';

/** A piece of content: chunk subject id, byte size, chunk size, and the chunks' sequences as [first, count] runs. */
export interface PieceRef {
  id: string;
  size: number;
  c: number;
  r: [number, number][];
}

export interface Entry {
  /** Version. */
  v: number;
  /** Write id: unique per write, so recovery can tell whether its write is the one there. */
  w: string;
  size: number;
  etag: string;
  md5?: string;
  mtime: number;
  meta: Record<string, string>;
  cks: ObjectInfo['checksums'];
  p: PieceRef[];
}

const hex = (s: string) => Buffer.from(s, 'utf8').toString('hex') || '_';
const unhex = (s: string) => (s === '_' ? '' : Buffer.from(s, 'hex').toString('utf8'));

export const entryKey = (name: string) => 'o.' + name.split('/').map(hex).join('.');
export const nameOfKey = (key: string) => key.slice(2).split('.').map(unhex).join('/');
export const intentKey = (unit: string) => 'i.' + Buffer.from(unit, 'utf8').toString('hex');

/** The KV filter for names starting with `prefix`: its complete segments narrow the scan on the server. */
export function filterOf(prefix: string): string {
  const whole = prefix.split('/').slice(0, -1);
  return 'o.' + (whole.length ? whole.map(hex).join('.') + '.' : '') + '>';
}

export const encodeEntry = (e: Entry) => Buffer.from(JSON.stringify(e));
export const decodeEntry = (b: Uint8Array) => JSON.parse(Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('utf8')) as Entry;

export function infoOf(name: string, e: Entry): ObjectInfo {
  return { name, size: e.size, version: e.v, etag: e.etag, ...(e.md5 !== undefined ? { md5: e.md5 } : {}), modified: e.mtime, metadata: e.meta, checksums: e.cks };
}

/** Sequences in order as [first, count] runs (uploads alone in the stream give one run). */
export function runsOf(seqs: number[]): [number, number][] {
  const runs: [number, number][] = [];
  for (const s of seqs) {
    const last = runs[runs.length - 1];
    if (last && last[0] + last[1] === s) last[1]++;
    else runs.push([s, 1]);
  }
  return runs;
}

/** The stream sequence of chunk `k` of a piece. */
export function seqAt(p: PieceRef, k: number): number {
  for (const [first, count] of p.r) {
    if (k < count) return first + k;
    k -= count;
  }
  throw new Error(`object piece ${p.id} has no chunk ${k}`);
}

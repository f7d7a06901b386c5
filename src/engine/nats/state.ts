// State and consumer offsets of the nats engine, in one KV bucket. A value carries its own version
// (u32 before the bytes) because a KV revision is the bucket's sequence, not a per-key count;
// compare-and-set uses the revision read, so a concurrent writer makes `update` fail.
import type { KV, KvEntry } from '@nats-io/kv';
import type { StateEntry } from '../engine.js';
import { ConflictError } from '../errors.js';

/** KV keys allow few characters: each '/'-separated segment of a key is hex-encoded. */
export const stateKey = (key: string) => 's.' + key.split('/').map(hex).join('.');
export const offsetKey = (group: string, stream: string, partition?: number) =>
  `o.${hex(group)}.${hex(stream)}` + (partition === undefined ? '' : `.${partition}`);
const hex = (s: string) => Buffer.from(s, 'utf8').toString('hex') || '_';
const unhex = (s: string) => (s === '_' ? '' : Buffer.from(s, 'hex').toString('utf8'));

export interface Current {
  version: number;
  revision: number;
}

export class StateStore {
  constructor(private readonly kv: KV) {}

  async get(key: string): Promise<StateEntry | undefined> {
    const e = await this.kv.get(stateKey(key));
    return e && live(e) ? decode(e) : undefined;
  }

  async list(prefix: string): Promise<Map<string, StateEntry>> {
    const segments = prefix.split('/');
    const whole = segments.slice(0, -1); // complete segments filter on the server, the rest here
    const filter = 's.' + (whole.length ? whole.map(hex).join('.') + '.' : '') + '>';
    const keys: string[] = [];
    for await (const k of await this.kv.keys(filter)) keys.push(k);
    const out = new Map<string, StateEntry>();
    for (const k of keys.sort()) {
      const key = k.slice(2).split('.').map(unhex).join('/');
      if (!key.startsWith(prefix)) continue;
      const entry = await this.get(key);
      if (entry) out.set(key, entry);
    }
    return new Map([...out.entries()].sort(([a], [b]) => (a < b ? -1 : 1)));
  }

  /** The key's version and KV revision now; throws ConflictError when `expected` differs. */
  async check(key: string, expected: number | undefined): Promise<Current> {
    const e = await this.kv.get(stateKey(key));
    const current = e && live(e) ? { version: decode(e).version, revision: e.revision } : { version: 0, revision: e?.revision ?? 0 };
    if (expected !== undefined && expected !== current.version) throw new ConflictError(key, expected, current.version);
    return current;
  }

  /** Writes (or deletes, value null) at the revision checked; ConflictError if it moved since. */
  async write(key: string, value: Uint8Array | null, at: Current, compareAndSet: boolean): Promise<number> {
    const k = stateKey(key);
    try {
      if (value === null) {
        await this.kv.delete(k, compareAndSet && at.revision ? { previousSeq: at.revision } : {});
        return 0;
      }
      const data = encode(at.version + 1, value);
      if (!compareAndSet) await this.kv.put(k, data);
      else if (at.revision === 0) await this.kv.create(k, data);
      else await this.kv.update(k, data, at.revision);
      return at.version + 1;
    } catch (e) {
      if (compareAndSet && /wrong last sequence|key exists/i.test((e as Error).message)) throw new ConflictError(key, at.version, -1);
      throw e;
    }
  }

  async getOffsets(group: string, stream: string): Promise<Map<number, number>> {
    const out = new Map<number, number>();
    for await (const k of await this.kv.keys(offsetKey(group, stream) + '.*')) {
      const e = await this.kv.get(k);
      if (e && live(e)) out.set(Number(k.slice(k.lastIndexOf('.') + 1)), Number(Buffer.from(e.value).toString()));
    }
    return new Map([...out.entries()].sort(([a], [b]) => a - b));
  }

  async putOffset(group: string, stream: string, partition: number, offset: number): Promise<void> {
    await this.kv.put(offsetKey(group, stream, partition), String(offset));
  }
}

const live = (e: KvEntry) => e.operation === 'PUT';

function encode(version: number, value: Uint8Array): Uint8Array {
  const out = Buffer.allocUnsafe(4 + value.length);
  out.writeUInt32BE(version, 0);
  out.set(value, 4);
  return out;
}

function decode(e: KvEntry): StateEntry {
  const b = Buffer.from(e.value.buffer, e.value.byteOffset, e.value.byteLength);
  return { version: b.readUInt32BE(0), value: b.subarray(4) };
}

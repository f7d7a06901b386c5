// Record-id de-duplication of the nats engine: one KV bucket per stream, TTL = the stream's
// window; a value is "partition:offset:time:msgID" — where the record is, when it was stored, and
// the message that holds it. JetStream's own duplicate window works per message (a chunk of an
// append, append.ts); these entries carry it across requests that group the same ids otherwise.
// The time check uses the engine's clock.
import type { Kvm, KV } from '@nats-io/kv';
import type { AppendRecord } from '../engine.js';
import { mapLimit } from '../limit.js';
import { guardKv } from './guard.js';
import type { NatsRequests } from './requests.js';

interface Meta {
  id: string;
  dedupWindowMs: number;
}

/** Where a record id was stored, and by which message. */
export interface Stored {
  partition: number;
  offset: number;
  msgID: string;
}

/** KV requests in flight at once per append (each answer is small; a request holds 10,000 records at most). */
const MAX_INFLIGHT = 64;

export class DedupStore {
  private readonly buckets = new Map<string, KV>();

  /** `requests`: the 'nats' dependency the buckets' requests go through. */
  constructor(private readonly kvm: Kvm, private readonly prefix: string, private readonly replicas: number, private readonly requests: NatsRequests) {}

  async create(streamId: string, windowMs: number): Promise<void> {
    if (windowMs > 0) await this.bucket(streamId, windowMs);
  }

  async drop(streamId: string): Promise<void> {
    const kv = this.buckets.get(streamId) ?? (await this.requests.run(() => this.kvm.open(this.name(streamId))).catch(() => undefined));
    await kv?.destroy().catch(() => false);
    this.buckets.delete(streamId);
  }

  /** The records (by index) whose id was stored within the window, and where. */
  async lookup(m: Meta, records: AppendRecord[], indexes: number[], now: number): Promise<Map<number, Stored>> {
    const found = new Map<number, Stored>();
    const withIds = indexes.filter((i) => records[i]!.id !== undefined);
    if (m.dedupWindowMs <= 0 || withIds.length === 0) return found;
    const kv = await this.bucket(m.id, m.dedupWindowMs);
    await mapLimit(withIds, MAX_INFLIGHT, async (i) => {
      const e = await kv.get(keyOf(records[i]!.id!));
      if (e?.operation !== 'PUT') return;
      const text = e.string();
      const [p, o, t] = text.split(':', 3).map(Number) as [number, number, number];
      if (now - t >= m.dedupWindowMs) return;
      found.set(i, { partition: p, offset: o, msgID: text.split(':').slice(3).join(':') });
    });
    return found;
  }

  /**
   * Records where ids were stored. Best effort: the records are stored whatever happens here, and a
   * retry of the same request is still dropped by JetStream under the same message ids.
   */
  async remember(m: Meta, entries: { id: string; at: Stored }[], now: number): Promise<boolean> {
    if (m.dedupWindowMs <= 0 || entries.length === 0) return true;
    try {
      const kv = await this.bucket(m.id, m.dedupWindowMs);
      await mapLimit(entries, MAX_INFLIGHT, ({ id, at }) => kv.put(keyOf(id), `${at.partition}:${at.offset}:${now}:${at.msgID}`));
      return true;
    } catch {
      return false;
    }
  }

  private async bucket(streamId: string, windowMs: number): Promise<KV> {
    let kv = this.buckets.get(streamId);
    if (!kv) {
      kv = guardKv(await this.requests.run(() => this.kvm.create(this.name(streamId), { history: 1, ttl: Math.max(1000, windowMs), replicas: this.replicas })), this.requests);
      this.buckets.set(streamId, kv);
    }
    return kv;
  }

  private name(streamId: string): string {
    return `${this.prefix}_dedup_${streamId}`;
  }
}

const keyOf = (id: string) => Buffer.from(id, 'utf8').toString('hex');

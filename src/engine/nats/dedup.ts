// Record-id de-duplication of the nats engine: one KV bucket per stream, TTL = the stream's
// window; a value is "partition:offset:time". JetStream's own duplicate window works per message
// (a batch), so records are remembered here; the time check uses the engine's clock.
import type { Kvm, KV } from '@nats-io/kv';
import type { AppendRecord, AppendResult } from '../engine.js';

interface Meta {
  id: string;
  dedupWindowMs: number;
}

export interface DedupCheck {
  /** Indexes of the records to store. */
  pending: number[];
  /** [copy, first]: a record whose id appeared earlier in the same append. */
  copies: [number, number][];
}

export class DedupStore {
  private readonly buckets = new Map<string, KV>();

  constructor(private readonly kvm: Kvm, private readonly prefix: string, private readonly replicas: number) {}

  async create(streamId: string, windowMs: number): Promise<void> {
    if (windowMs > 0) await this.bucket(streamId, windowMs);
  }

  async drop(streamId: string): Promise<void> {
    const kv = this.buckets.get(streamId) ?? (await this.kvm.open(this.name(streamId)).catch(() => undefined));
    await kv?.destroy().catch(() => false);
    this.buckets.delete(streamId);
  }

  /** Fills `results` for records already stored within the window; returns the rest to store. */
  async check(m: Meta, records: AppendRecord[], now: number, results: AppendResult[]): Promise<DedupCheck> {
    const out: DedupCheck = { pending: [], copies: [] };
    const useIds = m.dedupWindowMs > 0 && records.some((r) => r.id !== undefined);
    const kv = useIds ? await this.bucket(m.id, m.dedupWindowMs) : undefined;
    const first = new Map<string, number>(); // id → index of its first record in this append
    const lookups: Promise<void>[] = [];
    records.forEach((r, i) => {
      if (r.id === undefined || !kv) return void out.pending.push(i);
      const f = first.get(r.id);
      if (f !== undefined) return void out.copies.push([i, f]);
      first.set(r.id, i);
      lookups.push(
        kv.get(keyOf(r.id)).then((e) => {
          const [p, o, t] = e?.operation === 'PUT' ? (e.string().split(':').map(Number) as [number, number, number]) : [];
          if (t !== undefined && now - t < m.dedupWindowMs) results[i] = { partition: p!, offset: o!, duplicate: true };
          else out.pending.push(i);
        }),
      );
    });
    await Promise.all(lookups);
    out.pending.sort((a, b) => a - b);
    return out;
  }

  /** Remembers the ids of stored records and resolves in-append copies. */
  async remember(m: Meta, records: AppendRecord[], check: DedupCheck, results: AppendResult[], now: number): Promise<void> {
    const kv = this.buckets.get(m.id);
    const puts: Promise<unknown>[] = [];
    for (const i of check.pending) {
      const r = results[i];
      const id = records[i]!.id;
      if (kv && id !== undefined && r && 'offset' in r && !r.duplicate) puts.push(kv.put(keyOf(id), `${r.partition}:${r.offset}:${now}`));
    }
    await Promise.all(puts);
    for (const [copy, f] of check.copies) {
      const r = results[f]!;
      results[copy] = 'offset' in r ? { partition: r.partition, offset: r.offset, duplicate: true } : r;
    }
  }

  private async bucket(streamId: string, windowMs: number): Promise<KV> {
    let kv = this.buckets.get(streamId);
    if (!kv) {
      kv = await this.kvm.create(this.name(streamId), { history: 1, ttl: Math.max(1000, windowMs), replicas: this.replicas });
      this.buckets.set(streamId, kv);
    }
    return kv;
  }

  private name(streamId: string): string {
    return `${this.prefix}_dedup_${streamId}`;
  }
}

const keyOf = (id: string) => Buffer.from(id, 'utf8').toString('hex');

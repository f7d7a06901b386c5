// One partition of an archived stream: reads its records in order, writes them as NDJSON lines
// into the open object (roll.ts), and commits each object with the partition's resume offset and
// its object-created event in ONE engine commit unit — so after a crash the object and the
// offset are both there or neither, and every offset is in exactly one object.
import { asBuffer } from '../../bytes.js';
import type { Clock } from '../../clock.js';
import type { AppendRecord, CommitUnit, Engine, StoredRecord } from '../../engine/engine.js';
import type { Objects } from '../../objects/index.js';
import { archiveErrorsStream, archiveKey, archiveStateKey, META, utcDay } from './layout.js';
import type { ResolvedArchiveOptions } from './options.js';
import { Roll } from './roll.js';

export interface PartitionContext {
  engine: Engine;
  objects: Objects;
  stream: string;
  options: ResolvedArchiveOptions;
  clock: Clock;
  /** The archive run's lease: every commit is fenced on it. */
  lease: { key: string; version: number };
  /** Records read per step. */
  batch: number;
  /** Where a partition with no state starts. */
  from: 'earliest' | 'latest';
  signal: AbortSignal;
}

export interface PartitionStats {
  partition: number;
  /** Records in committed objects, objects committed, their compressed bytes, records refused (not JSON). */
  records: number;
  objects: number;
  bytes: number;
  errors: number;
  /** The resume offset: the end of the last committed object. */
  committed: number;
}

type Line = { bytes: Buffer; time: number } | { error: string };

const CONTENT_TYPE = { gzip: 'application/gzip', none: 'application/x-ndjson' };

export class ArchivePartition {
  readonly stats: PartitionStats;
  /** The next offset to read. */
  private offset = 0;
  private version = 0;
  private roll?: Roll;
  /** Records refused while no object was open: committed with the next object or offset. */
  private errors: AppendRecord[] = [];

  constructor(private readonly ctx: PartitionContext, readonly partition: number) {
    this.stats = { partition, records: 0, objects: 0, bytes: 0, errors: 0, committed: 0 };
  }

  private get key(): string {
    return archiveStateKey(this.ctx.stream, this.partition);
  }

  /** Loads the resume offset (the stream's start, or its end, when there is none). */
  async open(): Promise<void> {
    const { engine, stream, from, signal } = this.ctx;
    const entry = await engine.getState(this.key, { signal });
    if (entry) {
      this.version = entry.version;
      this.offset = (JSON.parse(Buffer.from(entry.value).toString()) as { offset: number }).offset;
    } else this.offset = await engine.resolve(stream, this.partition, from, { signal });
    this.stats.committed = this.offset;
  }

  /** Whether the open object has been open rollInterval or longer. */
  private get due(): boolean {
    return this.roll !== undefined && this.ctx.clock.now() - this.roll.opened >= this.ctx.options.rollInterval;
  }

  /** Commits an object whose time is up, then reads a batch into objects; false when there was nothing to do. */
  async step(): Promise<boolean> {
    let worked = false;
    if (this.due) {
      await this.seal();
      worked = true;
    }
    const { engine, stream, batch, signal, options } = this.ctx;
    const { records, next } = await engine.read(stream, this.partition, this.offset, batch, { signal });
    for (const r of records) {
      const line = this.lineOf(r);
      if ('error' in line) {
        this.stats.errors++;
        (this.roll?.errors ?? this.errors).push(this.errorRecord(r, line.error));
        continue;
      }
      // With arrival times an object holds one UTC day; event times may go back and forth around midnight, so they do not roll it.
      if (this.roll && options.timeField === undefined && utcDay(line.time) !== this.roll.day) await this.seal();
      if (!this.roll) {
        const done = await this.begin(r.offset, line.time);
        if (done !== undefined) {
          this.offset = done;
          return true;
        }
      }
      this.roll!.push(line.bytes, r.offset);
      if (this.roll!.bytes >= options.rollSize) await this.seal();
    }
    if (records.length > 0) worked = true;
    this.offset = next;
    if (this.roll) await this.roll.flush();
    else if (this.errors.length > 0) await this.commitOffset(next);
    return worked;
  }

  /** Commits the open object, if any (a clean stop). */
  async drain(): Promise<void> {
    if (this.roll) await this.seal();
  }

  /** Drops the open object: its records are read again by the next instance, from the committed offset. */
  async close(): Promise<void> {
    const roll = this.roll;
    this.roll = undefined;
    await roll?.abandon((s) => this.ctx.engine.discardStaged(s));
  }

  /** The record's NDJSON line and time, or why it cannot be one. */
  private lineOf(r: StoredRecord): Line {
    const bytes = asBuffer(r.value);
    const text = bytes.toString();
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (e) {
      return { error: `record at offset ${r.offset} of partition ${r.partition} is not JSON: ${(e as Error).message}` };
    }
    // A record spread over lines (pretty-printed JSON) is written on one.
    const line = text.includes('\n') || text.includes('\r') ? Buffer.from(JSON.stringify(value)) : bytes;
    return { bytes: line, time: this.timeOf(value) ?? r.timestamp };
  }

  private timeOf(value: unknown): number | undefined {
    const field = this.ctx.options.timeField;
    if (field === undefined || typeof value !== 'object' || value === null) return undefined;
    const t = (value as Record<string, unknown>)[field];
    const ms = typeof t === 'number' ? t : typeof t === 'string' ? Date.parse(t) : NaN;
    return Number.isFinite(ms) && Math.abs(ms) < 8.64e15 ? ms : undefined;
  }

  private errorRecord(r: StoredRecord, error: string): AppendRecord {
    const value = { source: this.ctx.stream, error, value: Buffer.from(r.value).toString('base64') };
    return { id: `archive/${this.ctx.stream}/${this.partition}/${r.offset}`, value: Buffer.from(JSON.stringify(value)) };
  }

  /**
   * Opens the object starting at `first`. When that object exists already and says where it ended
   * (a crash on nats after the object and before the offset, whose writes are not one transaction),
   * the offset moves past it instead, and the offset it moved to is returned.
   */
  private async begin(first: number, time: number): Promise<number | undefined> {
    const { objects, options, stream, clock, signal } = this.ctx;
    const key = archiveKey(options.prefix, time, stream, this.partition, first, options.compression);
    const existing = await this.ctx.engine.statObject(`${options.bucket}/${key}`, { signal });
    const next = Number(existing?.metadata[META.next]);
    if (existing && Number(existing.metadata[META.first]) === first && next > first) {
      await this.commitOffset(next);
      return next;
    }
    this.roll = new Roll(objects, key, first, utcDay(time), clock.now(), options.compression, signal);
    this.roll.errors.push(...this.errors.splice(0));
    return undefined;
  }

  /** The object, its errors, the offset after it and its announcement: one commit unit. */
  private async seal(): Promise<void> {
    const roll = this.roll!;
    this.roll = undefined;
    const { objects, options, stream } = this.ctx;
    try {
      const staged = await roll.finish();
      const { fence } = await objects.buckets.get(options.bucket, { signal: this.ctx.signal });
      const metadata = {
        'content-type': CONTENT_TYPE[options.compression],
        [META.stream]: stream, [META.partition]: String(this.partition), [META.first]: String(roll.first), [META.next]: String(roll.next), [META.records]: String(roll.records),
      };
      const unit: CommitUnit = {
        ...this.offsetUnit(roll.next, roll.errors),
        objects: [{ name: `${options.bucket}/${roll.key}`, content: staged, metadata }],
      };
      const r = await objects.commitWrites(options.bucket, fence, unit, [{ bucket: options.bucket, key: roll.key, event: 'ObjectCreated:Put' }], [staged]);
      this.committed(r.versions[0]!, roll.next);
      this.stats.records += roll.records;
      this.stats.objects++;
      this.stats.bytes += staged.size;
    } catch (e) {
      await roll.abandon((s) => this.ctx.engine.discardStaged(s));
      throw e;
    }
  }

  /** Moves the resume offset (with refused records, committed once). */
  private async commitOffset(next: number): Promise<void> {
    const errors = this.errors.splice(0);
    const r = await this.ctx.engine.commit(this.offsetUnit(next, errors), { signal: this.ctx.signal });
    this.committed(r.versions[0]!, next);
  }

  /** The unit that moves the offset from where it is to `next`. */
  private offsetUnit(next: number, errors: AppendRecord[]): CommitUnit {
    const { stream, lease } = this.ctx;
    const from = this.stats.committed;
    return {
      // Deterministic per offset range: a unit redone after a crash (nats) publishes nothing twice.
      id: `archive/${stream}/${this.partition}/${from}-${next}`,
      appends: errors.length ? [{ stream: archiveErrorsStream(stream), records: errors }] : [],
      state: [{ key: this.key, value: Buffer.from(JSON.stringify({ offset: next })), expectedVersion: this.version }],
      fences: [lease],
    };
  }

  private committed(version: number, next: number): void {
    this.version = version;
    this.stats.committed = next;
  }
}

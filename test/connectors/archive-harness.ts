// What the archive tests share: a partition of an archived stream on a real engine, driven step by
// step on a manual clock, and the objects it wrote read back (gunzipped) with their announcements.
import { gunzipSync } from 'node:zlib';
import { ManualClock } from '../../src/clock.js';
import { ArchivePartition, archiveLeaseKey, META, resolveArchiveOptions, type ArchiveOptions, type PartitionContext } from '../../src/connectors/archive/index.js';
import type { Engine } from '../../src/engine/engine.js';
import { Objects } from '../../src/objects/index.js';
import { allRecords } from '../support/engines.js';

/** 2024-03-05T10:00:00Z */
export const T0 = Date.UTC(2024, 2, 5, 10);
export const EVENTS = 'object-events';
export const enc = (v: unknown) => Buffer.from(JSON.stringify(v));

export interface Archived {
  key: string;
  version: number;
  metadata: Record<string, string>;
  /** The object's NDJSON lines. */
  lines: string[];
}

export interface Harness {
  engine: Engine;
  objects: Objects;
  clock: ManualClock;
  ctx: PartitionContext;
  /** A partition as a new process would open it. */
  partition(p: number): Promise<ArchivePartition>;
  /** Steps until a step finds nothing to do. */
  drainSteps(part: ArchivePartition): Promise<void>;
  /** Every object in the bucket, gunzipped, by partition and first offset (a listing's byte order puts 131072 before 65536). */
  archived(): Promise<Archived[]>;
  /** The announcements: `{bucket, key, event, version}` each. */
  announced(): Promise<{ bucket: string; key: string; event: string; version: number }[]>;
}

/** An archived stream `s` (`partitions` partitions) into bucket `arch`, on the engine `open` gives; arrival times from `clock`. */
export async function harness(open: (clock: ManualClock) => Promise<Engine>, options: Partial<ArchiveOptions> = {}, partitions = 2): Promise<Harness> {
  const clock = new ManualClock(T0);
  const engine = await open(clock);
  const objects = new Objects(engine, {
    clock,
    announce: (events) => [{ stream: EVENTS, records: events.map((e) => ({ value: enc({ bucket: e.bucket, key: e.key, event: e.event, version: e.written.deleted ? 0 : e.written.info.version }) })) }],
  });
  await engine.createStream('s', { partitions });
  await engine.createStream('s-archive-errors', { partitions: 1 });
  await engine.createStream(EVENTS, { partitions: 1 });
  await objects.createBucket('arch');
  const { versions } = await engine.commit({ state: [{ key: archiveLeaseKey('s'), value: enc({}), expectedVersion: 0 }] });
  const ctx: PartitionContext = {
    engine, objects, stream: 's', clock, lease: { key: archiveLeaseKey('s'), version: versions[0]! }, batch: 1024, from: 'earliest',
    options: resolveArchiveOptions('s', { bucket: 'arch', prefix: 'raw', ...options }), signal: new AbortController().signal,
  };
  return {
    engine, objects, clock, ctx,
    async partition(p) {
      const part = new ArchivePartition(ctx, p);
      await part.open();
      return part;
    },
    async drainSteps(part) {
      while (await part.step());
    },
    async archived() {
      const out: Archived[] = [];
      let cursor: string | undefined;
      do {
        const page = await engine.listObjects({ prefix: 'arch/', ...(cursor ? { cursor } : {}) });
        for (const info of page.objects) {
          const opened = (await engine.openObject(info.name))!;
          const chunks: Buffer[] = [];
          for await (const c of opened.body) chunks.push(c as Buffer);
          const raw = Buffer.concat(chunks);
          const text = (info.name.endsWith('.gz') ? gunzipSync(raw) : raw).toString();
          out.push({ key: info.name.slice('arch/'.length), version: info.version, metadata: info.metadata, lines: text === '' ? [] : text.replace(/\n$/, '').split('\n') });
        }
        cursor = page.next;
      } while (cursor);
      const at = (o: Archived) => [Number(o.metadata[META.partition]), Number(o.metadata[META.first])] as const;
      return out.sort((a, b) => at(a)[0] - at(b)[0] || at(a)[1] - at(b)[1]);
    },
    async announced() {
      return (await allRecords(engine, EVENTS)).map((r) => JSON.parse(Buffer.from(r.value).toString()));
    },
  };
}

/** Each object's offset range from its metadata, and whether the ranges cover `offsets` once each. */
export function coverage(objects: Archived[], offsets: number[]): { twice: number[]; missing: number[] } {
  const count = new Map<number, number>();
  for (const o of objects) {
    const first = Number(o.metadata[META.first]);
    const next = Number(o.metadata[META.next]);
    for (const off of offsets) if (off >= first && off < next) count.set(off, (count.get(off) ?? 0) + 1);
  }
  return { twice: offsets.filter((o) => (count.get(o) ?? 0) > 1), missing: offsets.filter((o) => !count.has(o)) };
}

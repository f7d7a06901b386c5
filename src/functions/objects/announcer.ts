// Object triggers' delivery: the object store's `announce` hook (src/objects/options.ts) turned into
// appends to the async queue of every function with a matching trigger, so the engine commits each
// event in the unit that writes its object (decision 021). Matching happens here, at commit time,
// against the configuration: nothing is queued for a write no trigger matches.
import { randomBytes, randomUUID } from 'node:crypto';
import type { Clock } from '../../clock.js';
import type { CommitAppend, Engine } from '../../engine/engine.js';
import type { ObjectEvent, ObjectOrigin } from '../../objects/index.js';
import { asyncStreamOf, ensureAsyncQueue, queuedRecord } from '../async-queue.js';
import { isObjectTrigger, type ResolvedFunctionConfig } from '../config.js';
import { OWNER_ID, s3EventRecord, type S3Event } from './event.js';
import { configurationIdOf, matches, type ObjectTrigger } from './trigger.js';

/** One function's object trigger with its configuration Id. */
export interface BoundObjectTrigger {
  fn: string;
  configurationId: string;
  trigger: ObjectTrigger;
}

export interface ObjectAnnouncerOptions {
  triggers: readonly BoundObjectTrigger[];
  /** The event's awsRegion (the gateway's region). */
  region: string;
  /** eventTime, and when the queued event's age starts. */
  clock: Clock;
}

export type Announce = (events: ObjectEvent[]) => CommitAppend[];

/** Who made a write nobody named (Sluice's own writes: archives), as S3 names itself in its lifecycle events. */
export const internalOrigin = (): ObjectOrigin => ({ principalId: OWNER_ID, sourceIPAddress: OWNER_ID, requestId: randomBytes(8).toString('hex').toUpperCase() });

/** Every object trigger of the configured functions, in order, each with its configuration Id. */
export function objectTriggersOf(functions: Record<string, ResolvedFunctionConfig>): BoundObjectTrigger[] {
  return Object.entries(functions).flatMap(([fn, config]) =>
    (config.triggers ?? []).filter(isObjectTrigger).map((t, i) => ({ fn, configurationId: t.object.id ?? configurationIdOf(fn, i), trigger: t.object })),
  );
}

/**
 * The `announce` option of an object store whose writes invoke functions: per write, S3's event
 * queued once for each function with a trigger it matches (a function's triggers never overlap:
 * config.ts), as one record of the function's async queue. Deleting a key that did not exist
 * announces nothing (nothing was removed, and it has no version to order it by).
 */
export function objectAnnouncer(o: ObjectAnnouncerOptions): Announce {
  return (events) => {
    const now = o.clock.now();
    const byStream = new Map<string, CommitAppend>();
    for (const e of events) {
      if (e.written.deleted && !e.written.existed) continue;
      const origin = e.origin ?? internalOrigin();
      const seen = new Set<string>();
      for (const t of o.triggers) {
        if (seen.has(t.fn) || !matches(t.trigger, e)) continue;
        seen.add(t.fn);
        const event: S3Event = { Records: [s3EventRecord(e, { region: o.region, configurationId: t.configurationId, time: now, origin })] };
        const stream = asyncStreamOf(t.fn);
        let append = byStream.get(stream);
        if (!append) byStream.set(stream, (append = { stream, records: [] }));
        append.records.push(queuedRecord(randomUUID(), JSON.stringify(event), now));
      }
    }
    return [...byStream.values()];
  };
}

/**
 * What `sluice dev`/`start` hand the object store before the gateway takes a write: the
 * announcer of the configured object triggers, their functions' queues created first (an
 * announcement appends to them in the object's commit). Undefined when no function has one.
 */
export async function prepareObjectTriggers(engine: Engine, functions: Record<string, ResolvedFunctionConfig>, o: Omit<ObjectAnnouncerOptions, 'triggers'>): Promise<Announce | undefined> {
  const triggers = objectTriggersOf(functions);
  if (triggers.length === 0) return undefined;
  for (const fn of new Set(triggers.map((t) => t.fn))) await ensureAsyncQueue(engine, fn);
  return objectAnnouncer({ ...o, triggers });
}

// Runs the configured archives (`archives:` in sluice.config.ts): per archived stream, a lease
// (its commits are fenced on it, so a second run takes over cleanly) and one ArchivePartition per
// partition, stepped in a loop. A failing partition is logged once per spell, rebuilt from its
// last committed object, and retried after a jittered pause; the others carry on.
import { systemClock, type Clock } from '../../clock.js';
import type { Engine } from '../../engine/engine.js';
import { ConflictError, StreamExistsError } from '../../engine/errors.js';
import { retryPauseMs } from '../../dataflow/runtime/runner.js';
import type { Objects } from '../../objects/index.js';
import { BucketExistsError } from '../../objects/errors.js';
import { ArchiveLeaseLostError } from './errors.js';
import { archiveErrorsStream, archiveLeaseKey } from './layout.js';
import { resolveArchiveOptions, type ArchiveOptions, type ResolvedArchiveOptions } from './options.js';
import { ArchivePartition, type PartitionContext, type PartitionStats } from './partition.js';

/** Records a partition reads per step. */
export const DEFAULT_ARCHIVE_BATCH = 1024;
/** Pause of the loop when no partition had work: 20 ms, as pipelines'. */
export const DEFAULT_IDLE_POLL_MS = 20;

export interface ArchiveRunOptions {
  /** The clock of rollInterval. Default the system clock. */
  clock?: Clock;
  /** Failures (warn, once per spell), recoveries and what was created (info). */
  log?: (line: string, level?: 'info' | 'warn') => void;
  /** Records a partition reads per step. Default DEFAULT_ARCHIVE_BATCH (1024). */
  batch?: number;
  /** Pause when no partition had work. Default DEFAULT_IDLE_POLL_MS (20 ms). */
  idlePollMs?: number;
  /** Where a partition never archived starts. Default 'earliest' (everything retained). */
  from?: 'earliest' | 'latest';
}

interface Slot {
  stream: string;
  make: () => ArchivePartition;
  partition: ArchivePartition;
  stale: boolean;
  failures: number;
  retryAt: number;
}

export interface ArchiveStats extends PartitionStats {
  stream: string;
  /** While it fails: the last failure's message, and how many attempts in a row failed. */
  lastError: string | null;
  failures: number;
}

export class ArchiveRun {
  private stopped = false;
  private wake?: () => void;
  private readonly lastErrors = new Map<Slot, string>();
  readonly done: Promise<void>;
  /** Rounds completed (every partition stepped once). */
  rounds = 0;
  /** True after a round in which no partition had work. */
  idle = false;

  /** `stopping` is aborted once the run has stopped: reads and staging of partitions still at work give up. */
  private constructor(private readonly slots: Slot[], private readonly o: ArchiveRunOptions, private readonly stopping: AbortController) {
    this.done = this.run();
    this.done.catch(() => {});
  }

  /** Creates what is missing (the stream, its errors stream, the bucket), takes each archive's lease, opens its partitions, and runs them. */
  static async start(engine: Engine, objects: Objects, archives: Record<string, ArchiveOptions>, o: ArchiveRunOptions = {}): Promise<ArchiveRun> {
    const slots: Slot[] = [];
    const stopping = new AbortController();
    for (const [stream, options] of Object.entries(archives)) {
      const resolved = resolveArchiveOptions(stream, options);
      await prepare(engine, objects, stream, resolved, o);
      const lease = await takeLease(engine, stream);
      const { partitions } = await engine.describeStream(stream);
      const ctx: PartitionContext = { engine, objects, stream, options: resolved, clock: o.clock ?? systemClock, lease, batch: o.batch ?? DEFAULT_ARCHIVE_BATCH, from: o.from ?? 'earliest', signal: stopping.signal };
      for (let p = 0; p < partitions; p++) {
        const make = () => new ArchivePartition(ctx, p);
        const partition = make();
        await partition.open();
        slots.push({ stream, make, partition, stale: false, failures: 0, retryAt: 0 });
      }
    }
    return new ArchiveRun(slots, o, stopping);
  }

  /** Every partition's counters. */
  stats(): ArchiveStats[] {
    return this.slots.map((s) => ({ stream: s.stream, ...s.partition.stats, lastError: this.lastErrors.get(s) ?? null, failures: s.failures }));
  }

  /** Stops stepping, then commits the open objects (a clean stop leaves nothing to archive again). */
  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    await this.done.catch(() => {});
    for (const s of this.slots) {
      if (s.stale) continue;
      await s.partition.drain().catch((e: Error) => this.o.log?.(`archive '${s.stream}' partition ${s.partition.partition}: could not commit its open object at stop (${e.message}); it is archived again at the next start`));
      await s.partition.close();
    }
    this.stopping.abort();
  }

  private async run(): Promise<void> {
    const poll = this.o.idlePollMs ?? DEFAULT_IDLE_POLL_MS;
    while (!this.stopped) {
      let progressed = false;
      let waiting = false;
      for (const slot of this.slots) {
        if (this.stopped) break;
        if (slot.retryAt > performance.now()) {
          waiting = true;
          continue;
        }
        if (await this.step(slot)) progressed = true;
        await new Promise((r) => setImmediate(r)); // timers and I/O between steps (the sqlite engine's calls are synchronous)
      }
      this.idle = !progressed && !waiting;
      this.rounds++;
      if (!progressed && !this.stopped) await new Promise<void>((r) => ((this.wake = r), setTimeout(r, poll)));
    }
  }

  /** One step of a partition: rebuilt first if its last step failed; a failure logged when a spell starts. */
  private async step(slot: Slot): Promise<boolean> {
    const name = `archive '${slot.stream}' partition ${slot.partition.partition}`;
    try {
      if (slot.stale) {
        const fresh = slot.make();
        await fresh.open();
        Object.assign(fresh.stats, { ...slot.partition.stats, committed: fresh.stats.committed });
        slot.partition = fresh;
        slot.stale = false;
      }
      const worked = await slot.partition.step();
      if (slot.failures > 0) {
        this.o.log?.(`${name}: recovered after ${slot.failures} failed attempt${slot.failures === 1 ? '' : 's'}`, 'info');
        slot.failures = 0;
        this.lastErrors.delete(slot);
      }
      return worked;
    } catch (e) {
      if (e instanceof ConflictError && e.of === 'state') throw new ArchiveLeaseLostError(slot.stream, { cause: e });
      slot.failures++;
      this.lastErrors.set(slot, (e as Error).message);
      // Logged when it starts failing (and when it recovers), not at every attempt.
      if (slot.failures === 1) this.o.log?.(`${name}: ${(e as Error).message}; retrying from its last committed object`);
      await slot.partition.close();
      slot.stale = true;
      slot.retryAt = performance.now() + retryPauseMs(slot.failures);
      return false;
    }
  }
}

/** Creates the stream (defaults), its errors stream and the bucket when missing. */
async function prepare(engine: Engine, objects: Objects, stream: string, options: ResolvedArchiveOptions, o: ArchiveRunOptions): Promise<void> {
  for (const name of [stream, archiveErrorsStream(stream)]) {
    try {
      await engine.createStream(name);
      o.log?.(`created stream '${name}'`, 'info');
    } catch (e) {
      if (!(e instanceof StreamExistsError)) throw e;
    }
  }
  try {
    await objects.createBucket(options.bucket);
    o.log?.(`created bucket '${options.bucket}' (archive of '${stream}')`, 'info');
  } catch (e) {
    if (!(e instanceof BucketExistsError)) throw e;
  }
}

/** Takes the archive's lease (compare-and-set): an older run's commits fail from now on. */
async function takeLease(engine: Engine, stream: string): Promise<{ key: string; version: number }> {
  const key = archiveLeaseKey(stream);
  const current = await engine.getState(key);
  const { versions } = await engine.commit({ state: [{ key, value: Buffer.from(JSON.stringify({ at: Date.now(), pid: process.pid })), expectedVersion: current?.version ?? 0 }] });
  return { key, version: versions[0]! };
}

// A stream event source mapping: Lambda's Kinesis mapping over a Sluice stream. It resolves each
// partition's position (the committed offset, else startingPosition, committed at once so a restart
// resumes there), runs a poller per partition and reports stats. The registry creates one per
// `{ stream: … }` trigger and gives it an `invoke`.
import { setMaxListeners } from 'node:events';
import type { Clock } from '../../clock.js';
import type { Engine, OffsetCommit, ReadFrom } from '../../engine/engine.js';
import { StreamNotFoundError } from '../../engine/errors.js';
import { Dependency } from '../../resilience/index.js';
import { Destination, DESTINATION_POLICY, destinationName } from '../destinations.js';
import type { Payload } from '../runtime/payload.js';
import type { InvokeOutcome } from '../runtime/types.js';
import { DestinationNotFoundError, InvalidMappingOptionError } from './errors.js';
import { defaultIdentityArn, eventSourceOf, streamArnOf } from './event.js';
import type { LogLevel } from './lane.js';
import { resolveMappingOptions, type ResolvedMappingOptions, type StreamMappingOptions } from './options.js';
import { PartitionPoller, type MappingContext } from './partition.js';
import { addCounters, RESULT_NONE, zeroCounters, type StreamMappingStats } from './stats.js';

export interface StreamMappingSpec {
  engine: Engine;
  clock: Clock;
  functionName: string;
  /** The function's ARN (failure records' requestContext.functionArn). */
  functionArn: string;
  /** The region events name (awsRegion, and the stream ARN): the gateway's, so ARNs match the Kinesis API's. */
  region: string;
  /** The source stream. */
  stream: string;
  options?: StreamMappingOptions;
  /**
   * Runs one invocation with the event JSON. Resolves with its outcome (ok: false is a function
   * error); rejects when the function could not be invoked (throttled, closed): the batch is then
   * retried with backoff without using a retry attempt. It must honour the signal (the mapping
   * stopping) by ending soon; the batch is then not committed and is redelivered after a restart.
   */
  invoke: (event: Payload, signal: AbortSignal) => Promise<InvokeOutcome>;
  log?: (line: string, level: LogLevel) => void;
  /** The execution role events name as invokeIdentityArn. Default arn:aws:iam::000000000000:role/<functionName>. */
  invokeIdentityArn?: string;
  /**
   * Kinesis events as JSON text always, never in the compact form a worker thread builds the event
   * from: for the process runtime, whose JSON IPC would turn the form into text at ~4× the cost of
   * building the text (decision 022). Default false.
   */
  eventsAsText?: boolean;
  /**
   * Makes the onFailure destination (its stream's name given), with its policies: the registry's,
   * from the process's dependencies. Default: over a dependency of the mapping's own,
   * `destination:<function>:stream.<stream>.onFailure`.
   */
  destination?: (stream: string) => Destination;
}

/** The consumer group a function's mapping of a stream commits under. */
export const mappingGroup = (functionName: string, stream: string): string => `fn:${functionName}:${stream}`;

const FROM: Record<string, ReadFrom> = { TRIM_HORIZON: 'earliest', LATEST: 'latest' };

export class StreamMapping {
  readonly id: string;
  readonly options: ResolvedMappingOptions;
  private readonly abort = new AbortController();
  private pollers: PartitionPoller[] = [];
  private done: Promise<void> = Promise.resolve();
  private state: StreamMappingStats['state'] = 'Creating';
  private reason = 'User action';
  /** A destination dependency made here (none given): disposed at stop. */
  private owned?: Dependency;

  /** Validates the options (InvalidMappingOptionError names the bad field); reads nothing yet. */
  constructor(private readonly spec: StreamMappingSpec) {
    this.options = resolveMappingOptions(spec.options);
    this.id = mappingGroup(spec.functionName, spec.stream);
    if (this.options.onFailure === spec.stream) throw new InvalidMappingOptionError('onFailure', `is the source stream '${spec.stream}': failures would be fed back to the function`);
  }

  /**
   * Checks the streams, resolves and commits the starting positions, and starts polling; resolves
   * once polling runs. Rejects with StreamNotFoundError (source) or DestinationNotFoundError.
   * `signal` stops the mapping like stop().
   */
  async start(signal?: AbortSignal): Promise<void> {
    const { engine, stream } = this.spec;
    if (!this.options.enabled) {
      this.state = 'Disabled';
      return;
    }
    const info = await engine.describeStream(stream, { signal });
    await this.checkDestination(signal);
    const starts = await this.positions(info.partitions, signal);
    if (signal?.aborted) return;
    signal?.addEventListener('abort', () => this.abort.abort(signal.reason), { once: true });
    const ctx: MappingContext = {
      engine,
      clock: this.spec.clock,
      functionArn: this.spec.functionArn,
      stream,
      group: this.id,
      createdAt: info.createdAt,
      opts: this.options,
      invoke: this.spec.invoke,
      log: this.spec.log ?? (() => undefined),
      destination: this.destination(),
    };
    const identity = this.spec.invokeIdentityArn ?? defaultIdentityArn(this.spec.functionName);
    // Each partition's lanes, sleeps and waits listen to its own signal: Node warns past 10 listeners on one.
    setMaxListeners(starts.length + 10, this.abort.signal);
    this.pollers = starts.map((offset, p) => {
      const partition = new AbortController();
      setMaxListeners(3 * this.options.parallelizationFactor + 10, partition.signal);
      this.abort.signal.addEventListener('abort', () => partition.abort(this.abort.signal.reason), { once: true });
      return new PartitionPoller(ctx, p, offset, eventSourceOf(stream, p, this.spec.region, identity, this.options.format, !this.spec.eventsAsText), partition.signal);
    });
    // A poller that fails unexpectedly stops its partition, logged: never an unhandled rejection, which would end Sluice.
    const log = ctx.log;
    this.done = Promise.all(
      this.pollers.map((p) => p.run().catch((e: Error) => log(`partition ${p.partition} of '${stream}' stopped on an unexpected error: ${e?.stack ?? e}`, 'error'))),
    ).then(() => undefined);
    this.state = 'Enabled';
  }

  /** Stops polling, lets batches in flight end (invoke sees the abort) and commits what they finished. */
  async stop(): Promise<void> {
    this.abort.abort(new Error('stream mapping stopped'));
    await this.done;
    this.owned?.dispose();
    if (this.state === 'Enabled') {
      this.state = 'Disabled';
      this.reason = 'Stopped';
    }
  }

  /** State, LastProcessingResult, IteratorAge, lag and counters, per partition and in all. */
  async stats(): Promise<StreamMappingStats> {
    let latest: number[] | undefined;
    if (this.pollers.length > 0) {
      try {
        latest = (await this.spec.engine.describeStream(this.spec.stream)).partitionInfo.map((p) => p.next);
      } catch {
        latest = undefined; // the stream is gone or the engine busy: lag unknown
      }
    }
    const partitions = this.pollers.map((p) => p.stats(latest?.[p.partition]));
    const newest = partitions.reduce<(typeof partitions)[number] | undefined>(
      (a, p) => (p.lastProcessingResultAt !== undefined && (a?.lastProcessingResultAt === undefined || p.lastProcessingResultAt >= a.lastProcessingResultAt) ? p : a),
      undefined,
    );
    const counters = partitions.reduce((sum, p) => addCounters(sum, p), zeroCounters());
    return {
      id: this.id,
      functionName: this.spec.functionName,
      stream: this.spec.stream,
      eventSourceArn: streamArnOf(this.spec.region, this.spec.stream),
      state: this.state,
      stateTransitionReason: this.reason,
      lastProcessingResult: newest?.lastProcessingResult ?? RESULT_NONE,
      iteratorAgeMs: Math.max(0, ...partitions.map((p) => p.iteratorAgeMs)),
      ...(latest && { lag: partitions.reduce((n, p) => n + (p.lag ?? 0), 0) }),
      ...counters,
      partitions,
    };
  }

  /** The onFailure destination: the spec's, else one over a dependency of its own (disposed when the mapping stops). */
  private destination(): Destination | undefined {
    const { spec } = this;
    const to = this.options.onFailure;
    if (to === undefined) return undefined;
    if (spec.destination) return spec.destination(to);
    const dependency = new Dependency(destinationName(spec.functionName, `stream.${spec.stream}.onFailure`), { ...DESTINATION_POLICY, clock: spec.clock });
    this.owned = dependency;
    return new Destination(to, dependency, { clock: spec.clock, log: spec.log ?? (() => undefined) });
  }

  private async checkDestination(signal?: AbortSignal): Promise<void> {
    const dest = this.options.onFailure;
    if (dest === undefined) return;
    try {
      await this.spec.engine.describeStream(dest, { signal });
    } catch (e) {
      if (e instanceof StreamNotFoundError) throw new DestinationNotFoundError(this.spec.functionName, dest);
      throw e;
    }
  }

  /** Each partition's first offset: committed, else the starting position (committed now). */
  private async positions(partitions: number, signal?: AbortSignal): Promise<number[]> {
    const { engine, stream } = this.spec;
    const committed = await engine.getOffsets(this.id, stream, { signal });
    const from: ReadFrom = FROM[this.options.startingPosition] ?? { timestamp: this.options.startingTimestampMs! };
    const fresh: OffsetCommit[] = [];
    const starts: number[] = [];
    for (let p = 0; p < partitions; p++) {
      let offset = committed.get(p);
      if (offset === undefined) {
        offset = await engine.resolve(stream, p, from, { signal });
        fresh.push({ group: this.id, stream, partition: p, offset });
      }
      starts.push(offset);
    }
    if (fresh.length > 0) await engine.commit({ offsets: fresh }, { signal });
    return starts;
  }
}

/** Creates a mapping (options validated now); call start() to run it. */
export const createStreamMapping = (spec: StreamMappingSpec): StreamMapping => new StreamMapping(spec);

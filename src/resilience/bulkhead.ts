// Bounded concurrency with a bounded queue: at most maxConcurrent calls run, at most maxQueued
// wait (in arrival order) for a slot, and a call beyond both fails at once with a retriable
// BulkheadRejectedError. A queued call whose signal aborts leaves the queue at once.
import { withDefaults } from '../defaults.js';
import { AbortFan, type AbortHandler } from './abort-fan.js';
import { BulkheadRejectedError } from './errors/bulkhead-rejected-error.js';
import { Emitter } from './events.js';
import { neverAborted, type Operation, type Policy } from './policy.js';
import { checkInteger } from './validate.js';

export const DEFAULT_BULKHEAD_MAX_CONCURRENT = 10; // node-postgres' default pool size
export const DEFAULT_BULKHEAD_MAX_QUEUED = 100;

export interface BulkheadOptions {
  /** Named in errors. Default 'dependency'. */
  name?: string;
  /** Calls running at once. Default 10. */
  maxConcurrent?: number;
  /** Calls waiting for a slot; beyond it calls are rejected. 0 for no queue. Default 100. */
  maxQueued?: number;
}

export interface BulkheadRejectEvent {
  running: number;
  queued: number;
}

/** A call waiting for a slot (a class, not closures: this runs for every queued call). */
class Waiter implements AbortHandler {
  constructor(
    private readonly queue: Waiter[],
    private readonly fan: AbortFan,
    private readonly signal: AbortSignal,
    private readonly resolve: () => void,
    private readonly reject: (reason: unknown) => void,
  ) {}

  /** Handed a slot. */
  start(): void {
    this.fan.remove(this.signal, this);
    this.resolve();
  }

  aborted(): void {
    const i = this.queue.indexOf(this);
    if (i >= 0) this.queue.splice(i, 1);
    this.reject(this.signal.reason);
  }
}

export class BulkheadPolicy implements Policy {
  private readonly rejectEmitter = new Emitter<BulkheadRejectEvent>();
  /** When a call is refused because slots and queue are full. */
  readonly onReject = this.rejectEmitter.on;

  readonly name: string;
  readonly maxConcurrent: number;
  readonly maxQueued: number;
  private active = 0;
  private readonly queue: Waiter[] = [];
  private readonly fan = new AbortFan();

  constructor(options: BulkheadOptions = {}) {
    const o = withDefaults({ name: 'dependency', maxConcurrent: DEFAULT_BULKHEAD_MAX_CONCURRENT, maxQueued: DEFAULT_BULKHEAD_MAX_QUEUED }, options);
    checkInteger('bulkhead', 'maxConcurrent', o.maxConcurrent);
    checkInteger('bulkhead', 'maxQueued', o.maxQueued, 0);
    this.name = o.name;
    this.maxConcurrent = o.maxConcurrent;
    this.maxQueued = o.maxQueued;
  }

  /** Calls running now. */
  get running(): number {
    return this.active;
  }

  /** Calls waiting for a slot now. */
  get queued(): number {
    return this.queue.length;
  }

  async execute<T>(fn: Operation<T>, signal: AbortSignal = neverAborted): Promise<T> {
    if (signal.aborted) throw signal.reason;
    if (this.active < this.maxConcurrent) this.active++;
    else await this.enqueue(signal); // resolves holding a slot handed over by a finishing call
    try {
      if (signal.aborted) throw signal.reason; // aborted between the hand-over and now
      return await fn(signal);
    } finally {
      this.release();
    }
  }

  private enqueue(signal: AbortSignal): Promise<void> {
    if (this.queue.length >= this.maxQueued) {
      this.rejectEmitter.emit({ running: this.active, queued: this.queue.length });
      return Promise.reject(new BulkheadRejectedError(this.name, this.maxConcurrent, this.maxQueued));
    }
    return new Promise<void>((resolve, reject) => {
      const waiter = new Waiter(this.queue, this.fan, signal, resolve, reject);
      this.fan.add(signal, waiter);
      this.queue.push(waiter);
    });
  }

  /** Hands the slot to the first waiter, or frees it. */
  private release(): void {
    const next = this.queue.shift();
    if (next) next.start();
    else this.active--;
  }
}

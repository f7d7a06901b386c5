// Deadlines shared by the calls of a timeout policy, on the injected clock. Creating an
// AbortSignal costs ~5 µs on Node 20, a timer ~0.4 µs, so instead of one of each per call:
// deadlines are rounded up to `resolutionMs`, the calls that share a rounded deadline and a
// caller's signal share one Slot (one AbortController, aborted at the deadline or with the
// caller's signal), and one sleeper on the clock wakes for the earliest slot. A slot ends when
// its deadline passes, its caller's signal aborts, or its calls are all done and no new call can
// join it (a later deadline is current). A caller's signal gets one listener however many slots.
import { setMaxListeners } from 'node:events';
import type { Clock } from '../../clock.js';
import { AbortFan } from '../abort-fan.js';

/** A call waiting in a slot: rejected if the slot expires or aborts before it settles. */
export interface PendingCall {
  reject(error: unknown): void;
}

export class Slot {
  readonly controller = new AbortController();
  readonly pending = new Set<PendingCall>();
  /** New calls may still join (its deadline is the current one). */
  open = true;
  prev: Slot | undefined;
  next: Slot | undefined;
  /** Listens to the caller's signal. */
  onAbort: { aborted(): void } | undefined;

  constructor(readonly deadline: number, readonly parent: AbortSignal | undefined) {
    setMaxListeners(0, this.controller.signal); // shared by many calls' listeners (fetch adds one each)
  }
}

export class Deadlines {
  private head: Slot | undefined;
  private tail: Slot | undefined;
  private quantum = NaN; // the deadline new calls get now
  private readonly current = new Map<AbortSignal | undefined, Slot>();
  private readonly fan = new AbortFan();
  private armedFor = Infinity;
  private armed: object | undefined;
  private stop: AbortController | undefined;

  constructor(
    private readonly clock: Clock,
    private readonly timeoutMs: number,
    private readonly resolutionMs: number,
    /** Told how many calls a passing deadline released. */
    private readonly expired: (count: number) => void,
    /** Makes the error each released call gets (one each: callers may mark theirs). */
    private readonly timeoutError: () => unknown,
  ) {}

  /** The slot of a call starting now under the caller's `parent` signal. */
  slotFor(parent: AbortSignal | undefined): Slot {
    const deadline = Math.ceil((this.clock.now() + this.timeoutMs) / this.resolutionMs) * this.resolutionMs;
    if (deadline !== this.quantum) this.startQuantum(deadline);
    const existing = this.current.get(parent);
    if (existing) return existing;
    const slot = new Slot(deadline, parent);
    this.current.set(parent, slot);
    this.insert(slot);
    if (parent) {
      slot.onAbort = { aborted: () => this.release(slot, parent.reason, () => parent.reason) };
      this.fan.add(parent, slot.onAbort);
    }
    this.arm();
    return slot;
  }

  /** A call of `slot` settled; false when the slot had already released it (expired or aborted). */
  settle(slot: Slot, call: PendingCall): boolean {
    if (!slot.pending.delete(call)) return false;
    if (!slot.open && slot.pending.size === 0) this.finish(slot);
    return true;
  }

  /** Cancels the sleeper (at shutdown); a later call arms it again. */
  dispose(): void {
    this.stop?.abort();
    this.stop = this.armed = undefined;
    this.armedFor = Infinity;
  }

  private startQuantum(deadline: number): void {
    for (const slot of this.current.values()) {
      slot.open = false;
      if (slot.pending.size === 0) this.finish(slot);
    }
    this.current.clear();
    this.quantum = deadline;
  }

  /** Releases a slot's pending calls with `reason` (per call, from `errorFor`), aborting its signal. */
  private release(slot: Slot, reason: unknown, errorFor: () => unknown): void {
    const calls = [...slot.pending];
    slot.pending.clear();
    this.finish(slot);
    if (calls.length === 0) return;
    slot.controller.abort(reason);
    for (const c of calls) c.reject(errorFor());
  }

  private finish(slot: Slot): void {
    slot.open = false;
    if (this.current.get(slot.parent) === slot) this.current.delete(slot.parent);
    this.unlink(slot);
    if (slot.parent && slot.onAbort) this.fan.remove(slot.parent, slot.onAbort);
    slot.onAbort = undefined;
  }

  /** Keeps the list in deadline order (appending, unless the clock went back). */
  private insert(slot: Slot): void {
    let after = this.tail;
    while (after && after.deadline > slot.deadline) after = after.prev;
    slot.prev = after;
    slot.next = after ? after.next : this.head;
    if (slot.next) slot.next.prev = slot;
    else this.tail = slot;
    if (after) after.next = slot;
    else this.head = slot;
  }

  private unlink(slot: Slot): void {
    if (slot.prev) slot.prev.next = slot.next;
    else if (this.head === slot) this.head = slot.next;
    if (slot.next) slot.next.prev = slot.prev;
    else if (this.tail === slot) this.tail = slot.prev;
    slot.prev = slot.next = undefined;
  }

  /** Makes sure the sleeper wakes by the earliest slot's deadline. */
  private arm(): void {
    const head = this.head;
    if (!head || head.deadline >= this.armedFor) return;
    if (this.armed) {
      this.stop!.abort(); // armed for later: only when the clock went back
      this.stop = undefined;
    }
    this.stop ??= new AbortController();
    const token = (this.armed = {});
    this.armedFor = head.deadline;
    this.clock.sleep(head.deadline - this.clock.now(), this.stop.signal).then(() => {
      if (this.armed !== token) return;
      this.armed = undefined;
      this.armedFor = Infinity;
      this.sweep();
    }, () => {});
  }

  private sweep(): void {
    const now = this.clock.now();
    while (this.head && this.head.deadline <= now) {
      const slot = this.head;
      const n = slot.pending.size;
      if (n === 0) {
        this.finish(slot);
        continue;
      }
      this.release(slot, this.timeoutError(), this.timeoutError);
      this.expired(n);
    }
    this.arm();
  }
}

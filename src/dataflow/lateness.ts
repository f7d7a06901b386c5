// When a record is too late for a keyed step: one rule, used by the operators themselves (against
// their step's watermark) and by source units (against the record's own partition watermark:
// decision 014, lateness judged where it can be reproduced).
import type { KeyedNode } from './dsl.js';
import { firstEnd, latestStart, slideOf, type WindowSpec } from './windows.js';

/** A window record is late when every window holding `t` ended more than allowedLateness before `w`. */
export function windowLate(spec: WindowSpec, allowedLateness: number, t: number, w: number): boolean {
  const lastEnd = spec.kind === 'session' ? firstEnd(spec, t) : latestStart(spec, t) + spec.size;
  return lastEnd + allowedLateness <= w;
}

/** An interval join's record is late when it is older than `w` − allowedLateness (what it could pair with may be gone). */
export const intervalLate = (allowedLateness: number, t: number, w: number): boolean => t + allowedLateness < w;

/** Whether a record at `t` is too late for keyed node `n` at watermark `w` (a lookup never is). */
export function lateFor(n: KeyedNode, t: number, w: number): boolean {
  if (n.kind === 'window') return windowLate(n.spec, n.allowedLateness, t, w);
  if (n.kind === 'join') return n.join.mode === 'window' ? windowLate(n.join.spec, n.join.allowedLateness, t, w) : intervalLate(n.join.allowedLateness, t, w);
  return false;
}

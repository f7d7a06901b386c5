// Window assigners: tumbling, sliding (hopping) and session windows over event time.
import { parseDuration } from '../config/duration.js';
import { InvalidArgumentError } from '../engine/errors.js';

export type WindowSpec =
  | { kind: 'tumbling'; size: number; offset: number }
  | { kind: 'sliding'; size: number; slide: number }
  | { kind: 'session'; gap: number };

export interface Window {
  start: number;
  end: number;
}

/** Milliseconds of a duration option, or an error naming the option. */
export function ms(v: number | string, name: string): number {
  const d = parseDuration(v);
  if (d === undefined) throw new InvalidArgumentError(`${name} must be milliseconds or a duration like '1m', got ${JSON.stringify(v)}`, name);
  return d;
}

/** Fixed, non-overlapping windows of `size` (aligned to the epoch plus `offset`). */
export function tumbling(size: number | string, offset: number | string = 0): WindowSpec {
  const s = ms(size, 'size');
  if (s <= 0) throw new InvalidArgumentError('a tumbling window needs a size above 0', 'size');
  return { kind: 'tumbling', size: s, offset: ms(offset, 'offset') % s };
}

/** Windows of `size` starting every `slide` (a record belongs to size/slide windows). */
export function sliding(size: number | string, slide: number | string): WindowSpec {
  const s = ms(size, 'size');
  const h = ms(slide, 'slide');
  if (h <= 0 || s < h || s % h !== 0) throw new InvalidArgumentError('a sliding window needs 0 < slide <= size, with size a multiple of slide', 'slide');
  return { kind: 'sliding', size: s, slide: h };
}

/** Per-key sessions that close after `gap` without records; overlapping sessions merge. */
export function session(gap: number | string): WindowSpec {
  const g = ms(gap, 'gap');
  if (g <= 0) throw new InvalidArgumentError('a session window needs a gap above 0', 'gap');
  return { kind: 'session', gap: g };
}

/** How far apart the starts of one record's windows are (a tumbling window's record has one: its size). */
export function slideOf(spec: Exclude<WindowSpec, { kind: 'session' }>): number {
  return spec.kind === 'tumbling' ? spec.size : spec.slide;
}

/**
 * The start of the latest tumbling or sliding window holding `t`. Its other windows start
 * slideOf(spec) apart before it, down to the first after t − size: the windows of t without
 * building them (joins and windows on their hot paths).
 */
export function latestStart(spec: Exclude<WindowSpec, { kind: 'session' }>, t: number): number {
  return spec.kind === 'tumbling' ? t - mod(t - spec.offset, spec.size) : t - mod(t, spec.slide);
}

/** The windows an event time belongs to, oldest first (a session's is its own [t, t + gap), merged later). */
export function assign(spec: WindowSpec, t: number): Window[] {
  if (spec.kind === 'session') return [{ start: t, end: t + spec.gap }];
  const out: Window[] = [];
  const last = latestStart(spec, t);
  for (let start = last - spec.size + slideOf(spec); start <= last; start += slideOf(spec)) out.push({ start, end: start + spec.size });
  return out;
}

/** The earliest end of the windows an event time belongs to (without building them). */
export function firstEnd(spec: WindowSpec, t: number): number {
  if (spec.kind === 'session') return t + spec.gap;
  return latestStart(spec, t) + slideOf(spec); // window ends fall on slide boundaries
}

/** When a key's windows next need their operator: a window's end (it fires), or end + allowedLateness (it is dropped). */
export function windowsDue(windows: readonly { end: number; fired: boolean }[], allowedLateness: number): number {
  let due = Infinity;
  for (const w of windows) due = Math.min(due, w.fired ? w.end + allowedLateness : w.end);
  return due;
}

const mod = (a: number, b: number) => ((a % b) + b) % b;

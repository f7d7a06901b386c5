// An object trigger (`{ object: { bucket, events, prefix?, suffix? } }`): which writes of a bucket
// it matches, as S3's event notification configurations match them (event types with `*`, a key
// prefix and suffix, compared on the key as written, case-sensitively).
import type { ObjectEvent } from '../../objects/index.js';

/** S3's event types a trigger can name. */
export const OBJECT_EVENT_TYPES = [
  'ObjectCreated:*',
  'ObjectCreated:Put',
  'ObjectCreated:Copy',
  'ObjectCreated:CompleteMultipartUpload',
  'ObjectRemoved:*',
  'ObjectRemoved:Delete',
] as const;
export type ObjectEventType = (typeof OBJECT_EVENT_TYPES)[number];
/** The event names the object store announces (what a `*` expands to). */
export type ObjectEventName = ObjectEvent['event'];
const NAMES: readonly ObjectEventName[] = ['ObjectCreated:Put', 'ObjectCreated:Copy', 'ObjectCreated:CompleteMultipartUpload', 'ObjectRemoved:Delete'];

/** S3 allows prefix and suffix filter values of up to 1,024 characters. */
export const MAX_FILTER_LENGTH = 1024;

export interface ObjectTrigger {
  bucket: string;
  events: readonly ObjectEventType[];
  /** Only keys starting with this. Default: every key. */
  prefix?: string;
  /** Only keys ending with this. Default: every key. */
  suffix?: string;
  /** S3's configuration Id, the event's `s3.configurationId`. Default '<function>-object' ('-2', '-3', … for more). */
  id?: string;
}

/** The event names a list of event types covers. */
export function eventNamesOf(types: readonly ObjectEventType[]): Set<ObjectEventName> {
  const out = new Set<ObjectEventName>();
  for (const t of types) for (const n of NAMES) if (t === n || (t.endsWith(':*') && n.startsWith(t.slice(0, -1)))) out.add(n);
  return out;
}

/** Whether a trigger is for this write: its bucket, one of its event types, its prefix and suffix. */
export function matches(t: ObjectTrigger, e: Pick<ObjectEvent, 'bucket' | 'key' | 'event'>): boolean {
  return t.bucket === e.bucket && eventNamesOf(t.events).has(e.event) && e.key.startsWith(t.prefix ?? '') && e.key.endsWith(t.suffix ?? '');
}

/**
 * Whether two triggers of one function could match one write (S3 refuses such configurations: an
 * event would have two destinations). They overlap when they share a bucket and an event name, one
 * prefix starts the other, and one suffix ends the other.
 */
export function overlap(a: ObjectTrigger, b: ObjectTrigger): boolean {
  if (a.bucket !== b.bucket) return false;
  const names = eventNamesOf(b.events);
  if (![...eventNamesOf(a.events)].some((n) => names.has(n))) return false;
  const [pa, pb, sa, sb] = [a.prefix ?? '', b.prefix ?? '', a.suffix ?? '', b.suffix ?? ''];
  return (pa.startsWith(pb) || pb.startsWith(pa)) && (sa.endsWith(sb) || sb.endsWith(sa));
}

/** The configuration Id of a function's `index`th object trigger (counting those only) when it has none of its own. */
export const configurationIdOf = (fn: string, index: number): string => `${fn}-object${index === 0 ? '' : `-${index + 1}`}`;

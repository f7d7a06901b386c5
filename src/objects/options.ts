// Options of the object store: defaults in named constants (S3's limits), merged once, validated.
import type { Clock } from '../clock.js';
import { systemClock } from '../clock.js';
import { withDefaults } from '../defaults.js';
import { MAX_OBJECT_BYTES, type CallOptions, type CommitAppend, type ObjectWritten } from '../engine/engine.js';
import { InvalidArgumentError } from '../engine/errors.js';

/** S3's largest single PUT, part and object: 5 GiB. */
export const DEFAULT_MAX_OBJECT_BYTES = MAX_OBJECT_BYTES;
/** S3's smallest part but the last of a multipart upload: 5 MiB. */
export const DEFAULT_MIN_PART_BYTES = 5 * 1024 * 1024;
/** Most parts of one multipart upload (S3's). */
export const MAX_PARTS = 10_000;
/** Most entries of one listing page (S3 answers at most 1,000 whatever max-keys says). */
export const MAX_LIST_KEYS = 1000;

/** What an announcement is told of one write of a bucket's object. */
export interface ObjectEvent {
  bucket: string;
  key: string;
  /** S3's event name. */
  event: 'ObjectCreated:Put' | 'ObjectCreated:Copy' | 'ObjectCreated:CompleteMultipartUpload' | 'ObjectRemoved:Delete';
  /** The engine's account of the write: the new object's info (size, etag, version), or the delete's version. */
  written: ObjectWritten;
  /** Who asked for the write, when the caller said (the `origin` of its call options). */
  origin?: ObjectOrigin;
}

/** Who made a write, as S3's events report it (userIdentity, sourceIPAddress, x-amz-request-id). */
export interface ObjectOrigin {
  principalId: string;
  sourceIPAddress: string;
  requestId: string;
}

/** Options of a call that writes: `origin` goes into the writes' announcements. */
export interface WriteOptions extends CallOptions {
  origin?: ObjectOrigin;
}

export interface ObjectsOptions {
  /** Largest object, single PUT or part, in bytes. Default 5 GiB (S3's). */
  maxObjectBytes?: number;
  /** Smallest part but the last of a multipart upload. Default 5 MiB (S3's). */
  minPartBytes?: number;
  /** Time of multipart uploads' initiation. Default the system clock. */
  clock?: Clock;
  /**
   * Appends announcing writes (object-created and -removed events), committed in the same unit as
   * the writes they announce (the engine's `announce`): called synchronously, once per unit, with
   * the unit's tagged writes; must not throw. Every write through `commitWrites` (the S3 API's,
   * the archives') goes through it. Function triggers: `objectAnnouncer` (src/functions/objects).
   * Default: none.
   */
  announce?: (events: ObjectEvent[]) => CommitAppend[];
}

export type ResolvedObjectsOptions = Required<Omit<ObjectsOptions, 'announce'>> & Pick<ObjectsOptions, 'announce'>;

export function resolveObjectsOptions(options: ObjectsOptions = {}): ResolvedObjectsOptions {
  const o = withDefaults({ maxObjectBytes: DEFAULT_MAX_OBJECT_BYTES, minPartBytes: DEFAULT_MIN_PART_BYTES, clock: systemClock }, options);
  for (const field of ['maxObjectBytes', 'minPartBytes'] as const) {
    if (!Number.isSafeInteger(o[field]) || o[field] < 1) throw new InvalidArgumentError(`objects.${field} must be a positive integer, got ${o[field]}`, field);
  }
  if (o.maxObjectBytes > MAX_OBJECT_BYTES) throw new InvalidArgumentError(`objects.maxObjectBytes must be at most ${MAX_OBJECT_BYTES}`, 'maxObjectBytes');
  return o;
}

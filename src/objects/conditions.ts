// HTTP's conditional requests on an object (RFC 9110 §13, in its order of evaluation), as S3
// applies them to GET and HEAD, and to a copy's source (where every failure is 412).
import { NotModifiedError, PreconditionFailedError } from './errors.js';

export interface Conditions {
  /** ETags (quoted or not), comma-separated, or `*`. */
  ifMatch?: string;
  ifNoneMatch?: string;
  /** ms since the epoch (HTTP dates have whole seconds). */
  ifModifiedSince?: number;
  ifUnmodifiedSince?: number;
}

const tags = (list: string) => list.split(',').map((t) => t.trim().replace(/^W\//, '').replace(/^"(.*)"$/, '$1'));
const matches = (list: string, etag: string) => tags(list).some((t) => t === '*' || t === etag);

/** Throws PreconditionFailedError (412) or NotModifiedError (304; on a copy source 412 too) when the conditions say so. */
export function checkConditions(c: Conditions | undefined, object: { etag: string; modified: number }, copySource = false): void {
  if (!c) return;
  const seconds = Math.floor(object.modified / 1000) * 1000;
  if (c.ifMatch !== undefined) {
    if (!matches(c.ifMatch, object.etag)) throw new PreconditionFailedError(copySource ? 'x-amz-copy-source-If-Match' : 'If-Match');
  } else if (c.ifUnmodifiedSince !== undefined && seconds > c.ifUnmodifiedSince) {
    throw new PreconditionFailedError(copySource ? 'x-amz-copy-source-If-Unmodified-Since' : 'If-Unmodified-Since');
  }
  const notModified = c.ifNoneMatch !== undefined ? matches(c.ifNoneMatch, object.etag) : c.ifModifiedSince !== undefined && seconds <= c.ifModifiedSince;
  if (!notModified) return;
  if (copySource) throw new PreconditionFailedError(c.ifNoneMatch !== undefined ? 'x-amz-copy-source-If-None-Match' : 'x-amz-copy-source-If-Modified-Since');
  throw new NotModifiedError(object.etag, object.modified);
}

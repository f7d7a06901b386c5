// How the object store describes an object: the engine's ObjectInfo without the engine's name.
import type { ObjectInfo } from '../engine/engine.js';

/** An object as the store describes it. */
export interface ObjectEntry {
  key: string;
  size: number;
  /** Unquoted: the MD5 hex, or `<hex>-<parts>` for a multipart upload's object. */
  etag: string;
  /** ms since the epoch. */
  modified: number;
  /** Content-Type and the other content headers, x-amz-meta-*: by lowercase header name. */
  metadata: Record<string, string>;
  /** Base64 (composite ones end in `-<parts>`). */
  checksums: ObjectInfo['checksums'];
  /** Grows with every write of the key (S3's sequencer orders by it). */
  version: number;
}

/** The entry of an engine object, named by its key. */
export const entryOf = (info: ObjectInfo, key: string): ObjectEntry => ({
  key, size: info.size, etag: info.etag, modified: info.modified, metadata: info.metadata, checksums: info.checksums, version: info.version,
});


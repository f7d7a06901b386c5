// Naming rules of buckets and object keys, S3's: a bucket name is 3-63 characters of a-z 0-9 . -,
// a key 1-1,024 bytes of UTF-8. Bucket names the gateway's own routes take are refused too: with
// path-style addressing a bucket named 'metrics' could never be reached (decision 019).
import { MAX_OBJECT_NAME_BYTES } from '../engine/engine.js';
import { InvalidBucketNameError, InvalidKeyError, KeyTooLongError } from './errors.js';

export const MAX_KEY_BYTES = 1024;

/**
 * First path segments the gateway serves itself (`/metrics`, `/healthz`, `/readyz`, the Lambda
 * API's `/2015-03-31/…`). `v1`, `ui` and `fn` are reserved too, but shorter than any bucket name.
 */
export const RESERVED_BUCKET_NAMES: ReadonlySet<string> = new Set(['metrics', 'healthz', 'readyz', '2015-03-31']);

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const IPV4 = /^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}$/;
const PREFIXES = ['xn--', 'sthree-', 'amzn-s3-demo-'];
const SUFFIXES = ['-s3alias', '--ol-s3', '.mrap', '--x-s3', '--table-s3'];

/** Why a bucket name is not valid, or undefined when it is. */
export function bucketNameProblem(name: string): string | undefined {
  if (typeof name !== 'string' || name.length < 3 || name.length > 63) return 'a bucket name is 3 to 63 characters long';
  if (!BUCKET.test(name)) return 'a bucket name is lowercase letters, digits, dots and hyphens, and begins and ends with a letter or digit';
  if (name.includes('..')) return 'a bucket name has no two adjacent dots';
  if (IPV4.test(name)) return 'a bucket name is not an IP address';
  if (PREFIXES.some((p) => name.startsWith(p)) || SUFFIXES.some((s) => name.endsWith(s))) return 'the name begins or ends with a prefix or suffix S3 reserves';
  if (RESERVED_BUCKET_NAMES.has(name)) return `'${name}' is a path the gateway serves itself`;
  return undefined;
}

/** Throws InvalidBucketNameError unless `name` is a valid bucket name. */
export function checkBucketName(name: string): string {
  const problem = bucketNameProblem(name);
  if (problem) throw new InvalidBucketNameError(name, problem);
  return name;
}

/**
 * The longest key a bucket holds: S3's 1,024 bytes (engine names `<bucket>/<key>` are at most
 * MAX_OBJECT_NAME_BYTES, 63 + 1 + 1,024, so every bucket holds S3's longest keys: decision 019).
 */
export const maxKeyBytes = (bucket: string): number => Math.min(MAX_KEY_BYTES, MAX_OBJECT_NAME_BYTES - Buffer.byteLength(bucket) - 1);

/** Throws KeyTooLongError past the bucket's key limit (maxKeyBytes), InvalidKeyError for an empty key or one that is not well-formed Unicode. */
export function checkKey(bucket: string, key: string): string {
  if (typeof key !== 'string' || key.length === 0) throw new InvalidKeyError(String(key), 'an object key is at least one character');
  if (LONE_SURROGATE.test(key)) throw new InvalidKeyError(key, 'an object key is valid UTF-8');
  const bytes = Buffer.byteLength(key, 'utf8');
  const max = maxKeyBytes(bucket);
  if (bytes > max) throw new KeyTooLongError(key, bytes, max);
  return key;
}

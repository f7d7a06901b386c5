// The object store (S3's buckets and objects over the engine): its public surface.
export { Objects, type PutOptions, type GetOptions, type OpenedEntry } from './store.js';
export type { ObjectEntry } from './entry.js';
export type { BucketInfo } from './buckets.js';
export type { ListOptions, ObjectPage } from './listing.js';
export type { Upload, Part, CompletedPart } from './multipart.js';
export type { Conditions } from './conditions.js';
export { verifyBuffer, type Expected } from './digests.js';
export { checkBucketName, checkKey, maxKeyBytes, bucketNameProblem, MAX_KEY_BYTES, RESERVED_BUCKET_NAMES } from './names.js';
export { DEFAULT_MAX_OBJECT_BYTES, DEFAULT_MIN_PART_BYTES, MAX_PARTS, MAX_LIST_KEYS, type ObjectsOptions, type ObjectEvent, type ObjectOrigin, type WriteOptions } from './options.js';

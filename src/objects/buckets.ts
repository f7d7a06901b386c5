// The bucket registry: one engine state entry per bucket (`_sluice/objects/buckets/<name>`), whose
// version every write into the bucket carries as a fence, so a write racing the bucket's deletion
// fails instead of leaving an object in a bucket that is gone. A bucket's objects are the engine's
// objects named `<bucket>/<key>`; it is empty when a listing of that prefix finds nothing.
import type { CallOptions, Engine } from '../engine/engine.js';
import { ConflictError } from '../engine/errors.js';
import { BucketExistsError, BucketNotEmptyError, BucketNotFoundError } from './errors.js';
import { checkBucketName } from './names.js';

export const BUCKET_STATE_PREFIX = '_sluice/objects/buckets/';

export interface BucketInfo {
  name: string;
  /** When it was created, ms since the epoch. */
  created: number;
}

/** A bucket as a write sees it: its state key and version, to fence the write with. */
export interface BucketFence {
  key: string;
  version: number;
}

export const bucketKey = (bucket: string): string => BUCKET_STATE_PREFIX + bucket;
/** The engine name of a bucket's object, and the listing prefix of a bucket. */
export const objectName = (bucket: string, key: string): string => `${bucket}/${key}`;

export class Buckets {
  constructor(private readonly engine: Engine, private readonly now: () => number) {}

  async create(name: string, call?: CallOptions): Promise<BucketInfo> {
    checkBucketName(name);
    const info: BucketInfo = { name, created: this.now() };
    try {
      await this.engine.commit({ state: [{ key: bucketKey(name), value: Buffer.from(JSON.stringify({ created: info.created })), expectedVersion: 0 }] }, call);
    } catch (e) {
      if (e instanceof ConflictError) throw new BucketExistsError(name);
      throw e;
    }
    return info;
  }

  /** The bucket's description; BucketNotFoundError when there is none. */
  async get(name: string, call?: CallOptions): Promise<BucketInfo & { fence: BucketFence }> {
    checkBucketName(name);
    const entry = await this.engine.getState(bucketKey(name), call);
    if (!entry) throw new BucketNotFoundError(name);
    const { created } = JSON.parse(Buffer.from(entry.value).toString('utf8')) as { created: number };
    return { name, created, fence: { key: bucketKey(name), version: entry.version } };
  }

  /** Every bucket, by name. */
  async list(call?: CallOptions): Promise<BucketInfo[]> {
    const entries = await this.engine.listState(BUCKET_STATE_PREFIX, call);
    const out: BucketInfo[] = [];
    for (const [key, entry] of entries) {
      const { created } = JSON.parse(Buffer.from(entry.value).toString('utf8')) as { created: number };
      out.push({ name: key.slice(BUCKET_STATE_PREFIX.length), created });
    }
    return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /** Deletes an empty bucket: BucketNotEmptyError while it holds an object or an unfinished multipart upload. */
  async delete(name: string, hasUploads: (bucket: string) => Promise<boolean>, call?: CallOptions): Promise<void> {
    const bucket = await this.get(name, call);
    const page = await this.engine.listObjects({ prefix: objectName(name, ''), limit: 1, ...call });
    if (page.objects.length > 0 || page.prefixes.length > 0 || (await hasUploads(name))) throw new BucketNotEmptyError(name);
    try {
      await this.engine.commit({ state: [{ key: bucket.fence.key, value: null, expectedVersion: bucket.fence.version }] }, call);
    } catch (e) {
      if (e instanceof ConflictError) throw new BucketNotFoundError(name);
      throw e;
    }
  }
}

/** Whether a ConflictError is the fence of a bucket (it was deleted while the write went on). */
export const isBucketGone = (e: unknown, fence: BucketFence): boolean => e instanceof ConflictError && e.of === 'state' && e.key === fence.key;

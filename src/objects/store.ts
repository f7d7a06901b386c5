// The object store: buckets of objects over the engine's staged objects. A PUT streams the body into
// the engine's staging (never holding it), checks what the client said of it (Content-MD5,
// checksums), then commits it fenced by its bucket; reads stream from the engine. Names are
// `<bucket>/<key>` (buckets.ts); multipart uploads are multipart.ts, listings listing.ts.
import type { CallOptions, ChecksumAlgorithm, CommitUnit, Engine, ObjectBody, ObjectInfo, ObjectRange, ObjectWrite, StagedObject } from '../engine/engine.js';
import { ConflictError, ObjectTooLargeError } from '../engine/errors.js';
import type { Readable } from 'node:stream';
import { Buckets, isBucketGone, objectName, type BucketFence, type BucketInfo } from './buckets.js';
import { checkConditions, type Conditions } from './conditions.js';
import { verifyStaged, type Expected } from './digests.js';
import { InvalidCopyError, ObjectNotFoundError, PreconditionFailedError, BucketNotFoundError } from './errors.js';
import { listObjects, type ListOptions, type ObjectPage } from './listing.js';
import { checkKey } from './names.js';
import { resolveObjectsOptions, type ObjectEvent, type ObjectsOptions, type ResolvedObjectsOptions, type WriteOptions } from './options.js';
import { Uploads } from './multipart.js';
import { entryOf, type ObjectEntry } from './entry.js';

export interface PutOptions extends WriteOptions {
  /** The size the request declares; over the limit it is refused before a byte is read. */
  size?: number;
  /** Checksums to compute and keep (x-amz-checksum-* asked for or sent). */
  checksums?: readonly ChecksumAlgorithm[];
  expected?: Expected;
  metadata?: Record<string, string>;
  /** `*`: only if the key is absent (If-None-Match on a PUT); an ETag: only if the key is at it (If-Match). */
  ifNoneMatch?: string;
  ifMatch?: string;
}

export interface GetOptions extends CallOptions {
  range?: ObjectRange;
  conditions?: Conditions;
}

export interface OpenedEntry {
  entry: ObjectEntry;
  start: number;
  end: number;
  body: Readable;
}

type Tag = Omit<ObjectEvent, 'written' | 'origin'> | undefined;

export class Objects {
  readonly options: ResolvedObjectsOptions;
  readonly buckets: Buckets;
  readonly uploads: Uploads;

  constructor(readonly engine: Engine, options: ObjectsOptions = {}) {
    this.options = resolveObjectsOptions(options);
    this.buckets = new Buckets(engine, () => this.options.clock.now());
    this.uploads = new Uploads(this);
  }

  createBucket(name: string, call?: CallOptions): Promise<BucketInfo> {
    return this.buckets.create(name, call);
  }

  async headBucket(name: string, call?: CallOptions): Promise<BucketInfo> {
    const { fence: _, ...info } = await this.buckets.get(name, call);
    return info;
  }

  listBuckets(call?: CallOptions): Promise<BucketInfo[]> {
    return this.buckets.list(call);
  }

  deleteBucket(name: string, call?: CallOptions): Promise<void> {
    return this.buckets.delete(name, (b) => this.uploads.any(b, call), call);
  }

  /** Stages a body (checked against the size limit and what the client said of it); the caller commits or discards it. */
  async stage(body: ObjectBody, o: PutOptions): Promise<StagedObject> {
    const max = this.options.maxObjectBytes;
    if (o.size !== undefined && o.size > max) throw new ObjectTooLargeError(max);
    const staged = await this.engine.stageObject(body, { maxBytes: max, ...(o.checksums ? { checksums: o.checksums } : {}), ...(o.signal ? { signal: o.signal } : {}) });
    try {
      if (o.expected) verifyStaged(staged, o.expected);
    } catch (e) {
      await this.engine.discardStaged(staged);
      throw e;
    }
    return staged;
  }

  /**
   * Commits a unit of object writes fenced by the bucket, discarding its staged objects if it fails;
   * a ConflictError of the fence is BucketNotFoundError. `tags[i]` names the event of
   * `unit.objects[i]` (undefined: not announced); the announcements (the `announce` option, with
   * `call.origin`) commit in the same unit. Every write of a bucket goes through here: the S3 API's
   * and the archives' (src/connectors/archive), so both announce alike.
   */
  async commitWrites(bucket: string, fence: BucketFence, unit: CommitUnit, tags: Tag[], staged: StagedObject[], call?: WriteOptions) {
    const announce = this.options.announce;
    const origin = call?.origin;
    try {
      return await this.engine.commit({
        ...unit,
        fences: [...(unit.fences ?? []), fence],
        ...(announce && tags.some(Boolean) ? { announce: (written) => announce(written.flatMap((w, i) => (tags[i] ? [{ ...tags[i]!, written: w, ...(origin ? { origin } : {}) }] : []))) } : {}),
      }, call);
    } catch (e) {
      await Promise.all(staged.map((s) => this.engine.discardStaged(s)));
      if (isBucketGone(e, fence)) throw new BucketNotFoundError(bucket);
      throw e;
    }
  }

  /** PutObject: the body streamed into staging, checked, committed; nothing is visible unless all of it is. */
  async put(bucket: string, key: string, body: ObjectBody, o: PutOptions = {}): Promise<ObjectEntry> {
    checkKey(bucket, key);
    const { fence } = await this.buckets.get(bucket, o);
    const expectedVersion = await this.writeCondition(bucket, key, o);
    const staged = await this.stage(body, o);
    const name = objectName(bucket, key);
    const write: ObjectWrite = { name, content: staged, metadata: o.metadata ?? {}, ...(expectedVersion !== undefined ? { expectedVersion } : {}) };
    try {
      const r = await this.commitWrites(bucket, fence, { objects: [write] }, [{ bucket, key, event: 'ObjectCreated:Put' }], [staged], o);
      return entryOf((r.objects[0] as { info: ObjectInfo }).info, key);
    } catch (e) {
      if (e instanceof ConflictError && e.of === 'object') throw new PreconditionFailedError(o.ifMatch !== undefined ? 'If-Match' : 'If-None-Match');
      throw e;
    }
  }

  /** The version a conditional PUT must find (0: absent), or undefined for an unconditional one. */
  private async writeCondition(bucket: string, key: string, o: PutOptions): Promise<number | undefined> {
    if (o.ifNoneMatch !== undefined) {
      if (o.ifNoneMatch.trim() !== '*') throw new PreconditionFailedError('If-None-Match');
      return 0;
    }
    if (o.ifMatch === undefined) return undefined;
    const info = await this.engine.statObject(objectName(bucket, key), o);
    if (!info) throw new ObjectNotFoundError(bucket, key);
    checkConditions({ ifMatch: o.ifMatch }, info);
    return info.version;
  }

  /** HeadObject: the description, or ObjectNotFoundError; conditions may answer 304/412. */
  async head(bucket: string, key: string, o: GetOptions = {}): Promise<ObjectEntry> {
    checkKey(bucket, key);
    await this.buckets.get(bucket, o);
    const info = await this.engine.statObject(objectName(bucket, key), o);
    if (!info) throw new ObjectNotFoundError(bucket, key);
    checkConditions(o.conditions, info);
    return entryOf(info, key);
  }

  /** GetObject: the body streamed from the engine (a range of it); the caller consumes or destroys it. */
  async get(bucket: string, key: string, o: GetOptions = {}): Promise<OpenedEntry> {
    checkKey(bucket, key);
    await this.buckets.get(bucket, o);
    const opened = await this.engine.openObject(objectName(bucket, key), { ...(o.range ? { range: o.range } : {}), ...(o.signal ? { signal: o.signal } : {}) });
    if (!opened) throw new ObjectNotFoundError(bucket, key);
    try {
      checkConditions(o.conditions, opened.info);
    } catch (e) {
      opened.body.destroy();
      throw e;
    }
    return { entry: entryOf(opened.info, key), start: opened.start, end: opened.end, body: opened.body };
  }

  /** DeleteObject: gone, whether it existed or not (S3 answers both alike). */
  async delete(bucket: string, key: string, call?: WriteOptions): Promise<void> {
    await this.deleteMany(bucket, [key], call);
  }

  /** DeleteObjects: one unit for every valid key; per key, an error for the invalid ones. */
  async deleteMany(bucket: string, keys: readonly string[], call?: WriteOptions): Promise<{ key: string; error?: unknown }[]> {
    const { fence } = await this.buckets.get(bucket, call);
    const results = keys.map((key) => {
      try {
        checkKey(bucket, key);
        return { key };
      } catch (error) {
        return { key, error };
      }
    });
    const valid = [...new Set(results.filter((r) => !r.error).map((r) => r.key))];
    if (valid.length) {
      const writes = valid.map((key): ObjectWrite => ({ name: objectName(bucket, key), content: null }));
      await this.commitWrites(bucket, fence, { objects: writes }, valid.map((key) => ({ bucket, key, event: 'ObjectRemoved:Delete' as const })), [], call);
    }
    return results;
  }

  /**
   * CopyObject: the destination refers to the source's content (no byte is copied), with the
   * source's metadata, or `metadata` in its place (x-amz-metadata-directive: REPLACE).
   */
  async copy(src: { bucket: string; key: string; conditions?: Conditions }, dst: { bucket: string; key: string }, o: { metadata?: Record<string, string> } & WriteOptions = {}): Promise<ObjectEntry> {
    checkKey(src.bucket, src.key);
    checkKey(dst.bucket, dst.key);
    await this.buckets.get(src.bucket, o);
    const { fence } = await this.buckets.get(dst.bucket, o);
    const source = await this.engine.statObject(objectName(src.bucket, src.key), o);
    if (!source) throw new ObjectNotFoundError(src.bucket, src.key);
    checkConditions(src.conditions, source, true);
    const onto = src.bucket === dst.bucket && src.key === dst.key;
    if (onto && o.metadata === undefined) {
      throw new InvalidCopyError("This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes.");
    }
    // Onto itself (new metadata), the bytes are staged again: the sqlite engine releases a name's
    // pieces before it resolves a reference to that same name, so a reference would copy nothing.
    const content = onto ? await this.restage(source, o) : [{ object: source.name, version: source.version }];
    const write: ObjectWrite = {
      name: objectName(dst.bucket, dst.key),
      content,
      ...(onto ? { expectedVersion: source.version } : {}),
      metadata: o.metadata ?? source.metadata,
      etag: source.etag,
      checksums: source.checksums,
    };
    // A source changed between its stat and the commit fails the unit (ConflictError): the copy is of one version or none.
    const staged = Array.isArray(content) ? [] : [content as StagedObject];
    const r = await this.commitWrites(dst.bucket, fence, { objects: [write] }, [{ bucket: dst.bucket, key: dst.key, event: 'ObjectCreated:Copy' }], staged, o);
    return entryOf((r.objects[0] as { info: ObjectInfo }).info, dst.key);
  }

  /** The bytes of one version of an object, streamed into staging. */
  private async restage(source: ObjectInfo, call: CallOptions): Promise<StagedObject> {
    const opened = await this.engine.openObject(source.name, { version: source.version, ...(call.signal ? { signal: call.signal } : {}) });
    if (!opened) throw new ConflictError(source.name, source.version, 0, 'object');
    return this.engine.stageObject(opened.body, { maxBytes: this.options.maxObjectBytes, ...(call.signal ? { signal: call.signal } : {}) });
  }

  /** ListObjectsV2 / ListObjects: a page of a bucket's keys. */
  async list(bucket: string, o: ListOptions & CallOptions = {}): Promise<ObjectPage> {
    await this.buckets.get(bucket, o);
    return listObjects(this.engine, bucket, o);
  }
}

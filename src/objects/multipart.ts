// Multipart uploads (decision 018): an upload is an engine state entry
// (`_sluice/objects/uploads/<bucket>/<id>`: key, initiation time, metadata, checksum algorithm) and
// each part an engine object of its own (`.uploads/<bucket>/<id>/<part number>`), committed fenced
// by the upload's entry, so a part that arrives after an abort or complete is refused. Completing is
// one unit: the object made of the parts by reference (no byte copied), with S3's multipart ETag,
// the parts deleted and the upload's entry deleted at the version read.
import { randomBytes } from 'node:crypto';
import type { CallOptions, ChecksumAlgorithm, Checksums, ObjectBody, ObjectInfo, ObjectWrite } from '../engine/engine.js';
import { MAX_LIST_LIMIT } from '../engine/engine.js';
import { ConflictError } from '../engine/errors.js';
import { objectName } from './buckets.js';
import { compositeChecksum, multipartEtag } from './digests.js';
import { entryOf, type ObjectEntry } from './entry.js';
import { InvalidPartError, InvalidPartNumberError, InvalidPartOrderError, PartTooSmallError, UploadNotFoundError } from './errors.js';
import { checkKey } from './names.js';
import { MAX_LIST_KEYS, MAX_PARTS, type WriteOptions } from './options.js';
import type { Objects, PutOptions } from './store.js';

export const UPLOAD_STATE_PREFIX = '_sluice/objects/uploads/';

export interface Upload {
  uploadId: string;
  key: string;
  /** ms since the epoch. */
  initiated: number;
  /** The object's metadata, given when the upload was created. */
  metadata: Record<string, string>;
  /** x-amz-checksum-algorithm of CreateMultipartUpload: every part gets it, the object a composite one. */
  checksum?: ChecksumAlgorithm;
}

export interface Part {
  partNumber: number;
  size: number;
  etag: string;
  modified: number;
  checksums: Checksums;
}

/** A part as CompleteMultipartUpload names it. */
export interface CompletedPart {
  partNumber: number;
  etag?: string;
  checksums?: Checksums;
}

const uploadKey = (bucket: string, id: string) => `${UPLOAD_STATE_PREFIX}${bucket}/${id}`;
const partsPrefix = (bucket: string, id: string) => `.uploads/${bucket}/${id}/`;
const partName = (bucket: string, id: string, n: number) => partsPrefix(bucket, id) + String(n).padStart(5, '0');
const unquote = (etag: string) => etag.trim().replace(/^"(.*)"$/, '$1');
const partOf = (info: ObjectInfo): Part => ({ partNumber: Number(info.name.slice(info.name.lastIndexOf('/') + 1)), size: info.size, etag: info.etag, modified: info.modified, checksums: info.checksums });

export function checkPartNumber(n: unknown): number {
  if (!Number.isInteger(n) || (n as number) < 1 || (n as number) > MAX_PARTS) throw new InvalidPartNumberError(n);
  return n as number;
}

export class Uploads {
  constructor(private readonly store: Objects) {}

  private get engine() {
    return this.store.engine;
  }

  async create(bucket: string, key: string, o: { metadata?: Record<string, string>; checksum?: ChecksumAlgorithm } & CallOptions = {}): Promise<Upload> {
    checkKey(bucket, key);
    const { fence } = await this.store.buckets.get(bucket, o);
    const upload: Upload = { uploadId: randomBytes(24).toString('base64url'), key, initiated: this.store.options.clock.now(), metadata: o.metadata ?? {}, ...(o.checksum ? { checksum: o.checksum } : {}) };
    const { uploadId: _, ...record } = upload;
    const value = Buffer.from(JSON.stringify(record));
    await this.store.commitWrites(bucket, fence, { state: [{ key: uploadKey(bucket, upload.uploadId), value, expectedVersion: 0 }] }, [], [], o);
    return upload;
  }

  /** The upload and its entry's version; UploadNotFoundError when there is none of that id for that key. */
  async get(bucket: string, key: string, uploadId: string, call?: CallOptions): Promise<Upload & { version: number }> {
    const entry = /^[A-Za-z0-9_-]{1,64}$/.test(uploadId) ? await this.engine.getState(uploadKey(bucket, uploadId), call) : undefined;
    const record = entry && (JSON.parse(Buffer.from(entry.value).toString('utf8')) as Omit<Upload, 'uploadId'>);
    if (!record || record.key !== key) throw new UploadNotFoundError(uploadId);
    return { ...record, uploadId, version: entry.version };
  }

  /** UploadPart: the body staged and committed as the part (replacing an earlier upload of that number). */
  async uploadPart(bucket: string, key: string, uploadId: string, partNumber: number, body: ObjectBody, o: PutOptions = {}): Promise<Part> {
    checkPartNumber(partNumber);
    const { fence } = await this.store.buckets.get(bucket, o);
    const upload = await this.get(bucket, key, uploadId, o);
    const checksums = [...new Set([...(o.checksums ?? []), ...(upload.checksum ? [upload.checksum] : [])])];
    const staged = await this.store.stage(body, { ...o, checksums });
    const uploadFence = { key: uploadKey(bucket, uploadId), version: upload.version };
    try {
      const r = await this.store.commitWrites(bucket, fence, { objects: [{ name: partName(bucket, uploadId, partNumber), content: staged }], fences: [uploadFence] }, [], [staged], o);
      return partOf((r.objects[0] as { info: ObjectInfo }).info);
    } catch (e) {
      if (e instanceof ConflictError && e.key === uploadFence.key) throw new UploadNotFoundError(uploadId);
      throw e;
    }
  }

  /** Every part of an upload, by number. */
  private async parts(bucket: string, uploadId: string, call?: CallOptions): Promise<Map<number, ObjectInfo>> {
    const out = new Map<number, ObjectInfo>();
    let cursor: string | undefined;
    do {
      const page = await this.engine.listObjects({ prefix: partsPrefix(bucket, uploadId), limit: MAX_LIST_LIMIT, ...(cursor ? { cursor } : {}), ...call });
      for (const info of page.objects) out.set(partOf(info).partNumber, info);
      cursor = page.next;
    } while (cursor);
    return out;
  }

  /** CompleteMultipartUpload: the parts named, in ascending order, each as uploaded; see the file comment. */
  async complete(bucket: string, key: string, uploadId: string, parts: readonly CompletedPart[], call?: WriteOptions): Promise<ObjectEntry> {
    const { fence } = await this.store.buckets.get(bucket, call);
    const upload = await this.get(bucket, key, uploadId, call);
    if (parts.length === 0) throw new InvalidPartError(0, 'a multipart upload is completed with at least one part');
    if (parts.length > MAX_PARTS) throw new InvalidPartNumberError(parts.length);
    let previous = 0;
    for (const p of parts) {
      checkPartNumber(p.partNumber);
      if (p.partNumber <= previous) throw new InvalidPartOrderError(p.partNumber);
      previous = p.partNumber;
    }
    const stored = await this.parts(bucket, uploadId, call);
    const used = parts.map((p) => {
      const info = stored.get(p.partNumber);
      if (!info) throw new InvalidPartError(p.partNumber, 'it was not uploaded');
      if (p.etag !== undefined && unquote(p.etag) !== info.etag) throw new InvalidPartError(p.partNumber, `its ETag is "${info.etag}", not ${p.etag}`);
      for (const [algorithm, value] of Object.entries(p.checksums ?? {})) {
        if (info.checksums[algorithm as ChecksumAlgorithm] !== value) throw new InvalidPartError(p.partNumber, `its ${algorithm.toUpperCase()} is not ${value}`);
      }
      return info;
    });
    const min = this.store.options.minPartBytes;
    const small = used.findIndex((u, i) => i < used.length - 1 && u.size < min);
    if (small >= 0) throw new PartTooSmallError(parts[small]!.partNumber, used[small]!.size, min);
    const checksums: Checksums = {};
    if (upload.checksum && used.every((u) => u.checksums[upload.checksum!] !== undefined)) {
      checksums[upload.checksum] = compositeChecksum(upload.checksum, used.map((u) => u.checksums[upload.checksum!]!));
    }
    const object: ObjectWrite = {
      name: objectName(bucket, key),
      content: used.map((u) => ({ object: u.name, version: u.version })),
      metadata: upload.metadata,
      etag: multipartEtag(used.map((u) => u.md5 ?? u.etag)),
      checksums,
    };
    const deletes = [...stored.values()].map((u): ObjectWrite => ({ name: u.name, content: null }));
    const state = [{ key: uploadKey(bucket, uploadId), value: null, expectedVersion: upload.version }];
    try {
      const r = await this.store.commitWrites(bucket, fence, { objects: [object, ...deletes], state }, [{ bucket, key, event: 'ObjectCreated:CompleteMultipartUpload' }], [], call);
      return entryOf((r.objects[0] as { info: ObjectInfo }).info, key);
    } catch (e) {
      if (e instanceof ConflictError && e.key === state[0]!.key) throw new UploadNotFoundError(uploadId);
      throw e;
    }
  }

  /** AbortMultipartUpload: the upload and its parts deleted. */
  async abort(bucket: string, key: string, uploadId: string, call?: CallOptions): Promise<void> {
    const { fence } = await this.store.buckets.get(bucket, call);
    const upload = await this.get(bucket, key, uploadId, call);
    const stored = await this.parts(bucket, uploadId, call);
    const state = [{ key: uploadKey(bucket, uploadId), value: null, expectedVersion: upload.version }];
    try {
      await this.store.commitWrites(bucket, fence, { objects: [...stored.values()].map((u): ObjectWrite => ({ name: u.name, content: null })), state }, [], [], call);
    } catch (e) {
      if (e instanceof ConflictError && e.key === state[0]!.key) throw new UploadNotFoundError(uploadId);
      throw e;
    }
  }

  /** ListParts: parts after `marker` (a part number), at most `maxParts` (1,000). */
  async listParts(bucket: string, key: string, uploadId: string, o: { marker?: number; maxParts?: number } & CallOptions = {}) {
    await this.store.buckets.get(bucket, o);
    const upload = await this.get(bucket, key, uploadId, o);
    const limit = Math.min(o.maxParts ?? MAX_LIST_KEYS, MAX_LIST_KEYS);
    if (limit === 0) return { upload, parts: [] as Part[], truncated: false };
    const page = await this.engine.listObjects({ prefix: partsPrefix(bucket, uploadId), limit, ...(o.marker ? { after: partName(bucket, uploadId, o.marker) } : {}), ...o });
    const parts = page.objects.map(partOf);
    return { upload, parts, truncated: page.next !== undefined, ...(page.next !== undefined ? { nextMarker: parts[parts.length - 1]!.partNumber } : {}) };
  }

  /** Every unfinished upload of a bucket, by key, then initiation. */
  async all(bucket: string, call?: CallOptions): Promise<Upload[]> {
    const prefix = `${UPLOAD_STATE_PREFIX}${bucket}/`;
    const out: Upload[] = [];
    for (const [k, entry] of await this.engine.listState(prefix, call)) {
      out.push({ ...(JSON.parse(Buffer.from(entry.value).toString('utf8')) as Omit<Upload, 'uploadId'>), uploadId: k.slice(prefix.length) });
    }
    return out.sort((a, b) => (a.key !== b.key ? (Buffer.compare(Buffer.from(a.key), Buffer.from(b.key))) : a.initiated - b.initiated || (a.uploadId < b.uploadId ? -1 : 1)));
  }

  /** Whether a bucket has an unfinished upload (it cannot be deleted then). */
  async any(bucket: string, call?: CallOptions): Promise<boolean> {
    return (await this.engine.listState(`${UPLOAD_STATE_PREFIX}${bucket}/`, call)).size > 0;
  }

  /** ListMultipartUploads: uploads after the markers, keys under `prefix`, rolled up by `delimiter`, at most `maxUploads`. */
  async list(bucket: string, o: { prefix?: string; delimiter?: string; keyMarker?: string; uploadIdMarker?: string; maxUploads?: number } & CallOptions = {}) {
    await this.store.buckets.get(bucket, o);
    const prefix = o.prefix ?? '';
    const limit = Math.min(o.maxUploads ?? MAX_LIST_KEYS, MAX_LIST_KEYS);
    let all = (await this.all(bucket, o)).filter((u) => u.key.startsWith(prefix));
    if (o.keyMarker !== undefined) {
      const marker = o.keyMarker;
      const at = o.uploadIdMarker !== undefined ? all.findIndex((u) => u.key === marker && u.uploadId === o.uploadIdMarker) : -1;
      all = at >= 0 ? all.slice(at + 1) : all.filter((u) => Buffer.compare(Buffer.from(u.key), Buffer.from(marker)) > 0);
    }
    const uploads: Upload[] = [];
    const prefixes: string[] = [];
    let truncated = false;
    for (const u of all) {
      const d = o.delimiter ? u.key.indexOf(o.delimiter, prefix.length) : -1;
      const common = d >= 0 ? u.key.slice(0, d + o.delimiter!.length) : undefined;
      if (common !== undefined && prefixes[prefixes.length - 1] === common) continue;
      if (uploads.length + prefixes.length === limit) {
        truncated = true;
        break;
      }
      if (common !== undefined) prefixes.push(common);
      else uploads.push(u);
    }
    const last = uploads[uploads.length - 1];
    return { uploads, prefixes, truncated, ...(truncated && last ? { nextKeyMarker: last.key, nextUploadIdMarker: last.uploadId } : {}) };
  }
}

// ListObjectsV2 and ListObjects (V1, which the AWS CLI still uses): S3's ListBucketResult over one
// page of the object store's listing; encoding-type=url encodes keys and prefixes.
import type { ObjectPage } from '../../objects/index.js';
import { MAX_LIST_KEYS } from '../../objects/index.js';
import { iso, OWNER } from './buckets.js';
import type { S3Call } from './call.js';
import { invalidArgument } from './errors.js';
import type { XmlNode } from './xml.js';

/** S3's url encoding of keys: every byte but unreserved characters and '/' percent-encoded. */
const urlEncode = (s: string) => encodeURIComponent(s).replace(/%2F/g, '/').replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());

function maxKeysOf(call: S3Call): number {
  const v = call.query.get('max-keys');
  if (v === null) return MAX_LIST_KEYS;
  if (!/^\d{1,9}$/.test(v)) throw invalidArgument('Provided max-keys not an integer or within integer range', 'max-keys', v);
  return Math.min(Number(v), MAX_LIST_KEYS);
}

function encodingOf(call: S3Call): ((s: string) => string) {
  const v = call.query.get('encoding-type');
  if (v === null) return (s) => s;
  if (v !== 'url') throw invalidArgument('Invalid Encoding Method specified in Request', 'encoding-type', v);
  return urlEncode;
}

const optional = (name: string, v: string | null | undefined, enc: (s: string) => string = (s) => s): XmlNode[] => (v === null || v === undefined ? [] : [[name, enc(v)]]);

function entries(page: ObjectPage, enc: (s: string) => string, owner: boolean): XmlNode[] {
  const contents = page.objects.map((o): XmlNode => ['Contents', [
    ['Key', enc(o.key)],
    ['LastModified', iso(o.modified)],
    ['ETag', `"${o.etag}"`],
    ['Size', o.size],
    ...(owner ? [['Owner', OWNER] as XmlNode] : []),
    ['StorageClass', 'STANDARD'],
    ...Object.keys(o.checksums).map((a): XmlNode => ['ChecksumAlgorithm', a.toUpperCase()]),
  ]]);
  return [...contents, ...page.prefixes.map((p): XmlNode => ['CommonPrefixes', [['Prefix', enc(p)]]])];
}

export async function listObjectsV2(call: S3Call): Promise<void> {
  const q = call.query;
  const enc = encodingOf(call);
  const maxKeys = maxKeysOf(call);
  const prefix = q.get('prefix') ?? '';
  const delimiter = q.get('delimiter');
  const token = q.get('continuation-token');
  const startAfter = q.get('start-after');
  const page = await call.objects.list(call.bucket, {
    prefix, maxKeys, signal: call.signal,
    ...(delimiter ? { delimiter } : {}),
    ...(token !== null ? { token } : {}),
    ...(startAfter ? { startAfter } : {}),
  });
  call.xml(200, 'ListBucketResult', [
    ['Name', call.bucket],
    ['Prefix', enc(prefix)],
    ...optional('StartAfter', startAfter, enc),
    ['KeyCount', page.objects.length + page.prefixes.length],
    ['MaxKeys', maxKeys],
    ...optional('Delimiter', delimiter, enc),
    ['IsTruncated', page.truncated],
    ...entries(page, enc, q.get('fetch-owner') === 'true'),
    ...optional('EncodingType', q.get('encoding-type')),
    ...optional('ContinuationToken', token),
    ...optional('NextContinuationToken', page.nextToken),
  ]);
}

/** V1: Marker is a key (start after it); NextMarker the page's last key or common prefix. */
export async function listObjects(call: S3Call): Promise<void> {
  const q = call.query;
  const enc = encodingOf(call);
  const maxKeys = maxKeysOf(call);
  const prefix = q.get('prefix') ?? '';
  const delimiter = q.get('delimiter');
  const marker = q.get('marker') ?? '';
  const page = await call.objects.list(call.bucket, { prefix, maxKeys, signal: call.signal, ...(delimiter ? { delimiter } : {}), ...(marker ? { startAfter: marker } : {}) });
  const lastKey = page.objects[page.objects.length - 1]?.key;
  const lastPrefix = page.prefixes[page.prefixes.length - 1];
  const next = lastPrefix !== undefined && (lastKey === undefined || Buffer.compare(Buffer.from(lastPrefix), Buffer.from(lastKey)) > 0) ? lastPrefix : lastKey;
  call.xml(200, 'ListBucketResult', [
    ['Name', call.bucket],
    ['Prefix', enc(prefix)],
    ['Marker', enc(marker)],
    ['MaxKeys', maxKeys],
    ...optional('Delimiter', delimiter, enc),
    ['IsTruncated', page.truncated],
    ...(page.truncated ? optional('NextMarker', next, enc) : []),
    ...entries(page, enc, true),
    ...optional('EncodingType', q.get('encoding-type')),
  ]);
}

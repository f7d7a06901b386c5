// Multipart uploads: CreateMultipartUpload, UploadPart (streamed like PutObject),
// CompleteMultipartUpload (XML list of parts), AbortMultipartUpload, ListParts, ListMultipartUploads.
import type { ChecksumAlgorithm, Checksums } from '../../engine/engine.js';
import { InvalidPartNumberError } from '../../objects/errors.js';
import { MAX_LIST_KEYS, verifyBuffer, type CompletedPart } from '../../objects/index.js';
import { iso, OWNER } from './buckets.js';
import type { S3Call } from './call.js';
import { invalidArgument, S3Error } from './errors.js';
import { checksumHeaders, digestsOf, headerOf, metadataOf } from './headers.js';
import { child, childrenOf, parseXml, type XmlNode } from './xml.js';

const ALGORITHMS = ['crc32', 'crc32c', 'sha1', 'sha256'];
const malformed = () => new S3Error('MalformedXML', 'The XML you provided was not well-formed or did not validate against our published schema', 400);

function count(call: S3Call, name: string, max = MAX_LIST_KEYS): number {
  const v = call.query.get(name);
  if (v === null) return max;
  if (!/^\d{1,9}$/.test(v)) throw invalidArgument(`Provided ${name} not an integer or within integer range`, name, v);
  return Math.min(Number(v), max);
}

const uploadIdOf = (call: S3Call) => call.query.get('uploadId') ?? '';

export async function createMultipartUpload(call: S3Call): Promise<void> {
  const algorithm = headerOf(call.req, 'x-amz-checksum-algorithm')?.toLowerCase();
  if (algorithm !== undefined && !ALGORITHMS.includes(algorithm)) throw invalidArgument('Checksum algorithm provided is unsupported. Please try again with any of the valid types: [CRC32, CRC32C, SHA1, SHA256]', 'x-amz-checksum-algorithm', algorithm);
  const upload = await call.objects.uploads.create(call.bucket, call.key, { metadata: metadataOf(call.req), ...(algorithm ? { checksum: algorithm as ChecksumAlgorithm } : {}), signal: call.signal });
  call.xml(200, 'InitiateMultipartUploadResult', [['Bucket', call.bucket], ['Key', call.key], ['UploadId', upload.uploadId]], algorithm ? { 'x-amz-checksum-algorithm': algorithm.toUpperCase() } : {});
}

export async function uploadPart(call: S3Call): Promise<void> {
  const n = call.query.get('partNumber');
  if (n === null || !/^\d{1,5}$/.test(n)) throw new InvalidPartNumberError(n);
  const payload = call.payload();
  const { checksums, expected } = digestsOf(call.req, payload.trailers);
  const part = await call.objects.uploads.uploadPart(call.bucket, call.key, uploadIdOf(call), Number(n), payload.body, {
    ...(payload.size !== undefined ? { size: payload.size } : {}), checksums, expected, signal: call.signal,
  });
  call.empty(200, { etag: `"${part.etag}"`, ...checksumHeaders(part.checksums) });
}

function partsOf(xml: string): CompletedPart[] {
  const root = parseXml(xml);
  if (root.name !== 'CompleteMultipartUpload') throw malformed();
  return childrenOf(root, 'Part').map((p) => {
    const number = child(p, 'PartNumber')?.text.trim() ?? '';
    if (!/^\d{1,9}$/.test(number)) throw malformed();
    const checksums: Checksums = {};
    for (const a of ALGORITHMS) {
      const v = child(p, `Checksum${a.toUpperCase()}`)?.text.trim();
      if (v) checksums[a as ChecksumAlgorithm] = v;
    }
    const etag = child(p, 'ETag')?.text;
    return { partNumber: Number(number), ...(etag !== undefined ? { etag } : {}), checksums };
  });
}

export async function completeMultipartUpload(call: S3Call, client: string): Promise<void> {
  const body = await call.smallBody(client);
  verifyBuffer(body, digestsOf(call.req, call.payload().trailers).expected);
  const parts = partsOf(body.toString('utf8'));
  if (parts.length === 0) throw malformed();
  const entry = await call.objects.uploads.complete(call.bucket, call.key, uploadIdOf(call), parts, call);
  const checksums = Object.entries(entry.checksums).map(([a, v]): XmlNode => [`Checksum${a.toUpperCase()}`, v]);
  const location = `${call.gw.url}/${encodeURIComponent(call.bucket)}/${call.key.split('/').map(encodeURIComponent).join('/')}`;
  call.xml(200, 'CompleteMultipartUploadResult', [
    ['Location', location], ['Bucket', call.bucket], ['Key', call.key], ['ETag', `"${entry.etag}"`], ...checksums,
    ...(checksums.length ? [['ChecksumType', 'COMPOSITE'] as XmlNode] : []),
  ]);
}

export async function abortMultipartUpload(call: S3Call): Promise<void> {
  await call.objects.uploads.abort(call.bucket, call.key, uploadIdOf(call), call);
  call.empty(204);
}

export async function listParts(call: S3Call): Promise<void> {
  const marker = call.query.get('part-number-marker');
  if (marker !== null && !/^\d{1,5}$/.test(marker)) throw invalidArgument('Provided part-number-marker not an integer or within integer range', 'part-number-marker', marker);
  const maxParts = count(call, 'max-parts');
  const r = await call.objects.uploads.listParts(call.bucket, call.key, uploadIdOf(call), { ...(marker ? { marker: Number(marker) } : {}), maxParts, signal: call.signal });
  call.xml(200, 'ListPartsResult', [
    ['Bucket', call.bucket], ['Key', call.key], ['UploadId', r.upload.uploadId],
    ['PartNumberMarker', marker ?? 0], ...(r.nextMarker !== undefined ? [['NextPartNumberMarker', r.nextMarker] as XmlNode] : []),
    ['MaxParts', maxParts], ['IsTruncated', r.truncated],
    ...r.parts.map((p): XmlNode => ['Part', [
      ['PartNumber', p.partNumber], ['LastModified', iso(p.modified)], ['ETag', `"${p.etag}"`], ['Size', p.size],
      ...Object.entries(p.checksums).map(([a, v]): XmlNode => [`Checksum${a.toUpperCase()}`, v]),
    ]]),
    ['Initiator', OWNER], ['Owner', OWNER], ['StorageClass', 'STANDARD'],
    ...(r.upload.checksum ? [['ChecksumAlgorithm', r.upload.checksum.toUpperCase()] as XmlNode] : []),
  ]);
}

export async function listMultipartUploads(call: S3Call): Promise<void> {
  const q = call.query;
  const maxUploads = count(call, 'max-uploads');
  const prefix = q.get('prefix') ?? '';
  const delimiter = q.get('delimiter');
  const keyMarker = q.get('key-marker');
  const uploadIdMarker = q.get('upload-id-marker');
  const r = await call.objects.uploads.list(call.bucket, {
    prefix, maxUploads, signal: call.signal,
    ...(delimiter ? { delimiter } : {}), ...(keyMarker ? { keyMarker } : {}), ...(uploadIdMarker ? { uploadIdMarker } : {}),
  });
  call.xml(200, 'ListMultipartUploadsResult', [
    ['Bucket', call.bucket], ['KeyMarker', keyMarker ?? ''], ['UploadIdMarker', uploadIdMarker ?? ''],
    ...(r.nextKeyMarker !== undefined ? [['NextKeyMarker', r.nextKeyMarker] as XmlNode, ['NextUploadIdMarker', r.nextUploadIdMarker] as XmlNode] : []),
    ['Prefix', prefix], ...(delimiter ? [['Delimiter', delimiter] as XmlNode] : []),
    ['MaxUploads', maxUploads], ['IsTruncated', r.truncated],
    ...r.uploads.map((u): XmlNode => ['Upload', [['Key', u.key], ['UploadId', u.uploadId], ['Initiator', OWNER], ['Owner', OWNER], ['StorageClass', 'STANDARD'], ['Initiated', iso(u.initiated)]]]),
    ...r.prefixes.map((p): XmlNode => ['CommonPrefixes', [['Prefix', p]]]),
  ]);
}

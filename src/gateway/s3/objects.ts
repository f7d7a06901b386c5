// Object operations: PutObject (streamed into staging, verified, committed), GetObject (streamed
// from the engine, with Range and conditions), HeadObject, DeleteObject, DeleteObjects (XML, quiet
// mode), CopyObject (by reference; x-amz-metadata-directive COPY or REPLACE).
import { resolveRange } from '../../engine/objects/names.js';
import { verifyBuffer } from '../../objects/index.js';
import { authorize } from './auth.js';
import { iso } from './buckets.js';
import type { S3Call } from './call.js';
import { invalidArgument, notImplemented, S3Error, toS3Error } from './errors.js';
import { checksumHeaders, conditionsOf, digestsOf, headerOf, metadataOf, objectHeaders, overridesOf, rangeOf } from './headers.js';
import { child, childrenOf, parseXml, xmlSafe, type XmlNode } from './xml.js';

/** Most keys of one DeleteObjects request (S3's). */
export const MAX_DELETE_KEYS = 1000;

const checksumMode = (call: S3Call) => headerOf(call.req, 'x-amz-checksum-mode')?.toUpperCase() === 'ENABLED';

export async function putObject(call: S3Call): Promise<void> {
  const payload = call.payload();
  const { checksums, expected } = digestsOf(call.req, payload.trailers);
  const ifNoneMatch = headerOf(call.req, 'if-none-match');
  const ifMatch = headerOf(call.req, 'if-match');
  const entry = await call.objects.put(call.bucket, call.key, payload.body, {
    ...(payload.size !== undefined ? { size: payload.size } : {}),
    checksums, expected, metadata: metadataOf(call.req), signal: call.signal, origin: call.origin,
    ...(ifNoneMatch !== undefined ? { ifNoneMatch } : {}),
    ...(ifMatch !== undefined ? { ifMatch } : {}),
  });
  call.empty(200, { etag: `"${entry.etag}"`, ...checksumHeaders(entry.checksums) });
}

function noParts(call: S3Call): void {
  if (call.query.has('partNumber')) throw notImplemented('?partNumber on GetObject and HeadObject');
}

export async function getObject(call: S3Call): Promise<void> {
  noParts(call);
  const range = rangeOf(headerOf(call.req, 'range'));
  const conditions = conditionsOf(call.req);
  const overrides = overridesOf(call.query);
  const opened = await call.objects.get(call.bucket, call.key, { ...(range ? { range } : {}), ...(conditions ? { conditions } : {}), signal: call.signal });
  const headers = objectHeaders(opened.entry, { checksums: checksumMode(call) && !range, overrides });
  headers['content-length'] = String(opened.end - opened.start + 1);
  if (range) headers['content-range'] = `bytes ${opened.start}-${opened.end}/${opened.entry.size}`;
  await call.stream(range ? 206 : 200, headers, opened.body);
}

export async function headObject(call: S3Call): Promise<void> {
  noParts(call);
  const conditions = conditionsOf(call.req);
  const overrides = overridesOf(call.query);
  const entry = await call.objects.head(call.bucket, call.key, { ...(conditions ? { conditions } : {}), signal: call.signal });
  const range = rangeOf(headerOf(call.req, 'range'));
  const headers = objectHeaders(entry, { checksums: checksumMode(call) && !range, overrides });
  if (!range) return call.empty(200, { ...headers, 'content-length': String(entry.size) });
  const { start, end } = resolveRange(call.key, entry.size, range); // as GetObject answers: the engine's resolution
  call.empty(206, { ...headers, 'content-length': String(end - start + 1), 'content-range': `bytes ${start}-${end}/${entry.size}` });
}

export async function deleteObject(call: S3Call): Promise<void> {
  await call.objects.delete(call.bucket, call.key, call);
  call.empty(204);
}

export async function deleteObjects(call: S3Call, client: string): Promise<void> {
  const body = await call.smallBody(client);
  verifyBuffer(body, digestsOf(call.req, call.payload().trailers).expected);
  const root = parseXml(body.toString('utf8'));
  const objects = childrenOf(root, 'Object');
  if (root.name !== 'Delete' || objects.length === 0 || objects.length > MAX_DELETE_KEYS) {
    throw new S3Error('MalformedXML', 'The XML you provided was not well-formed or did not validate against our published schema', 400);
  }
  const quiet = child(root, 'Quiet')?.text.trim().toLowerCase() === 'true';
  const keys = objects.map((o) => child(o, 'Key')?.text ?? '');
  const results = await call.objects.deleteMany(call.bucket, keys, call);
  const nodes: XmlNode[] = [];
  for (const r of results) {
    if (r.error === undefined) {
      if (!quiet) nodes.push(['Deleted', [['Key', r.key]]]);
      continue;
    }
    const err = toS3Error(r.error) ?? new S3Error('InternalError', 'We encountered an internal error. Please try again.', 500);
    nodes.push(['Error', [['Key', xmlSafe(r.key) ? r.key : encodeURIComponent(r.key)], ['Code', err.code], ['Message', err.message]]]);
  }
  call.xml(200, 'DeleteResult', nodes);
}

/** The bucket and key of x-amz-copy-source (`[/]bucket/key`, URL-encoded; `?versionId=null` only). */
function copySourceOf(value: string): { bucket: string; key: string } {
  const q = value.indexOf('?');
  const path = q < 0 ? value : value.slice(0, q);
  if (q >= 0) {
    const version = new URLSearchParams(value.slice(q + 1)).get('versionId');
    if (version !== null && version !== 'null') throw notImplemented('x-amz-copy-source with a versionId (buckets are not versioned)');
  }
  const trimmed = path.startsWith('/') ? path.slice(1) : path;
  const slash = trimmed.indexOf('/');
  try {
    if (slash > 0 && slash < trimmed.length - 1) return { bucket: decodeURIComponent(trimmed.slice(0, slash)), key: decodeURIComponent(trimmed.slice(slash + 1)) };
  } catch {
    // not percent-encoding: refused below
  }
  throw invalidArgument('Copy Source must mention the source bucket and key: sourcebucket/sourcekey', 'x-amz-copy-source', value);
}

export async function copyObject(call: S3Call): Promise<void> {
  const source = copySourceOf(headerOf(call.req, 'x-amz-copy-source')!);
  authorize(call.caller, source.bucket, 'read');
  const directive = (headerOf(call.req, 'x-amz-metadata-directive') ?? 'COPY').toUpperCase();
  if (directive !== 'COPY' && directive !== 'REPLACE') throw invalidArgument('Unknown metadata directive.', 'x-amz-metadata-directive', directive);
  const conditions = conditionsOf(call.req, 'x-amz-copy-source-');
  const entry = await call.objects.copy(
    { ...source, ...(conditions ? { conditions } : {}) },
    { bucket: call.bucket, key: call.key },
    { ...(directive === 'REPLACE' ? { metadata: metadataOf(call.req) } : {}), signal: call.signal, origin: call.origin },
  );
  const checksums = Object.entries(entry.checksums).map(([a, v]): XmlNode => [`Checksum${a.toUpperCase()}`, v]);
  call.xml(200, 'CopyObjectResult', [['LastModified', iso(entry.modified)], ['ETag', `"${entry.etag}"`], ...checksums]);
}

// Which requests are S3's, and which operation each is (decision 019). Path-style only: the raw
// path's first segment is the bucket, the rest (percent-decoded once, never normalised: '..'
// stays, '%2F' is a '/' in the key) the key. First segments the gateway serves itself are not
// S3's; nor is Kinesis' `POST /`. Subresources S3 has and Sluice does not are NotImplemented.
import type { Action } from '../auth/scopes.js';
import type { GatewayRequest } from '../request.js';
import { notImplemented, S3Error } from './errors.js';

/** First path segments of the gateway's own routes (native API, metrics, health, dashboard, function URLs, Lambda). */
export const RESERVED_SEGMENTS: ReadonlySet<string> = new Set(['v1', 'metrics', 'healthz', 'readyz', 'ui', 'fn', '2015-03-31']);

/** Query parameters naming S3 subresources Sluice does not implement. */
const UNSUPPORTED = new Set([
  'acl', 'tagging', 'policy', 'policyStatus', 'cors', 'lifecycle', 'website', 'logging', 'notification', 'replication', 'encryption', 'object-lock',
  'retention', 'legal-hold', 'torrent', 'restore', 'select', 'select-type', 'versions', 'accelerate', 'analytics', 'inventory', 'metrics',
  'ownershipControls', 'publicAccessBlock', 'requestPayment', 'intelligent-tiering', 'attributes', 'session', 'renameObject',
]);

export type OperationName =
  | 'ListBuckets' | 'CreateBucket' | 'HeadBucket' | 'DeleteBucket' | 'GetBucketLocation' | 'GetBucketVersioning'
  | 'ListObjects' | 'ListObjectsV2' | 'ListMultipartUploads' | 'DeleteObjects'
  | 'PutObject' | 'CopyObject' | 'GetObject' | 'HeadObject' | 'DeleteObject'
  | 'CreateMultipartUpload' | 'UploadPart' | 'CompleteMultipartUpload' | 'AbortMultipartUpload' | 'ListParts';

/** The scope each operation needs on its bucket (ListBuckets: none; it lists what the caller may see). */
export const ACTIONS: Record<OperationName, Action | undefined> = {
  ListBuckets: undefined, CreateBucket: 'admin', DeleteBucket: 'admin', HeadBucket: 'read', GetBucketLocation: 'read', GetBucketVersioning: 'read',
  ListObjects: 'read', ListObjectsV2: 'read', ListMultipartUploads: 'read', DeleteObjects: 'write', PutObject: 'write', CopyObject: 'write',
  GetObject: 'read', HeadObject: 'read', DeleteObject: 'write', CreateMultipartUpload: 'write', UploadPart: 'write', CompleteMultipartUpload: 'write',
  AbortMultipartUpload: 'write', ListParts: 'read',
};

export interface S3Target {
  bucket?: string;
  key?: string;
  query: URLSearchParams;
}

const rawPathOf = (url: string) => {
  const q = url.indexOf('?');
  return q < 0 ? url : url.slice(0, q);
};

/** A request signed for S3: SigV4 whose credential scope names service `s3`, in the header or the query. */
const S3_SIGNED = /Credential=[^/,&]+\/\d{8}\/[^/]+\/s3\/aws4_request|X-Amz-Credential=[^&]*(?:\/|%2F)s3(?:\/|%2F)aws4_request/i;

/**
 * Whether the S3 API answers a request: any request signed for S3 (it then hears S3's answer, an
 * InvalidBucketName for `/metrics` say); else any path whose first segment could be a bucket name
 * and is not one of the gateway's own routes, and `/` but for Kinesis' POST and CORS preflight.
 * Other paths stay the native API's (its JSON 404).
 */
export function s3Request(req: GatewayRequest): boolean {
  const url = req.url ?? '/';
  const auth = req.headers['authorization'];
  if (S3_SIGNED.test(typeof auth === 'string' ? auth : '') || S3_SIGNED.test(url)) return true;
  const path = rawPathOf(url);
  const first = path.split('/')[1] ?? '';
  if (first === '') return path === '/' && req.method !== 'POST' && req.method !== 'OPTIONS';
  return !RESERVED_SEGMENTS.has(first) && /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(first);
}

const invalidUri = () => new S3Error('InvalidURI', "Couldn't parse the specified URI.", 400);

/** The bucket and key a path names (percent-decoded once), and the query. */
export function targetOf(url: string): S3Target {
  const path = rawPathOf(url);
  const query = new URLSearchParams(url.length > path.length ? url.slice(path.length + 1) : '');
  const slash = path.indexOf('/', 1);
  const rawBucket = slash < 0 ? path.slice(1) : path.slice(1, slash);
  const rawKey = slash < 0 ? '' : path.slice(slash + 1);
  try {
    const bucket = decodeURIComponent(rawBucket);
    const key = decodeURIComponent(rawKey);
    return { ...(bucket ? { bucket } : {}), ...(key ? { key } : {}), query };
  } catch {
    throw invalidUri();
  }
}

const methodNotAllowed = (method: string, what: string) =>
  new S3Error('MethodNotAllowed', 'The specified method is not allowed against this resource.', 405, { Method: method, ResourceType: what });

/** The operation a request asks for; NotImplemented for S3 operations Sluice lacks, MethodNotAllowed for none at all. */
export function operationOf(method: string, t: S3Target, headers: GatewayRequest['headers']): OperationName {
  for (const name of t.query.keys()) if (UNSUPPORTED.has(name)) throw notImplemented(`?${name}`);
  const versionId = t.query.get('versionId');
  if (versionId !== null && versionId !== 'null') throw notImplemented('?versionId (buckets are not versioned)');
  const q = (name: string) => t.query.has(name);
  if (t.bucket === undefined) {
    if (method === 'GET') return 'ListBuckets';
    throw methodNotAllowed(method, 'SERVICE');
  }
  if (t.key === undefined) {
    switch (method) {
      case 'PUT': return q('versioning') ? thrown(notImplemented('PutBucketVersioning')) : 'CreateBucket';
      case 'HEAD': return 'HeadBucket';
      case 'DELETE': return 'DeleteBucket';
      case 'POST': return q('delete') ? 'DeleteObjects' : thrown(notImplemented('POST uploads (browser forms)'));
      case 'GET':
        if (q('location')) return 'GetBucketLocation';
        if (q('versioning')) return 'GetBucketVersioning';
        if (q('uploads')) return 'ListMultipartUploads';
        return t.query.get('list-type') === '2' ? 'ListObjectsV2' : 'ListObjects';
      default: throw methodNotAllowed(method, 'BUCKET');
    }
  }
  const uploadId = q('uploadId');
  switch (method) {
    case 'PUT':
      if (uploadId || q('partNumber')) {
        if (headers['x-amz-copy-source'] !== undefined) throw notImplemented('UploadPartCopy');
        return 'UploadPart';
      }
      return headers['x-amz-copy-source'] !== undefined ? 'CopyObject' : 'PutObject';
    case 'GET': return uploadId ? 'ListParts' : 'GetObject';
    case 'HEAD': return 'HeadObject';
    case 'DELETE': return uploadId ? 'AbortMultipartUpload' : 'DeleteObject';
    case 'POST':
      if (q('uploads')) return 'CreateMultipartUpload';
      if (uploadId) return 'CompleteMultipartUpload';
      throw notImplemented('POST on an object');
    default: throw methodNotAllowed(method, 'OBJECT');
  }
}

function thrown(e: Error): never {
  throw e;
}

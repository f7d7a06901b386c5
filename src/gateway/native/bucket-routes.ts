// Buckets in the native API, read-only, for the dashboard and scripts holding a bearer key (the S3
// API wants SigV4): the buckets the key may read, and a page of one bucket's keys with prefix,
// delimiter and continuation token, as ListObjectsV2 gives them.
import type { HTTPMethod } from 'find-my-way';
import { can } from '../auth/scopes.js';
import { ForbiddenError } from '../errors.js';
import type { Gateway, RequestContext, RouteHandler } from '../gateway.js';
import { HttpError } from '../http-error.js';
import { sendJson } from '../request.js';
import { bucketScope } from '../s3/auth.js';
import { MAX_LIST_KEYS } from '../../objects/index.js';

export function bucketRoutes(gw: Gateway): [HTTPMethod, string, RouteHandler][] {
  return [
    ['GET', '/v1/buckets', (ctx) => list(gw, ctx)],
    ['GET', '/v1/buckets/:bucket/objects', (ctx) => objects(gw, ctx)],
  ];
}

async function list(gw: Gateway, ctx: RequestContext) {
  const principal = gw.principalOf(ctx.req);
  const buckets = await gw.objects.listBuckets({ signal: ctx.signal });
  sendJson(ctx.res, 200, { buckets: buckets.filter((b) => can(principal, bucketScope(b.name), 'read')) });
}

/** `?prefix=`, `?delimiter=`, `?token=` (a page's nextToken), `?limit=` 1-1,000 (default 1,000). */
async function objects(gw: Gateway, ctx: RequestContext) {
  const bucket = ctx.params.bucket!;
  const principal = gw.principalOf(ctx.req);
  if (!can(principal, bucketScope(bucket), 'read')) throw new ForbiddenError(`key '${principal.id}' may not read bucket '${bucket}'`, bucketScope(bucket), 'read');
  const q = ctx.query;
  const limit = q.get('limit');
  if (limit !== null && !(/^\d{1,4}$/.test(limit) && Number(limit) >= 1 && Number(limit) <= MAX_LIST_KEYS)) {
    throw new HttpError(400, 'InvalidArgument', `limit must be a whole number from 1 to ${MAX_LIST_KEYS}, got '${limit}'`, { field: 'limit' });
  }
  const page = await gw.objects.list(bucket, {
    prefix: q.get('prefix') ?? '',
    ...(q.get('delimiter') ? { delimiter: q.get('delimiter')! } : {}),
    ...(q.get('token') ? { token: q.get('token')! } : {}),
    maxKeys: limit === null ? MAX_LIST_KEYS : Number(limit),
    signal: ctx.signal,
  });
  sendJson(ctx.res, 200, {
    bucket,
    objects: page.objects.map((o) => ({ key: o.key, size: o.size, etag: o.etag, modified: o.modified, contentType: o.metadata['content-type'] ?? null })),
    prefixes: page.prefixes,
    truncated: page.truncated,
    ...(page.nextToken !== undefined && { nextToken: page.nextToken }),
  });
}

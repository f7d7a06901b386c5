// Bucket operations: ListBuckets (the buckets the caller's scopes reach), CreateBucket,
// HeadBucket, DeleteBucket (only when empty), GetBucketLocation, GetBucketVersioning (never
// versioned).
import { canSee } from '../auth/scopes.js';
import { bucketScope } from './auth.js';
import type { S3Call } from './call.js';
import { parseXml } from './xml.js';

/** Every bucket has one owner: the Sluice deployment. */
export const OWNER = [['ID', 'sluice'], ['DisplayName', 'sluice']] as [string, string][];

const iso = (ms: number) => new Date(ms).toISOString();

export async function listBuckets(call: S3Call): Promise<void> {
  const buckets = (await call.objects.listBuckets(call)).filter((b) => canSee(call.caller.principal, bucketScope(b.name)));
  call.xml(200, 'ListAllMyBucketsResult', [
    ['Owner', OWNER],
    ['Buckets', buckets.map((b) => ['Bucket', [['Name', b.name], ['CreationDate', iso(b.created)]]])],
  ]);
}

/** CreateBucket; a CreateBucketConfiguration body (LocationConstraint) is read, checked as XML, and needs no action: one region. */
export async function createBucket(call: S3Call, client: string): Promise<void> {
  const body = await call.smallBody(client);
  if (body.length > 0) parseXml(body.toString('utf8'));
  await call.objects.createBucket(call.bucket, call);
  call.empty(200, { location: `/${call.bucket}` });
}

export async function headBucket(call: S3Call): Promise<void> {
  await call.objects.headBucket(call.bucket, call);
  call.empty(200, { 'x-amz-bucket-region': call.gw.options.region });
}

export async function deleteBucket(call: S3Call): Promise<void> {
  await call.objects.deleteBucket(call.bucket, call);
  call.empty(204);
}

/** us-east-1 is S3's empty LocationConstraint. */
export async function getBucketLocation(call: S3Call): Promise<void> {
  await call.objects.headBucket(call.bucket, call);
  const region = call.gw.options.region;
  call.text(200, `<?xml version="1.0" encoding="UTF-8"?>\n<LocationConstraint xmlns="http://s3.amazonaws.com/doc/2006-03-01/">${region === 'us-east-1' ? '' : region}</LocationConstraint>`, { 'content-type': 'application/xml' });
}

export async function getBucketVersioning(call: S3Call): Promise<void> {
  await call.objects.headBucket(call.bucket, call);
  call.xml(200, 'VersioningConfiguration', []);
}

// (CreationDate and LastModified are ISO 8601 with milliseconds, as S3 writes them.)
export { iso };

// Who may use the S3 API: SigV4 in the header and presigned URLs (fetched with plain fetch),
// refused signatures with S3's codes (SignatureDoesNotMatch, InvalidAccessKeyId, an expired URL,
// a skewed clock), and bucket scopes read / write / admin, as stream scopes are.
import {
  CreateBucketCommand, DeleteBucketCommand, DeleteObjectCommand, GetObjectCommand, HeadObjectCommand, ListBucketsCommand, ListObjectsV2Command,
  PutObjectCommand, type S3Client,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENGINES } from '../support/engines.js';
import type { TestGateway } from '../support/gateway.js';
import { createApiKey } from '../../src/gateway/auth/api-keys.js';
import { ADMIN, bytes, fetchBody, md5, READER, S3_PRINCIPALS, s3Client, s3Failure, signV4, startS3, WRITER } from '../support/s3.js';

/** The error code and status of a raw answer's XML body. */
async function xmlError(res: Response): Promise<{ status: number; code: string | undefined; message: string | undefined }> {
  const text = await res.text();
  return { status: res.status, code: /<Code>([^<]*)<\/Code>/.exec(text)?.[1], message: /<Message>([^<]*)<\/Message>/.exec(text)?.[1] };
}

describe.each(ENGINES)('S3 authentication and scopes on the $name engine', ({ factory }) => {
  let t: TestGateway;
  let s3: S3Client;
  let reader: S3Client;
  let writer: S3Client;
  const object = bytes(70_000, 21);

  const curl = createApiKey('curl');

  beforeAll(async () => {
    const started = await startS3(factory, { principals: [...S3_PRINCIPALS, { id: 'curl', apiKeyHash: curl.hash, scopes: { 'bucket:public-*': ['read', 'write'] } }] });
    t = started;
    s3 = started.s3;
    reader = s3Client(t.url, READER);
    writer = s3Client(t.url, WRITER);
    for (const Bucket of ['public-photos', 'uploads', 'private']) await s3.send(new CreateBucketCommand({ Bucket }));
    await s3.send(new PutObjectCommand({ Bucket: 'public-photos', Key: 'cat.jpg', Body: object, ContentType: 'image/jpeg' }));
    await s3.send(new PutObjectCommand({ Bucket: 'private', Key: 'secret', Body: 'secret' }));
  });
  afterAll(async () => {
    reader.destroy();
    writer.destroy();
    await t.close();
  });

  describe('signatures', () => {
    it('a wrong secret is SignatureDoesNotMatch (403) and stores nothing; an unknown key InvalidAccessKeyId (403)', async () => {
      const wrong = s3Client(t.url, { accessKeyId: ADMIN.accessKeyId, secretAccessKey: 'not-the-secret' });
      expect(await s3Failure(wrong.send(new PutObjectCommand({ Bucket: 'uploads', Key: 'forged', Body: 'x' })))).toMatchObject({
        code: 'SignatureDoesNotMatch', status: 403,
        message: 'The request signature we calculated does not match the signature you provided. Check your key and signing method.',
      });
      expect(await s3Failure(wrong.send(new GetObjectCommand({ Bucket: 'private', Key: 'secret' })))).toMatchObject({ code: 'SignatureDoesNotMatch', status: 403 });
      wrong.destroy();
      const unknown = s3Client(t.url, { accessKeyId: 'AKIDNOBODY', secretAccessKey: 'x' });
      expect(await s3Failure(unknown.send(new ListBucketsCommand({})))).toMatchObject({ code: 'InvalidAccessKeyId', status: 403 });
      unknown.destroy();
      expect(await s3Failure(s3.send(new HeadObjectCommand({ Bucket: 'uploads', Key: 'forged' })))).toMatchObject({ status: 404 });
    });

    it('an unsigned request to a gateway with keys is AccessDenied (403)', async () => {
      const res = await fetch(`${t.url}/private/secret`);
      expect(await xmlError(res)).toEqual({ status: 403, code: 'AccessDenied', message: 'Access Denied' });
      const put = await fetch(`${t.url}/private/new`, { method: 'PUT', body: 'x' });
      expect((await xmlError(put)).code).toBe('AccessDenied');
      expect(await s3Failure(s3.send(new HeadObjectCommand({ Bucket: 'private', Key: 'new' })))).toMatchObject({ status: 404 });
    });

    it('a request signed 20 minutes off the gateway\'s clock is RequestTimeTooSkewed (403)', async () => {
      const skewedAt = new Date(Date.now() - 20 * 60_000);
      const url = await getSignedUrl(s3, new GetObjectCommand({ Bucket: 'private', Key: 'secret' }), { expiresIn: 3600, signingDate: skewedAt });
      // A presigned URL is judged by its expiry, not by skew: it still works within its hour.
      expect((await fetch(url)).status).toBe(200);
      const signed = signV4('GET', `${t.url}/private/secret`, {}, 'UNSIGNED-PAYLOAD', { date: skewedAt });
      const res = await fetch(`${t.url}/private/secret`, { headers: signed.headers });
      expect(await xmlError(res)).toMatchObject({ status: 403, code: 'RequestTimeTooSkewed' });
    });
  });

  describe('presigned URLs', () => {
    it('GET through a presigned URL with plain fetch: byte-exact, with the object\'s headers and a response-content-type override', async () => {
      const url = await getSignedUrl(reader, new GetObjectCommand({ Bucket: 'public-photos', Key: 'cat.jpg' }), { expiresIn: 60 });
      const res = await fetch(url);
      expect(res.status).toBe(200);
      expect(res.headers.get('etag')).toBe(`"${md5(object)}"`);
      expect(res.headers.get('content-type')).toBe('image/jpeg');
      expect(Buffer.from(await res.arrayBuffer()).equals(object)).toBe(true);
      const ranged = await fetch(url, { headers: { range: 'bytes=100-199' } });
      expect(ranged.status).toBe(206);
      expect(Buffer.from(await ranged.arrayBuffer()).equals(object.subarray(100, 200))).toBe(true);
      const download = await getSignedUrl(reader, new GetObjectCommand({ Bucket: 'public-photos', Key: 'cat.jpg', ResponseContentType: 'application/x-download' }), { expiresIn: 60 });
      expect((await fetch(download)).headers.get('content-type')).toBe('application/x-download');
    });

    it('PUT through a presigned URL (UNSIGNED-PAYLOAD) stores the body; the signer\'s scopes apply', async () => {
      const data = bytes(123_457, 22);
      const url = await getSignedUrl(writer, new PutObjectCommand({ Bucket: 'uploads', Key: 'via-url.bin' }), { expiresIn: 60 });
      const res = await fetch(url, { method: 'PUT', body: fetchBody(data) });
      expect(res.status).toBe(200);
      expect(res.headers.get('etag')).toBe(`"${md5(data)}"`);
      const got = await s3.send(new GetObjectCommand({ Bucket: 'uploads', Key: 'via-url.bin' }));
      expect(Buffer.from(await got.Body!.transformToByteArray()).equals(data)).toBe(true);
      const elsewhere = await getSignedUrl(writer, new PutObjectCommand({ Bucket: 'private', Key: 'x' }), { expiresIn: 60 });
      expect((await xmlError(await fetch(elsewhere, { method: 'PUT', body: 'x' }))).code).toBe('AccessDenied');
    });

    it('an expired presigned URL is AccessDenied (403) "Request has expired"; a changed key or expiry is SignatureDoesNotMatch', async () => {
      const expired = await getSignedUrl(s3, new GetObjectCommand({ Bucket: 'private', Key: 'secret' }), { expiresIn: 60, signingDate: new Date(Date.now() - 61_000) });
      expect(await xmlError(await fetch(expired))).toEqual({ status: 403, code: 'AccessDenied', message: 'Request has expired' });
      const putExpired = await getSignedUrl(s3, new PutObjectCommand({ Bucket: 'private', Key: 'late' }), { expiresIn: 1, signingDate: new Date(Date.now() - 5_000) });
      expect((await xmlError(await fetch(putExpired, { method: 'PUT', body: 'late' }))).code).toBe('AccessDenied');
      expect(await s3Failure(s3.send(new HeadObjectCommand({ Bucket: 'private', Key: 'late' })))).toMatchObject({ status: 404 });
      const good = await getSignedUrl(s3, new GetObjectCommand({ Bucket: 'private', Key: 'secret' }), { expiresIn: 60 });
      expect(await xmlError(await fetch(good.replace('/private/secret', '/private/other')))).toMatchObject({ status: 403, code: 'SignatureDoesNotMatch' });
      expect(await xmlError(await fetch(good.replace('X-Amz-Expires=60', 'X-Amz-Expires=600')))).toMatchObject({ status: 403, code: 'SignatureDoesNotMatch' });
    });
  });

  describe('bucket scopes', () => {
    it('read on public-*: lists, gets and heads there; every write, and any other bucket, is AccessDenied', async () => {
      expect((await reader.send(new ListObjectsV2Command({ Bucket: 'public-photos' }))).Contents?.map((c) => c.Key)).toEqual(['cat.jpg']);
      expect((await reader.send(new HeadObjectCommand({ Bucket: 'public-photos', Key: 'cat.jpg' }))).ContentLength).toBe(object.length);
      const denied = { code: 'AccessDenied', status: 403, message: 'Access Denied' };
      expect(await s3Failure(reader.send(new PutObjectCommand({ Bucket: 'public-photos', Key: 'dog.jpg', Body: 'x' })))).toEqual(denied);
      expect(await s3Failure(reader.send(new DeleteObjectCommand({ Bucket: 'public-photos', Key: 'cat.jpg' })))).toEqual(denied);
      expect(await s3Failure(reader.send(new GetObjectCommand({ Bucket: 'private', Key: 'secret' })))).toEqual(denied);
      expect(await s3Failure(reader.send(new CreateBucketCommand({ Bucket: 'public-new' })))).toEqual(denied);
      expect((await s3.send(new HeadObjectCommand({ Bucket: 'public-photos', Key: 'cat.jpg' }))).ETag).toBe(`"${md5(object)}"`);
    });

    it('write on uploads: puts and deletes there, but may not read (write does not imply read) nor create or delete the bucket', async () => {
      await writer.send(new PutObjectCommand({ Bucket: 'uploads', Key: 'report.csv', Body: 'a,b\n1,2\n' }));
      const denied = { code: 'AccessDenied', status: 403, message: 'Access Denied' };
      expect(await s3Failure(writer.send(new GetObjectCommand({ Bucket: 'uploads', Key: 'report.csv' })))).toEqual(denied);
      expect(await s3Failure(writer.send(new ListObjectsV2Command({ Bucket: 'uploads' })))).toEqual(denied);
      expect(await s3Failure(writer.send(new DeleteBucketCommand({ Bucket: 'uploads' })))).toEqual(denied);
      expect(await s3Failure(writer.send(new CreateBucketCommand({ Bucket: 'uploads-2' })))).toEqual(denied);
      expect(await s3Failure(writer.send(new PutObjectCommand({ Bucket: 'private', Key: 'x', Body: 'x' })))).toEqual(denied);
      await writer.send(new DeleteObjectCommand({ Bucket: 'uploads', Key: 'report.csv' }));
      expect(await s3Failure(s3.send(new HeadObjectCommand({ Bucket: 'uploads', Key: 'report.csv' })))).toMatchObject({ status: 404 });
    });

    it('an API key (Bearer, as curl sends it) puts and gets within its bucket scopes; a wrong key or another bucket is AccessDenied', async () => {
      const bearer = { authorization: `Bearer ${curl.key}` };
      const put = await fetch(`${t.url}/public-photos/from-curl.txt`, { method: 'PUT', headers: { ...bearer, 'content-type': 'text/plain' }, body: 'hello' });
      expect([put.status, put.headers.get('etag')]).toEqual([200, `"${md5(Buffer.from('hello'))}"`]);
      const got = await fetch(`${t.url}/public-photos/from-curl.txt`, { headers: { 'x-api-key': curl.key } });
      expect([got.status, got.headers.get('content-type'), await got.text()]).toEqual([200, 'text/plain', 'hello']);
      expect(await xmlError(await fetch(`${t.url}/private/secret`, { headers: bearer }))).toMatchObject({ status: 403, code: 'AccessDenied' });
      expect(await xmlError(await fetch(`${t.url}/public-photos/from-curl.txt`, { headers: { authorization: `Bearer ${curl.key}x` } }))).toMatchObject({ status: 403, code: 'AccessDenied' });
    });

    it('ListBuckets lists only the buckets a key\'s scopes reach; admin (on *) creates and deletes buckets', async () => {
      expect((await reader.send(new ListBucketsCommand({}))).Buckets?.map((b) => b.Name)).toEqual(['public-photos']);
      expect((await writer.send(new ListBucketsCommand({}))).Buckets?.map((b) => b.Name)).toEqual(['uploads']);
      expect((await s3.send(new ListBucketsCommand({}))).Buckets?.map((b) => b.Name)).toEqual(['private', 'public-photos', 'uploads']);
      await s3.send(new CreateBucketCommand({ Bucket: 'scratch' }));
      await s3.send(new DeleteBucketCommand({ Bucket: 'scratch' }));
    });
  });
});

// The S3 API through the official @aws-sdk/client-s3 with its default settings (flexible checksums:
// CRC32 in a header for buffers, aws-chunked with a trailing checksum for streams): buckets,
// byte-exact round trips, metadata, ranges, conditions, copies, deletes, digests that do not match
// (nothing stored), and keys S3 allows.
import {
  CopyObjectCommand, CreateBucketCommand, DeleteBucketCommand, DeleteObjectCommand, DeleteObjectsCommand, GetBucketLocationCommand, GetObjectCommand,
  HeadBucketCommand, HeadObjectCommand, ListBucketsCommand, PutObjectCommand, type S3Client,
} from '@aws-sdk/client-s3';
import { createHash } from 'node:crypto';
import { readdirSync, readlinkSync } from 'node:fs';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENGINES } from '../support/engines.js';
import type { TestGateway } from '../support/gateway.js';
import { bytes, md5, s3Failure, startS3 } from '../support/s3.js';

const S3_ENGINES = ENGINES;

describe.each(S3_ENGINES)('S3 API on the $name engine', ({ factory }) => {
  let t: TestGateway;
  let s3: S3Client;
  const get = async (Bucket: string, Key: string, extra: object = {}) => {
    const r = await s3.send(new GetObjectCommand({ Bucket, Key, ...extra }));
    return { r, body: Buffer.from(await r.Body!.transformToByteArray()) };
  };

  beforeAll(async () => {
    const started = await startS3(factory);
    t = started;
    s3 = started.s3;
    await s3.send(new CreateBucketCommand({ Bucket: 'data' }));
  });
  afterAll(() => t.close());

  describe('buckets', () => {
    it('creates, heads, lists, locates and deletes a bucket; a second create is BucketAlreadyOwnedByYou', async () => {
      await s3.send(new CreateBucketCommand({ Bucket: 'photos.2026' }));
      expect((await s3.send(new HeadBucketCommand({ Bucket: 'photos.2026' }))).$metadata.httpStatusCode).toBe(200);
      const list = await s3.send(new ListBucketsCommand({}));
      expect(list.Buckets?.map((b) => b.Name)).toEqual(expect.arrayContaining(['data', 'photos.2026']));
      expect(list.Buckets?.find((b) => b.Name === 'photos.2026')?.CreationDate).toBeInstanceOf(Date);
      expect((await s3.send(new GetBucketLocationCommand({ Bucket: 'photos.2026' }))).LocationConstraint).toBeUndefined();
      expect(await s3Failure(s3.send(new CreateBucketCommand({ Bucket: 'photos.2026' })))).toMatchObject({ code: 'BucketAlreadyOwnedByYou', status: 409 });
      await s3.send(new DeleteBucketCommand({ Bucket: 'photos.2026' }));
      expect(await s3Failure(s3.send(new HeadBucketCommand({ Bucket: 'photos.2026' })))).toMatchObject({ code: 'NotFound', status: 404 });
      expect(await s3Failure(s3.send(new DeleteBucketCommand({ Bucket: 'photos.2026' })))).toMatchObject({ code: 'NoSuchBucket', status: 404 });
    });

    it('deletes a bucket only when it is empty (BucketNotEmpty)', async () => {
      await s3.send(new CreateBucketCommand({ Bucket: 'full' }));
      await s3.send(new PutObjectCommand({ Bucket: 'full', Key: 'x', Body: 'x' }));
      expect(await s3Failure(s3.send(new DeleteBucketCommand({ Bucket: 'full' })))).toMatchObject({ code: 'BucketNotEmpty', status: 409 });
      await s3.send(new DeleteObjectCommand({ Bucket: 'full', Key: 'x' }));
      await s3.send(new DeleteBucketCommand({ Bucket: 'full' }));
    });

    it('refuses invalid bucket names (InvalidBucketName) and answers NoSuchBucket for a missing one', async () => {
      for (const Bucket of ['ab', 'Upper', 'a_b', 'a..b', '-lead', 'trail-', '192.168.1.1', 'x'.repeat(64), 'xn--punycode', 'metrics']) {
        expect(await s3Failure(s3.send(new CreateBucketCommand({ Bucket }))), Bucket).toMatchObject({ code: 'InvalidBucketName', status: 400 });
      }
      expect(await s3Failure(s3.send(new PutObjectCommand({ Bucket: 'nowhere', Key: 'k', Body: 'x' })))).toMatchObject({ code: 'NoSuchBucket', status: 404 });
      expect(await s3Failure(s3.send(new GetObjectCommand({ Bucket: 'nowhere', Key: 'k' })))).toMatchObject({ code: 'NoSuchBucket', status: 404 });
    });
  });

  describe('objects', () => {
    it('round-trips 0 B, 1 B and 8 MiB + 1 byte-exact, as a buffer and as a stream (aws-chunked with a trailing CRC32)', async () => {
      for (const size of [0, 1, 8 * 1024 * 1024 + 1]) {
        const data = bytes(size, size + 7);
        const put = await s3.send(new PutObjectCommand({ Bucket: 'data', Key: `buf-${size}`, Body: data }));
        expect(put.ETag).toBe(`"${md5(data)}"`);
        const streamed = await s3.send(new PutObjectCommand({ Bucket: 'data', Key: `stream-${size}`, Body: Readable.from(size ? [data.subarray(0, size >> 1), data.subarray(size >> 1)] : []), ContentLength: size }));
        expect(streamed.ETag).toBe(`"${md5(data)}"`);
        for (const key of [`buf-${size}`, `stream-${size}`]) {
          const { r, body } = await get('data', key);
          expect(body.equals(data), key).toBe(true);
          expect(r.ContentLength).toBe(size);
          expect(r.ETag).toBe(`"${md5(data)}"`);
        }
      }
    });

    it('keeps Content-Type, x-amz-meta-*, Content-Encoding, Content-Disposition, Cache-Control and returns them on GET and HEAD', async () => {
      await s3.send(new PutObjectCommand({
        Bucket: 'data', Key: 'meta.json', Body: '{"a":1}', ContentType: 'application/json', Metadata: { owner: 'ads-team', 'run-id': '42' },
        ContentEncoding: 'identity', ContentDisposition: 'attachment; filename="m.json"', CacheControl: 'max-age=60', ContentLanguage: 'en',
      }));
      const head = await s3.send(new HeadObjectCommand({ Bucket: 'data', Key: 'meta.json' }));
      expect(head).toMatchObject({
        ContentType: 'application/json', Metadata: { owner: 'ads-team', 'run-id': '42' }, ContentEncoding: 'identity',
        ContentDisposition: 'attachment; filename="m.json"', CacheControl: 'max-age=60', ContentLanguage: 'en', ContentLength: 7,
      });
      const { r } = await get('data', 'meta.json');
      expect(r).toMatchObject({ ContentType: 'application/json', Metadata: { owner: 'ads-team', 'run-id': '42' }, CacheControl: 'max-age=60' });
      expect(r.LastModified).toBeInstanceOf(Date);
      // A stream upload's aws-chunked Content-Encoding is transport, not the object's.
      await s3.send(new PutObjectCommand({ Bucket: 'data', Key: 'plain', Body: Readable.from([Buffer.from('x')]), ContentLength: 1 }));
      expect((await s3.send(new HeadObjectCommand({ Bucket: 'data', Key: 'plain' }))).ContentEncoding).toBeUndefined();
      expect((await s3.send(new HeadObjectCommand({ Bucket: 'data', Key: 'plain' }))).ContentType).toBe('application/octet-stream');
    });

    it('answers GET and HEAD with the response-* overrides asked; a value HTTP cannot carry is InvalidArgument (400), and the object is not left open', async () => {
      await s3.send(new PutObjectCommand({ Bucket: 'data', Key: 'report.csv', Body: 'a,b\n', ContentType: 'text/csv' }));
      const asked = { ResponseContentType: 'application/x-download', ResponseContentDisposition: 'attachment; filename="r.csv"', ResponseCacheControl: 'no-store' };
      expect((await get('data', 'report.csv', asked)).r).toMatchObject({ ContentType: 'application/x-download', ContentDisposition: 'attachment; filename="r.csv"', CacheControl: 'no-store' });
      const fds = () => readdirSync('/proc/self/fd').filter((fd) => { try { return readlinkSync(`/proc/self/fd/${fd}`).includes('/objects/'); } catch { return false; } }).length; // files of objects open
      const bad = [{ ResponseContentType: '€' }, { ResponseContentDisposition: 'a\r\nx-injected: 1' }, { ResponseExpires: 'x\u0000' as unknown as Date }];
      expect(await s3Failure(get('data', 'report.csv', bad[0]))).toMatchObject({ code: 'InvalidArgument', status: 400, message: 'Header value cannot be represented using ISO-8859-1.' });
      const before = fds();
      for (let i = 0; i < 20; i++) {
        for (const extra of bad.slice(1)) expect(await s3Failure(get('data', 'report.csv', extra))).toMatchObject({ code: 'InvalidArgument', status: 400, message: 'Header value cannot hold control characters.' });
        expect(await s3Failure(s3.send(new HeadObjectCommand({ Bucket: 'data', Key: 'report.csv', ResponseContentType: '€' })))).toMatchObject({ status: 400 }); // a HEAD's error has no body to name it
      }
      expect(fds()).toBe(before);
      expect((await get('data', 'report.csv')).body.toString()).toBe('a,b\n');
    });

    it('returns the stored checksum when asked (x-amz-checksum-mode), and the SDK validates it', async () => {
      const data = bytes(100_000, 3);
      const put = await s3.send(new PutObjectCommand({ Bucket: 'data', Key: 'sums', Body: data, ChecksumAlgorithm: 'SHA256' }));
      expect(put.ChecksumSHA256).toBe(createHash('sha256').update(data).digest('base64'));
      const { r, body } = await get('data', 'sums', { ChecksumMode: 'ENABLED' });
      expect(r.ChecksumSHA256).toBe(put.ChecksumSHA256);
      expect(body.equals(data)).toBe(true);
    });

    it('serves ranges: first bytes, an open end, a suffix, an end past the size; a start past the end is InvalidRange (416)', async () => {
      const data = bytes(1000, 5);
      await s3.send(new PutObjectCommand({ Bucket: 'data', Key: 'ranged', Body: data }));
      for (const [range, from, to] of [['bytes=0-9', 0, 9], ['bytes=990-', 990, 999], ['bytes=-5', 995, 999], ['bytes=500-5000', 500, 999], ['bytes=-5000', 0, 999]] as const) {
        const { r, body } = await get('data', 'ranged', { Range: range });
        expect(body.equals(data.subarray(from, to + 1)), range).toBe(true);
        expect(r.ContentRange).toBe(`bytes ${from}-${to}/1000`);
        expect(r.$metadata.httpStatusCode).toBe(206);
      }
      expect(await s3Failure(get('data', 'ranged', { Range: 'bytes=1000-' }))).toMatchObject({ code: 'InvalidRange', status: 416 });
      const head = await s3.send(new HeadObjectCommand({ Bucket: 'data', Key: 'ranged', Range: 'bytes=10-19' }));
      expect(head).toMatchObject({ ContentLength: 10, ContentRange: 'bytes 10-19/1000' });
    });

    it('HeadObject answers a Range as GetObject does: bytes=-0, ends and starts past 2^53, a suffix past the size, a reversed range, an empty object', async () => {
      await s3.send(new PutObjectCommand({ Bucket: 'data', Key: 'ten', Body: bytes(10, 6) }));
      await s3.send(new PutObjectCommand({ Bucket: 'data', Key: 'none', Body: Buffer.alloc(0) }));
      const answer = async (p: Promise<{ $metadata: { httpStatusCode?: number }; ContentRange?: string; ContentLength?: number }>) => {
        try {
          const r = await p;
          return { status: r.$metadata.httpStatusCode, range: r.ContentRange, length: r.ContentLength };
        } catch (e) {
          return { status: (await s3Failure(Promise.reject(e))).status };
        }
      };
      const cases: [key: string, range: string, expected: { status: number; range?: string; length?: number }][] = [
        ['ten', 'bytes=-0', { status: 416 }],
        ['ten', 'bytes=0-99999999999999999999', { status: 206, range: 'bytes 0-9/10', length: 10 }],
        ['ten', 'bytes=3-9007199254740993', { status: 206, range: 'bytes 3-9/10', length: 7 }],
        ['ten', 'bytes=99999999999999999999-', { status: 416 }],
        ['ten', 'bytes=99999999999999999999-99999999999999999999', { status: 416 }],
        ['ten', 'bytes=-99999999999999999999', { status: 206, range: 'bytes 0-9/10', length: 10 }],
        ['ten', 'bytes=-4', { status: 206, range: 'bytes 6-9/10', length: 4 }],
        ['ten', 'bytes=9-', { status: 206, range: 'bytes 9-9/10', length: 1 }],
        ['ten', 'bytes=10-', { status: 416 }],
        ['ten', 'bytes=5-3', { status: 200, length: 10 }],
        ['none', 'bytes=-5', { status: 416 }],
        ['none', 'bytes=0-', { status: 416 }],
      ];
      for (const [Key, Range, expected] of cases) {
        const got = await answer(get('data', Key, { Range }).then((g) => g.r));
        const head = await answer(s3.send(new HeadObjectCommand({ Bucket: 'data', Key, Range })));
        expect(got, `GET ${Key} ${Range}`).toMatchObject(expected);
        expect(head, `HEAD ${Key} ${Range}`).toEqual(got);
      }
    });

    it('honours If-None-Match / If-Modified-Since (304) and If-Match / If-Unmodified-Since (412)', async () => {
      const put = await s3.send(new PutObjectCommand({ Bucket: 'data', Key: 'cond', Body: 'v1' }));
      const future = new Date(Date.now() + 3_600_000);
      const past = new Date(Date.now() - 3_600_000);
      expect(await s3Failure(get('data', 'cond', { IfNoneMatch: put.ETag }))).toMatchObject({ status: 304 });
      expect(await s3Failure(get('data', 'cond', { IfModifiedSince: future }))).toMatchObject({ status: 304 });
      expect(await s3Failure(get('data', 'cond', { IfMatch: '"0000"' }))).toMatchObject({ code: 'PreconditionFailed', status: 412 });
      expect(await s3Failure(get('data', 'cond', { IfUnmodifiedSince: past }))).toMatchObject({ code: 'PreconditionFailed', status: 412 });
      expect((await get('data', 'cond', { IfMatch: put.ETag, IfModifiedSince: past })).body.toString()).toBe('v1');
      // Conditional writes: If-None-Match: * only creates; If-Match only replaces that version.
      expect(await s3Failure(s3.send(new PutObjectCommand({ Bucket: 'data', Key: 'cond', Body: 'v2', IfNoneMatch: '*' })))).toMatchObject({ code: 'PreconditionFailed', status: 412 });
      expect(await s3Failure(s3.send(new PutObjectCommand({ Bucket: 'data', Key: 'cond', Body: 'v2', IfMatch: '"0000"' })))).toMatchObject({ code: 'PreconditionFailed', status: 412 });
      await s3.send(new PutObjectCommand({ Bucket: 'data', Key: 'cond', Body: 'v2', IfMatch: put.ETag }));
      expect((await get('data', 'cond')).body.toString()).toBe('v2');
    });

    it('deletes one object (204 even when absent) and many (DeleteObjects, quiet or not); a deleted key is NoSuchKey', async () => {
      for (const k of ['d1', 'd2', 'd3']) await s3.send(new PutObjectCommand({ Bucket: 'data', Key: k, Body: k }));
      expect((await s3.send(new DeleteObjectCommand({ Bucket: 'data', Key: 'd1' }))).$metadata.httpStatusCode).toBe(204);
      expect((await s3.send(new DeleteObjectCommand({ Bucket: 'data', Key: 'never-was' }))).$metadata.httpStatusCode).toBe(204);
      expect(await s3Failure(get('data', 'd1'))).toMatchObject({ code: 'NoSuchKey', status: 404 });
      expect(await s3Failure(s3.send(new HeadObjectCommand({ Bucket: 'data', Key: 'd1' })))).toMatchObject({ code: 'NotFound', status: 404 });
      const many = await s3.send(new DeleteObjectsCommand({ Bucket: 'data', Delete: { Objects: [{ Key: 'd2' }, { Key: 'absent' }, { Key: 'k'.repeat(1025) }] } }));
      expect(many.Deleted?.map((d) => d.Key)).toEqual(['d2', 'absent']);
      expect(many.Errors).toEqual([expect.objectContaining({ Key: 'k'.repeat(1025), Code: 'KeyTooLongError' })]);
      const quiet = await s3.send(new DeleteObjectsCommand({ Bucket: 'data', Delete: { Objects: [{ Key: 'd3' }], Quiet: true } }));
      expect(quiet.Deleted).toBeUndefined();
      expect(await s3Failure(get('data', 'd3'))).toMatchObject({ code: 'NoSuchKey' });
    });

    it('copies by reference with the source metadata (COPY) or new metadata (REPLACE); a copy onto itself unchanged is refused', async () => {
      const data = bytes(300_000, 9);
      await s3.send(new PutObjectCommand({ Bucket: 'data', Key: 'src/a b+c.bin', Body: data, ContentType: 'image/png', Metadata: { k: 'v' } }));
      await s3.send(new CreateBucketCommand({ Bucket: 'copies' }));
      const copy = await s3.send(new CopyObjectCommand({ Bucket: 'copies', Key: 'dst', CopySource: `data/${encodeURIComponent('src/a b+c.bin')}` }));
      expect(copy.CopyObjectResult?.ETag).toBe(`"${md5(data)}"`);
      const { r, body } = await get('copies', 'dst');
      expect(body.equals(data)).toBe(true);
      expect(r).toMatchObject({ ContentType: 'image/png', Metadata: { k: 'v' } });
      await s3.send(new CopyObjectCommand({ Bucket: 'copies', Key: 'dst', CopySource: 'copies/dst', MetadataDirective: 'REPLACE', ContentType: 'text/plain', Metadata: { n: '1' } }));
      expect(await s3.send(new HeadObjectCommand({ Bucket: 'copies', Key: 'dst' }))).toMatchObject({ ContentType: 'text/plain', Metadata: { n: '1' }, ContentLength: 300_000 });
      expect(await s3Failure(s3.send(new CopyObjectCommand({ Bucket: 'copies', Key: 'dst', CopySource: 'copies/dst' })))).toMatchObject({ code: 'InvalidRequest', status: 400 });
      expect(await s3Failure(s3.send(new CopyObjectCommand({ Bucket: 'copies', Key: 'x', CopySource: 'data/missing' })))).toMatchObject({ code: 'NoSuchKey', status: 404 });
      expect(await s3Failure(s3.send(new CopyObjectCommand({ Bucket: 'copies', Key: 'x', CopySource: 'data/src/a b+c.bin'.replace(/ /g, '%20').replace('+', '%2B'), CopySourceIfMatch: '"nope"' })))).toMatchObject({ code: 'PreconditionFailed', status: 412 });
      // The source deleted: the copy keeps its bytes.
      await s3.send(new DeleteObjectCommand({ Bucket: 'data', Key: 'src/a b+c.bin' }));
      expect((await get('copies', 'dst')).body.equals(data)).toBe(true);
    });
  });

  describe('digests: a mismatch stores nothing', () => {
    it('a wrong Content-MD5 is BadDigest, a malformed one InvalidDigest; the key keeps its old bytes', async () => {
      await s3.send(new PutObjectCommand({ Bucket: 'data', Key: 'digest', Body: 'old' }));
      const wrong = Buffer.from(md5(Buffer.from('other')), 'hex').toString('base64');
      expect(await s3Failure(s3.send(new PutObjectCommand({ Bucket: 'data', Key: 'digest', Body: 'new', ContentMD5: wrong })))).toMatchObject({ code: 'BadDigest', status: 400 });
      expect(await s3Failure(s3.send(new PutObjectCommand({ Bucket: 'data', Key: 'digest', Body: 'new', ContentMD5: 'not-base64!' })))).toMatchObject({ code: 'InvalidDigest', status: 400 });
      const right = Buffer.from(md5(Buffer.from('new')), 'hex').toString('base64');
      expect(await s3Failure(s3.send(new PutObjectCommand({ Bucket: 'data', Key: 'digest-new', Body: 'newer', ContentMD5: right })))).toMatchObject({ code: 'BadDigest' });
      expect(await s3Failure(s3.send(new HeadObjectCommand({ Bucket: 'data', Key: 'digest-new' })))).toMatchObject({ status: 404 });
      expect((await get('data', 'digest')).body.toString()).toBe('old');
      await s3.send(new PutObjectCommand({ Bucket: 'data', Key: 'digest', Body: 'new', ContentMD5: right }));
      expect((await get('data', 'digest')).body.toString()).toBe('new');
    });

    it('a wrong x-amz-checksum-crc32 / -sha256 is BadDigest, nothing stored', async () => {
      expect(await s3Failure(s3.send(new PutObjectCommand({ Bucket: 'data', Key: 'crc', Body: 'abc', ChecksumCRC32: 'AAAAAA==' })))).toMatchObject({ code: 'BadDigest', status: 400, message: expect.stringContaining('CRC32') });
      expect(await s3Failure(s3.send(new PutObjectCommand({ Bucket: 'data', Key: 'crc', Body: 'abc', ChecksumSHA256: Buffer.alloc(32).toString('base64') })))).toMatchObject({ code: 'BadDigest' });
      expect(await s3Failure(s3.send(new HeadObjectCommand({ Bucket: 'data', Key: 'crc' })))).toMatchObject({ status: 404 });
      const ok = await s3.send(new PutObjectCommand({ Bucket: 'data', Key: 'crc', Body: 'abc', ChecksumCRC32: 'NSRBwg==' }));
      expect(ok.ChecksumCRC32).toBe('NSRBwg==');
    });

    it('a body that is not the signed x-amz-content-sha256 is XAmzContentSHA256Mismatch, nothing stored', async () => {
      const client = (await import('../support/s3.js')).s3Client(t.url);
      client.middlewareStack.add((next) => async (args) => {
        const req = args.request as { body: unknown };
        req.body = Buffer.from('HELLO'); // same length, after signing
        return next(args);
      }, { step: 'finalizeRequest', priority: 'low' });
      expect(await s3Failure(client.send(new PutObjectCommand({ Bucket: 'data', Key: 'tampered', Body: Buffer.from('hello'), ChecksumAlgorithm: undefined })))).toMatchObject({ code: 'XAmzContentSHA256Mismatch', status: 400 });
      client.destroy();
      expect(await s3Failure(s3.send(new HeadObjectCommand({ Bucket: 'data', Key: 'tampered' })))).toMatchObject({ status: 404 });
    });
  });

  describe('keys', () => {
    // The longest key: S3's 1,024 bytes in any bucket (the engine's names <bucket>/<key> may be 63 + 1 + 1,024 bytes).
    const longest = 1024;
    const keys = ['..', 'a/../b', './x', 'a%2Fb', 'with space/and+plus', 'ünïcødé/日本語/🎉.txt', '/leading', 'trailing/', 'a//b', 'q?x=1#frag', 'k'.repeat(longest), `${'é'.repeat((longest - 1) / 2)}k`];

    it('stores and lists keys with .., %2F, unicode, odd characters and the longest the bucket allows exactly as given', async () => {
      await s3.send(new CreateBucketCommand({ Bucket: 'keys' }));
      for (const [i, Key] of keys.entries()) await s3.send(new PutObjectCommand({ Bucket: 'keys', Key, Body: `value ${i}` }));
      for (const [i, Key] of keys.entries()) expect((await get('keys', Key)).body.toString(), Key).toBe(`value ${i}`);
      const { ListObjectsV2Command } = await import('@aws-sdk/client-s3');
      const listed = await s3.send(new ListObjectsV2Command({ Bucket: 'keys' }));
      const sorted = [...keys].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
      expect(listed.Contents?.map((c) => c.Key)).toEqual(sorted);
    });

    it('refuses a key of 1,025 bytes (KeyTooLongError naming the limit), storing nothing; one of 1,024 is stored', async () => {
      expect(await s3Failure(s3.send(new PutObjectCommand({ Bucket: 'data', Key: 'k'.repeat(1025), Body: 'x' })))).toMatchObject({
        code: 'KeyTooLongError', status: 400, message: 'Your key is too long: 1025 bytes of UTF-8, at most 1024 in this bucket',
      });
      expect(await s3Failure(s3.send(new PutObjectCommand({ Bucket: 'data', Key: `${'é'.repeat(512)}x`, Body: 'x' })))).toMatchObject({ code: 'KeyTooLongError' });
      expect(await s3Failure(s3.send(new PutObjectCommand({ Bucket: 'keys', Key: 'k'.repeat(longest + 1), Body: 'x' })))).toMatchObject({ code: 'KeyTooLongError', status: 400 });
      const { ListObjectsV2Command } = await import('@aws-sdk/client-s3');
      const listed = await s3.send(new ListObjectsV2Command({ Bucket: 'keys', Prefix: 'kk' }));
      expect(listed.Contents?.map((c) => c.Key)).toEqual(['k'.repeat(longest)]);
    });
  });
});

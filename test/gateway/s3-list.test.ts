// Listings through @aws-sdk/client-s3: ListObjectsV2 (prefix, delimiter → CommonPrefixes,
// continuation tokens, start-after, max-keys, KeyCount, IsTruncated, encoding-type=url) and
// ListObjects V1 (marker, NextMarker), page by page against the whole listing.
import { CreateBucketCommand, ListObjectsCommand, ListObjectsV2Command, PutObjectCommand, paginateListObjectsV2, type S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENGINES } from '../support/engines.js';
import type { TestGateway } from '../support/gateway.js';
import { s3Failure, startS3 } from '../support/s3.js';

const S3_ENGINES = ENGINES;

// An archive as the video platform keeps it: <year>/<month>/<day>-<n>.json, plus loose files.
const KEYS = [
  ...['2025/11', '2025/12', '2026/01', '2026/02'].flatMap((m) => [1, 2, 3].map((d) => `${m}/0${d}-events.json`)),
  'README.txt', 'a', 'a/b', 'a/b/c', 'ab', 'z-last',
];
const sorted = [...KEYS].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));

describe.each(S3_ENGINES)('S3 listings on the $name engine', ({ factory }) => {
  let t: TestGateway;
  let s3: S3Client;

  beforeAll(async () => {
    const started = await startS3(factory);
    t = started;
    s3 = started.s3;
    await s3.send(new CreateBucketCommand({ Bucket: 'archive' }));
    for (const Key of KEYS) await s3.send(new PutObjectCommand({ Bucket: 'archive', Key, Body: Key }));
    await s3.send(new CreateBucketCommand({ Bucket: 'other' }));
    await s3.send(new PutObjectCommand({ Bucket: 'other', Key: '2025/x', Body: 'x' }));
  });
  afterAll(() => t.close());

  it('lists every key of the bucket (and only of it), in byte order, with size, ETag and time', async () => {
    const r = await s3.send(new ListObjectsV2Command({ Bucket: 'archive' }));
    expect(r.Contents?.map((c) => c.Key)).toEqual(sorted);
    expect(r).toMatchObject({ KeyCount: KEYS.length, IsTruncated: false, MaxKeys: 1000, Name: 'archive' });
    expect(r.Contents?.[0]).toMatchObject({ Size: Buffer.byteLength(sorted[0]!), StorageClass: 'STANDARD', ETag: expect.stringMatching(/^"[0-9a-f]{32}"$/) });
    expect(r.Contents?.[0]?.LastModified).toBeInstanceOf(Date);
  });

  it('rolls keys up by delimiter into CommonPrefixes, under a prefix too', async () => {
    const top = await s3.send(new ListObjectsV2Command({ Bucket: 'archive', Delimiter: '/' }));
    expect(top.CommonPrefixes?.map((p) => p.Prefix)).toEqual(['2025/', '2026/', 'a/']);
    expect(top.Contents?.map((c) => c.Key)).toEqual(['README.txt', 'a', 'ab', 'z-last']);
    expect(top.KeyCount).toBe(7);
    const year = await s3.send(new ListObjectsV2Command({ Bucket: 'archive', Prefix: '2025/', Delimiter: '/' }));
    expect(year.CommonPrefixes?.map((p) => p.Prefix)).toEqual(['2025/11/', '2025/12/']);
    expect(year.Contents).toBeUndefined();
    const month = await s3.send(new ListObjectsV2Command({ Bucket: 'archive', Prefix: '2026/01/' }));
    expect(month.Contents?.map((c) => c.Key)).toEqual(['2026/01/01-events.json', '2026/01/02-events.json', '2026/01/03-events.json']);
    const other = await s3.send(new ListObjectsV2Command({ Bucket: 'archive', Delimiter: '-' }));
    expect(other.CommonPrefixes?.map((p) => p.Prefix)).toContain('z-');
  });

  it('pages with continuation tokens: every page at most MaxKeys, KeyCount and IsTruncated right, together the whole listing', async () => {
    for (const [max, delimiter] of [[1, undefined], [2, '/'], [5, undefined], [3, '/']] as const) {
      const full = await s3.send(new ListObjectsV2Command({ Bucket: 'archive', Delimiter: delimiter }));
      const expected = [...(full.Contents ?? []).map((c) => c.Key!), ...(full.CommonPrefixes ?? []).map((p) => p.Prefix!)].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
      const seen: string[] = [];
      let token: string | undefined;
      let pages = 0;
      do {
        const page = await s3.send(new ListObjectsV2Command({ Bucket: 'archive', MaxKeys: max, Delimiter: delimiter, ContinuationToken: token }));
        const entries = [...(page.Contents ?? []).map((c) => c.Key!), ...(page.CommonPrefixes ?? []).map((p) => p.Prefix!)];
        expect(page.KeyCount).toBe(entries.length);
        expect(entries.length).toBeLessThanOrEqual(max);
        expect(page.IsTruncated).toBe(page.NextContinuationToken !== undefined);
        expect(page.ContinuationToken).toBe(token);
        seen.push(...entries);
        token = page.NextContinuationToken;
        pages++;
      } while (token);
      expect(seen.sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b))), `max ${max} delimiter ${delimiter}`).toEqual(expected);
      expect(pages).toBe(Math.ceil(expected.length / max));
    }
    const keys: string[] = [];
    for await (const page of paginateListObjectsV2({ client: s3, pageSize: 4 }, { Bucket: 'archive' })) keys.push(...(page.Contents ?? []).map((c) => c.Key!));
    expect(keys).toEqual(sorted);
  });

  it('starts after a key (StartAfter), past a whole common prefix when the key is inside one', async () => {
    const after = await s3.send(new ListObjectsV2Command({ Bucket: 'archive', StartAfter: 'a/b' }));
    expect(after.Contents?.map((c) => c.Key)).toEqual(sorted.slice(sorted.indexOf('a/b') + 1));
    expect(after.StartAfter).toBe('a/b');
    const rolled = await s3.send(new ListObjectsV2Command({ Bucket: 'archive', Delimiter: '/', StartAfter: '2025/11/02-events.json' }));
    expect(rolled.CommonPrefixes?.map((p) => p.Prefix)).toEqual(['2026/', 'a/']);
  });

  it('MaxKeys 0 lists nothing; more than 1,000 is 1,000; a bad token is InvalidArgument', async () => {
    expect(await s3.send(new ListObjectsV2Command({ Bucket: 'archive', MaxKeys: 0 }))).toMatchObject({ KeyCount: 0, IsTruncated: false });
    expect((await s3.send(new ListObjectsV2Command({ Bucket: 'archive', MaxKeys: 5000 }))).MaxKeys).toBe(1000);
    expect(await s3Failure(s3.send(new ListObjectsV2Command({ Bucket: 'archive', ContinuationToken: 'garbage' })))).toMatchObject({ code: 'InvalidArgument', status: 400 });
    const page = await s3.send(new ListObjectsV2Command({ Bucket: 'archive', MaxKeys: 1 }));
    expect(await s3Failure(s3.send(new ListObjectsV2Command({ Bucket: 'other', ContinuationToken: page.NextContinuationToken })))).toMatchObject({ code: 'InvalidArgument' });
  });

  it('encoding-type=url encodes keys and prefixes (S3 form: / kept, the rest percent-encoded)', async () => {
    await s3.send(new CreateBucketCommand({ Bucket: 'odd' }));
    for (const Key of ['a b/c', 'x+y', 'ü/1', 'tab\there']) await s3.send(new PutObjectCommand({ Bucket: 'odd', Key, Body: 'x' }));
    // The SDK leaves the values as they came: encoded.
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: 'odd', EncodingType: 'url', Delimiter: '/' }));
    expect(listed.EncodingType).toBe('url');
    expect(listed.Contents?.map((c) => c.Key)).toEqual(['tab%09here', 'x%2By']);
    expect(listed.CommonPrefixes?.map((p) => p.Prefix)).toEqual(['a%20b/', '%C3%BC/']);
  });

  it('ListObjects (V1): Marker starts after a key, NextMarker is the last key or common prefix of a truncated page', async () => {
    const first = await s3.send(new ListObjectsCommand({ Bucket: 'archive', MaxKeys: 3, Delimiter: '/' }));
    expect([...(first.CommonPrefixes ?? []).map((p) => p.Prefix)]).toEqual(['2025/', '2026/']);
    expect(first.Contents?.map((c) => c.Key)).toEqual(['README.txt']);
    expect(first).toMatchObject({ IsTruncated: true, NextMarker: 'README.txt' });
    const second = await s3.send(new ListObjectsCommand({ Bucket: 'archive', MaxKeys: 3, Delimiter: '/', Marker: first.NextMarker }));
    expect(second.Contents?.map((c) => c.Key)).toEqual(['a', 'ab']);
    expect(second.CommonPrefixes?.map((p) => p.Prefix)).toEqual(['a/']);
    expect(second.NextMarker).toBe('ab');
    const third = await s3.send(new ListObjectsCommand({ Bucket: 'archive', MaxKeys: 3, Delimiter: '/', Marker: 'a/' }));
    expect(third.Contents?.map((c) => c.Key)).toEqual(['ab', 'z-last']);
    expect(third.IsTruncated).toBe(false);
    const all = await s3.send(new ListObjectsCommand({ Bucket: 'archive' }));
    expect(all.Contents?.map((c) => c.Key)).toEqual(sorted);
    expect(all.Contents?.[0]?.Owner?.ID).toBe('sluice');
  });
});

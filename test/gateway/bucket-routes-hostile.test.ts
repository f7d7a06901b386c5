// Hostile input to the native bucket routes: a bucket name S3 would refuse is 400 InvalidBucketName
// (it was a 500), even for a key whose scope pattern matches it; tokens, prefixes and delimiters
// never reach another bucket's keys.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey } from '../../src/gateway/auth/api-keys.js';
import { get, startGateway, type TestGateway } from '../support/gateway.js';

const admin = createApiKey('admin');
const reader = createApiKey('reader');
let t: TestGateway;
const as = (key: { key: string }) => ({ authorization: `Bearer ${key.key}` });
const token = (bucket: string, cursor: string) => Buffer.from(JSON.stringify([bucket, cursor])).toString('base64url');

beforeAll(async () => {
  t = await startGateway({
    principals: [
      { id: 'admin', apiKeyHash: admin.hash, scopes: { '*': ['admin'] } },
      { id: 'reader', apiKeyHash: reader.hash, scopes: { 'bucket:public-*': ['read'] } },
    ],
  });
  for (const b of ['public-data', 'private']) await t.gw.objects.createBucket(b);
  await t.gw.objects.put('public-data', 'open', new TextEncoder().encode('o'));
  await t.gw.objects.put('private', 'secret', new TextEncoder().encode('s'));
});
afterAll(() => t?.close());

describe('GET /v1/buckets/{bucket}/objects with hostile input', () => {
  it.each([
    ['an upper-case name, for an admin', 'Bad_Name', admin],
    ['an upper-case name the reader\'s pattern matches', 'public-Bad_Name', reader],
    ['a name past 63 characters', `public-${'a'.repeat(80)}`, reader],
    ['URL-encoded slashes climbing to another bucket', 'public-data%2F..%2Fprivate', reader],
    ['a NUL', 'public-data%00', reader],
  ])('%s is 400 InvalidBucketName', async (_what, bucket, key) => {
    const r = await get(`${t.url}/v1/buckets/${bucket}/objects`, as(key));
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe('InvalidBucketName');
  });

  it('a bucket outside the key\'s pattern is 403 whatever its name', async () => {
    expect((await get(`${t.url}/v1/buckets/private/objects`, as(reader))).status).toBe(403);
    expect((await get(`${t.url}/v1/buckets/Private_X/objects`, as(reader))).status).toBe(403);
  });

  it.each([
    ['a prefix climbing out', `prefix=${encodeURIComponent('../private/')}`],
    ['a lone surrogate prefix', 'prefix=%ED%A0%80'],
    ['a NUL delimiter', 'delimiter=%00'],
    ['a 5,000-byte prefix', `prefix=${'x'.repeat(5000)}`],
    ['a token of this bucket whose cursor is another bucket\'s name', `token=${token('public-data', `n${Buffer.from('private/secret').toString('base64url')}`)}`],
    ['a token of this bucket whose cursor sorts before it', `token=${token('public-data', `n${Buffer.from('a').toString('base64url')}`)}`],
  ])('%s lists this bucket only', async (_what, q) => {
    const r = await get(`${t.url}/v1/buckets/public-data/objects?${q}`, as(reader));
    expect(r.status).toBe(200);
    expect(r.body.objects.every((o: { key: string }) => o.key === 'open')).toBe(true);
  });

  it.each([
    ['not base64 JSON', 'token=AAAA'],
    ['another bucket\'s', `token=${token('private', `n${Buffer.from('private/a').toString('base64url')}`)}`],
    ['a cursor that is not one', `token=${token('public-data', 'x')}`],
  ])('a token %s is 400', async (_what, q) => {
    const r = await get(`${t.url}/v1/buckets/public-data/objects?${q}`, as(reader));
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe('InvalidArgument');
  });
});

// The native API's read-only buckets (GET /v1/buckets, GET /v1/buckets/{bucket}/objects), with a
// bearer key: only the buckets the key may read, folders by delimiter, every key exactly once over
// pages, and exact refusals for a bucket the key may not read, one that does not exist, and a bad
// limit or token.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey } from '../../src/gateway/auth/api-keys.js';
import { get, startGateway, type TestGateway } from '../support/gateway.js';

const admin = createApiKey('admin');
const reader = createApiKey('reader');
let t: TestGateway;
const KEYS = ['logs/2026/01/a.gz', 'logs/2026/01/b.gz', 'logs/2026/02/c.gz', 'logs/readme', 'z top', 'é-unicode'];

const as = (key: { key: string }) => ({ authorization: `Bearer ${key.key}` });

beforeAll(async () => {
  t = await startGateway({
    principals: [
      { id: 'admin', apiKeyHash: admin.hash, scopes: { '*': ['admin'] } },
      { id: 'reader', apiKeyHash: reader.hash, scopes: { 'bucket:public-*': ['read'] } },
    ],
  });
  for (const b of ['public-data', 'private']) await t.gw.objects.createBucket(b);
  for (const key of KEYS) await t.gw.objects.put('public-data', key, new TextEncoder().encode(key), { metadata: { 'content-type': 'application/gzip' } });
});

afterAll(() => t?.close());

describe('GET /v1/buckets', () => {
  it('lists the buckets the key may read, with their creation time', async () => {
    const all = await get(`${t.url}/v1/buckets`, as(admin));
    expect(all.status).toBe(200);
    expect(all.body.buckets.map((b: { name: string }) => b.name)).toEqual(['private', 'public-data']);
    expect(all.body.buckets.every((b: { created: number }) => Number.isInteger(b.created) && b.created > 0)).toBe(true);
    expect((await get(`${t.url}/v1/buckets`, as(reader))).body.buckets.map((b: { name: string }) => b.name)).toEqual(['public-data']);
    expect((await get(`${t.url}/v1/buckets`)).status).toBe(401);
  });
});

describe('GET /v1/buckets/{bucket}/objects', () => {
  it('rolls keys up into folders by the delimiter, with size, ETag, time and content type', async () => {
    const top = await get(`${t.url}/v1/buckets/public-data/objects?delimiter=/`, as(reader));
    expect(top.status).toBe(200);
    expect(top.body.prefixes).toEqual(['logs/']);
    expect(top.body.objects.map((o: { key: string }) => o.key)).toEqual(['z top', 'é-unicode']);
    const o = top.body.objects[0];
    expect(o).toEqual({ key: 'z top', size: 5, etag: expect.stringMatching(/^[0-9a-f]{32}$/), modified: expect.any(Number), contentType: 'application/gzip' });
    expect(top.body.truncated).toBe(false);
    expect(top.body.nextToken).toBeUndefined();
    const logs = await get(`${t.url}/v1/buckets/public-data/objects?delimiter=/&prefix=${encodeURIComponent('logs/')}`, as(reader));
    expect(logs.body.prefixes).toEqual(['logs/2026/']);
    expect(logs.body.objects.map((x: { key: string }) => x.key)).toEqual(['logs/readme']);
  });

  it('pages with the token: every key once, in order, the last page untruncated', async () => {
    const seen: string[] = [];
    let token: string | undefined;
    let pages = 0;
    do {
      const r = await get(`${t.url}/v1/buckets/public-data/objects?limit=4${token ? `&token=${encodeURIComponent(token)}` : ''}`, as(reader));
      expect(r.status).toBe(200);
      seen.push(...r.body.objects.map((x: { key: string }) => x.key));
      expect(r.body.truncated).toBe(r.body.nextToken !== undefined);
      token = r.body.nextToken;
      pages++;
    } while (token);
    expect(seen).toEqual([...KEYS].sort());
    expect(pages).toBe(2);
  });

  it('refuses a bucket the key may not read (403), one that does not exist (404), a bad limit and a foreign token (400)', async () => {
    const forbidden = await get(`${t.url}/v1/buckets/private/objects`, as(reader));
    expect(forbidden.status).toBe(403);
    expect(forbidden.body.error).toEqual({ code: 'Forbidden', message: "key 'reader' may not read bucket 'private'", stream: 'bucket:private', action: 'read' });
    const missing = await get(`${t.url}/v1/buckets/public-nope/objects`, as(reader));
    expect(missing.status).toBe(404);
    expect(missing.body.error).toEqual({ code: 'NoSuchBucket', message: "bucket 'public-nope' does not exist", bucket: 'public-nope' });
    for (const limit of ['0', '1001', 'x', '-1', '1e3']) {
      const r = await get(`${t.url}/v1/buckets/public-data/objects?limit=${limit}`, as(reader));
      expect(r.status).toBe(400);
      expect(r.body.error.message).toBe(`limit must be a whole number from 1 to 1000, got '${limit}'`);
    }
    const foreign = (await get(`${t.url}/v1/buckets/private/objects?limit=1`, as(admin))).body.nextToken;
    await t.gw.objects.put('private', 'k1', new Uint8Array(1));
    await t.gw.objects.put('private', 'k2', new Uint8Array(1));
    const privToken = (await get(`${t.url}/v1/buckets/private/objects?limit=1`, as(admin))).body.nextToken;
    expect(foreign).toBeUndefined();
    const wrong = await get(`${t.url}/v1/buckets/public-data/objects?token=${encodeURIComponent(privToken)}`, as(reader));
    expect(wrong.status).toBe(400);
    expect(wrong.body.error.message).toBe('The continuation token provided is incorrect');
  });
});

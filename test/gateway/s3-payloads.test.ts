// Every payload form an S3 client sends, by hand where no SDK sends it by default: UNSIGNED-PAYLOAD,
// a signed hex SHA-256, aws-chunked with chunk signatures (with and without signed trailers) and
// unsigned with a trailer; each verified, and each failure storing nothing: a tampered chunk, a
// wrong trailing checksum, a body cut off or stalled mid-upload, a body past the size limit; and a
// download the client abandons.
import { CreateBucketCommand, DeleteObjectCommand, GetObjectCommand, HeadObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { readdirSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SqliteEngine } from '../../src/engine/sqlite/index.js';
import { Objects } from '../../src/objects/index.js';
import { natsFactory } from '../support/engines.js';
import type { EngineFactory, TestGateway } from '../support/gateway.js';
import {
  awsChunked, bytes, fetchBody, crc32Base64, EMPTY_SHA256, head, md5, raw, s3Failure, signV4, startS3, STREAMING_SIGNED, STREAMING_SIGNED_TRAILER, STREAMING_UNSIGNED_TRAILER,
} from '../support/s3.js';
import { tempDir } from '../support/tmp.js';

const dataDir = tempDir();
const sqliteAt: EngineFactory = async (clock) => new SqliteEngine({ dataDir, clock, retentionIntervalMs: 0 });
/** sqlite: the staging directory, which must be empty once a failed upload is over. */
const ENGINES: { name: string; factory: EngineFactory; staging?: string }[] = [
  { name: 'sqlite', factory: sqliteAt, staging: join(dataDir, 'objects', 'staging') },
  { name: 'nats', factory: natsFactory },
];

const BODY_TIMEOUT_MS = 600;

/** Polls until `f` holds (50 ms steps), failing after `ms`. */
async function eventually(f: () => boolean, ms = 5_000): Promise<void> {
  const end = Date.now() + ms;
  while (!f()) {
    if (Date.now() > end) throw new Error('condition not reached');
    await new Promise((r) => setTimeout(r, 50));
  }
}

const code = (body: string) => /<Code>([^<]*)<\/Code>/.exec(body)?.[1];

describe.each(ENGINES)('S3 payload forms on the $name engine', ({ factory, staging }) => {
  let t: TestGateway;
  let s3: S3Client;
  const url = (key: string) => `${t.url}/forms/${key}`;
  const absent = async (key: string) => expect(await s3Failure(s3.send(new HeadObjectCommand({ Bucket: 'forms', Key: key })))).toMatchObject({ code: 'NotFound', status: 404 });
  const read = async (key: string) => Buffer.from(await (await s3.send(new GetObjectCommand({ Bucket: 'forms', Key: key }))).Body!.transformToByteArray());
  const noStaging = () => eventually(() => !staging || readdirSync(staging).length === 0);

  beforeAll(async () => {
    const started = await startS3(factory, { bodyTimeoutMs: BODY_TIMEOUT_MS });
    t = started;
    s3 = started.s3;
    await s3.send(new CreateBucketCommand({ Bucket: 'forms' }));
  });
  afterAll(() => t.close());

  it('UNSIGNED-PAYLOAD and a signed hex SHA-256: stored byte-exact; a body that is not the signed hash is XAmzContentSHA256Mismatch', async () => {
    const data = bytes(200_000, 31);
    const unsigned = signV4('PUT', url('unsigned'), {}, 'UNSIGNED-PAYLOAD');
    const a = await fetch(url('unsigned'), { method: 'PUT', headers: unsigned.headers, body: fetchBody(data) });
    expect([a.status, a.headers.get('etag')]).toEqual([200, `"${md5(data)}"`]);
    expect((await read('unsigned')).equals(data)).toBe(true);
    const hash = (await import('node:crypto')).createHash('sha256').update(data).digest('hex');
    const signed = signV4('PUT', url('signed'), {}, hash);
    expect((await fetch(url('signed'), { method: 'PUT', headers: signed.headers, body: fetchBody(data) })).status).toBe(200);
    expect((await read('signed')).equals(data)).toBe(true);
    const other = signV4('PUT', url('mismatch'), {}, EMPTY_SHA256);
    const bad = await fetch(url('mismatch'), { method: 'PUT', headers: other.headers, body: fetchBody(data) });
    expect([bad.status, code(await bad.text())]).toEqual([400, 'XAmzContentSHA256Mismatch']);
    await absent('mismatch');
    await noStaging();
  });

  it('aws-chunked with chunk signatures (STREAMING-AWS4-HMAC-SHA256-PAYLOAD), with and without signed trailers: stored byte-exact', async () => {
    const data = bytes(300_001, 32);
    for (const form of [STREAMING_SIGNED, STREAMING_SIGNED_TRAILER, STREAMING_UNSIGNED_TRAILER]) {
      const req = awsChunked(url(form), data, { form, chunkBytes: 65_536 });
      const res = await fetch(url(form), { method: 'PUT', headers: req.headers, body: fetchBody(req.body) });
      expect(res.status, form).toBe(200);
      expect(res.headers.get('etag')).toBe(`"${md5(data)}"`);
      if (form !== STREAMING_SIGNED) expect(res.headers.get('x-amz-checksum-crc32')).toBe(crc32Base64(data));
      expect((await read(form)).equals(data), form).toBe(true);
      expect((await s3.send(new HeadObjectCommand({ Bucket: 'forms', Key: form }))).ContentEncoding).toBeUndefined();
    }
  });

  it('chunks holding more than x-amz-decoded-content-length are refused at the chunk that overflows; nothing stored', async () => {
    const data = bytes(300_000, 36);
    for (const form of [STREAMING_SIGNED, STREAMING_UNSIGNED_TRAILER]) {
      const req = awsChunked(url('longer'), data, { form, declaredLength: 1_000 });
      const res = await fetch(url('longer'), { method: 'PUT', headers: req.headers, body: fetchBody(req.body) });
      const text = await res.text();
      expect([res.status, code(text)], form).toEqual([400, 'IncompleteBody']);
      expect(text).toContain('the chunks hold more bytes than x-amz-decoded-content-length (1000)');
    }
    await absent('longer');
    await noStaging();
  });

  it('a chunk changed after signing is SignatureDoesNotMatch (403), a wrong trailer signature too; nothing stored', async () => {
    const data = bytes(200_000, 33);
    const flip = (i: number, c: Buffer) => (i === 2 ? Buffer.from(c.map((b, j) => (j === 10 ? b ^ 1 : b))) : c);
    for (const form of [STREAMING_SIGNED, STREAMING_SIGNED_TRAILER]) {
      const req = awsChunked(url('tampered'), data, { form, tamper: flip });
      const res = await fetch(url('tampered'), { method: 'PUT', headers: req.headers, body: fetchBody(req.body) });
      expect([res.status, code(await res.text())], form).toEqual([403, 'SignatureDoesNotMatch']);
    }
    // The right chunks, and a trailer that is not the one signed.
    const req = awsChunked(url('tampered'), data, { form: STREAMING_SIGNED_TRAILER });
    const body = Buffer.from(req.body.toString('latin1').replace(`x-amz-checksum-crc32:${crc32Base64(data)}`, `x-amz-checksum-crc32:${crc32Base64(Buffer.from('x'))}`), 'latin1');
    const res = await fetch(url('tampered'), { method: 'PUT', headers: req.headers, body: fetchBody(body) });
    expect([res.status, code(await res.text())]).toEqual([403, 'SignatureDoesNotMatch']);
    await absent('tampered');
    await noStaging();
  });

  it('a wrong trailing x-amz-checksum-crc32 is BadDigest (400) and stores nothing; the key keeps its old bytes', async () => {
    await s3.send(new PutObjectCommand({ Bucket: 'forms', Key: 'trailer', Body: 'old' }));
    const data = bytes(150_000, 34);
    for (const form of [STREAMING_UNSIGNED_TRAILER, STREAMING_SIGNED_TRAILER]) {
      const req = awsChunked(url('trailer'), data, { form, trailer: crc32Base64(Buffer.from('something else')) });
      const res = await fetch(url('trailer'), { method: 'PUT', headers: req.headers, body: fetchBody(req.body) });
      const text = await res.text();
      expect([res.status, code(text)], form).toEqual([400, 'BadDigest']);
      expect(text).toContain('<Message>The CRC32 you specified did not match the calculated checksum.</Message>');
    }
    expect((await read('trailer')).toString()).toBe('old');
    await noStaging();
  });

  it('a client that disconnects mid-upload leaves nothing visible, and nothing staged', async () => {
    const data = bytes(4 * 1024 * 1024, 35);
    const signed = signV4('PUT', url('cut'), { 'content-length': String(data.length) }, 'UNSIGNED-PAYLOAD');
    const answer = await raw(t.url, head('PUT', url('cut'), signed.headers), [{ data: data.subarray(0, 1_500_000) }, { data: data.subarray(1_500_000, 2_000_000), delayMs: 100 }], { cut: true });
    expect(answer).toBeUndefined(); // no answer: the connection was gone
    await noStaging();
    await absent('cut');
    // aws-chunked, cut between chunks (the SDK's stream form).
    const chunked = awsChunked(url('cut'), data, { form: STREAMING_UNSIGNED_TRAILER });
    expect(await raw(t.url, head('PUT', url('cut'), chunked.headers), [{ data: chunked.body.subarray(0, 1_000_000) }], { cut: true })).toBeUndefined();
    await noStaging();
    await absent('cut');
  });

  it('a client that goes away mid-download leaves the gateway serving and no file held: deleted, the object\'s data goes', async () => {
    const dataFiles = () => (staging ? readdirSync(join(staging, '..', 'data'), { recursive: true, withFileTypes: true }).filter((d) => d.isFile()).length : 0);
    const filesBefore = dataFiles();
    const data = bytes(16 * 1024 * 1024, 39);
    await s3.send(new PutObjectCommand({ Bucket: 'forms', Key: 'download', Body: data }));
    if (staging) expect(dataFiles()).toBe(filesBefore + 1);
    for (let i = 0; i < 5; i++) {
      const signed = signV4('GET', url('download'), {}, 'UNSIGNED-PAYLOAD');
      const received = await new Promise<number>((resolve, reject) => {
        const req = http.get(url('download'), { headers: signed.headers }, (res) => {
          res.once('data', (chunk: Buffer) => {
            req.destroy();
            resolve(chunk.length);
          });
        });
        req.on('error', (e) => (req.destroyed ? undefined : reject(e)));
      });
      expect(received).toBeGreaterThan(0);
    }
    expect((await read('download')).equals(data)).toBe(true);
    await s3.send(new DeleteObjectCommand({ Bucket: 'forms', Key: 'download' }));
    await eventually(() => dataFiles() === filesBefore);
  });

  it('a body that stalls past the body timeout is RequestTimeout (400) and the connection closes; nothing stored', async () => {
    const data = bytes(1_000_000, 36);
    const signed = signV4('PUT', url('stalled'), { 'content-length': String(data.length) }, 'UNSIGNED-PAYLOAD');
    const started = Date.now();
    const answer = await raw(t.url, head('PUT', url('stalled'), signed.headers), [{ data: data.subarray(0, 300_000) }, { data: data.subarray(300_000), delayMs: BODY_TIMEOUT_MS * 4 }]);
    expect(answer).toMatchObject({ status: 400, closed: true, headers: { connection: 'close' } });
    expect(code(answer!.body)).toBe('RequestTimeout');
    expect(Date.now() - started).toBeGreaterThanOrEqual(BODY_TIMEOUT_MS);
    await absent('stalled');
    await noStaging();
  });

  it('a body past the size limit is EntityTooLarge (400): declared, before a byte is read; streamed without a size, as it passes the limit', async () => {
    const declared = signV4('PUT', url('huge'), { 'content-length': String(5 * 1024 ** 3 + 1) }, 'UNSIGNED-PAYLOAD');
    const answer = await raw(t.url, head('PUT', url('huge'), declared.headers), [{ data: bytes(1000, 37) }], { waitMs: 1_000 });
    expect(answer?.status).toBe(400);
    expect(code(answer!.body)).toBe('EntityTooLarge');
    expect(answer!.body).toContain('<MaxSizeAllowed>5368709120</MaxSizeAllowed>');
    const objects = t.gw.objects;
    t.gw.objects = new Objects(t.engine, { maxObjectBytes: 1024 * 1024 });
    try {
      const data = bytes(3 * 1024 * 1024, 38);
      const req = awsChunked(url('huge'), data, { form: STREAMING_UNSIGNED_TRAILER, noDecodedLength: true });
      const res = await fetch(url('huge'), { method: 'PUT', headers: req.headers, body: fetchBody(req.body) });
      const text = await res.text();
      expect([res.status, code(text)]).toEqual([400, 'EntityTooLarge']);
      expect(text).toContain('<MaxSizeAllowed>1048576</MaxSizeAllowed>');
    } finally {
      t.gw.objects = objects;
    }
    await absent('huge');
    await noStaging();
  });
});

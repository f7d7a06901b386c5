// SigV4 as S3 checks it, against the examples AWS publishes in the S3 API reference ("Signature
// Calculations for the Authorization Header", "…Query Parameters", "…Multiple Chunks" and
// "…trailing headers"): the header and presigned forms, aws-chunked bodies with chunk signatures,
// and trailers. Plus what the S3 edge's body decoder refuses.
import { describe, expect, it } from 'vitest';
import { verifyS3, type SigningContext } from '../../src/gateway/auth/sigv4.js';
import type { Principal } from '../../src/gateway/auth/scopes.js';
import { AwsChunkedDecoder } from '../../src/gateway/s3/chunked.js';

const KEYS = new Map<string, Principal>([['AKIAIOSFODNN7EXAMPLE', { id: 'example', accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY', scopes: { '*': ['admin'] } }]]);
const DOC_TIME = Date.UTC(2013, 4, 24);
const CREDENTIAL = 'AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request';
const EMPTY = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

async function decode(body: Buffer, decoder: AwsChunkedDecoder, pieces = 7): Promise<Buffer> {
  const step = Math.ceil(body.length / pieces);
  async function* source() {
    for (let i = 0; i < body.length; i += step) yield body.subarray(i, i + step);
  }
  const out: Buffer[] = [];
  for await (const chunk of decoder.decode(source())) out.push(Buffer.from(chunk));
  return Buffer.concat(out);
}

const ok = (r: SigningContext | { reason: string }): SigningContext => {
  if ('reason' in r) throw new Error(`refused: ${r.reason}`);
  return r;
};

describe('SigV4 for S3 (AWS examples)', () => {
  const getObject = {
    method: 'GET',
    url: '/test.txt',
    headers: {
      host: 'examplebucket.s3.amazonaws.com', range: 'bytes=0-9', 'x-amz-content-sha256': EMPTY, 'x-amz-date': '20130524T000000Z',
      authorization: `AWS4-HMAC-SHA256 Credential=${CREDENTIAL},SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41`,
    },
  };

  it('accepts the GET Object example signed in the Authorization header', () => {
    const ctx = ok(verifyS3(getObject, KEYS, DOC_TIME));
    expect(ctx.principal.id).toBe('example');
    expect(ctx.payload).toBe(EMPTY);
    expect(ctx.scope).toBe('20130524/us-east-1/s3/aws4_request');
  });

  it('refuses it changed in any signed part, with an unknown key, or 15 minutes off', () => {
    expect(verifyS3({ ...getObject, url: '/test2.txt' }, KEYS, DOC_TIME)).toMatchObject({ reason: 'badSignature' });
    expect(verifyS3({ ...getObject, headers: { ...getObject.headers, range: 'bytes=0-10' } }, KEYS, DOC_TIME)).toMatchObject({ reason: 'badSignature' });
    expect(verifyS3({ ...getObject, method: 'DELETE' }, KEYS, DOC_TIME)).toMatchObject({ reason: 'badSignature' });
    expect(verifyS3(getObject, new Map(), DOC_TIME)).toMatchObject({ reason: 'unknownKey' });
    expect(verifyS3(getObject, KEYS, DOC_TIME + 15 * 60_000)).not.toHaveProperty('reason');
    expect(verifyS3(getObject, KEYS, DOC_TIME + 15 * 60_000 + 1)).toMatchObject({ reason: 'skewed' });
    const { 'x-amz-content-sha256': _, ...unhashed } = getObject.headers;
    expect(verifyS3({ ...getObject, headers: unhashed }, KEYS, DOC_TIME)).toMatchObject({ reason: 'malformed', message: 'Missing required header for this request: x-amz-content-sha256' });
  });

  const presigned = {
    method: 'GET',
    url: '/test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404',
    headers: { host: 'examplebucket.s3.amazonaws.com' },
  };

  it('accepts the presigned URL example until it expires, then refuses it as expired', () => {
    const ctx = ok(verifyS3(presigned, KEYS, DOC_TIME + 86_400_000));
    expect(ctx).toMatchObject({ presigned: true, payload: 'UNSIGNED-PAYLOAD' });
    expect(verifyS3(presigned, KEYS, DOC_TIME + 86_400_001)).toMatchObject({ reason: 'expired', message: 'Request has expired' });
    expect(verifyS3(presigned, KEYS, DOC_TIME - 16 * 60_000)).toMatchObject({ reason: 'notYetValid' });
    expect(verifyS3({ ...presigned, url: presigned.url.replace('86400', '86401') }, KEYS, DOC_TIME)).toMatchObject({ reason: 'badSignature' });
    expect(verifyS3({ ...presigned, url: presigned.url.replace('86400', '604801') }, KEYS, DOC_TIME)).toMatchObject({ reason: 'malformed' });
    expect(verifyS3({ ...presigned, url: presigned.url.replace(/&X-Amz-Date=[^&]+/, '') }, KEYS, DOC_TIME)).toMatchObject({ reason: 'malformed' });
  });

  const chunkedHeaders = (payload: string, signedHeaders: string, seed: string, extra: Record<string, string>) => ({
    'content-encoding': 'aws-chunked', host: 's3.amazonaws.com', 'x-amz-content-sha256': payload, 'x-amz-date': '20130524T000000Z',
    'x-amz-decoded-content-length': '66560', 'x-amz-storage-class': 'REDUCED_REDUNDANCY', ...extra,
    authorization: `AWS4-HMAC-SHA256 Credential=${CREDENTIAL},SignedHeaders=${signedHeaders},Signature=${seed}`,
  });
  const chunkedBody = (signatures: string[], trailer = '') => Buffer.concat([
    Buffer.from(`10000;chunk-signature=${signatures[0]}\r\n`), Buffer.alloc(65_536, 'a'),
    Buffer.from(`\r\n400;chunk-signature=${signatures[1]}\r\n`), Buffer.alloc(1024, 'a'),
    Buffer.from(`\r\n0;chunk-signature=${signatures[2]}\r\n${trailer}\r\n`),
  ]);

  describe('STREAMING-AWS4-HMAC-SHA256-PAYLOAD (the PUT Object example: 64 KiB + 1 KiB of a)', () => {
    const signatures = ['ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648', '0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497', 'b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9'];
    const request = {
      method: 'PUT',
      url: '/examplebucket/chunkObject.txt',
      headers: chunkedHeaders('STREAMING-AWS4-HMAC-SHA256-PAYLOAD', 'content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;x-amz-storage-class', '4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9', { 'content-length': '66824' }),
    };

    it('verifies the seed signature and every chunk signature, and decodes the data', async () => {
      const ctx = ok(verifyS3(request, KEYS, DOC_TIME));
      const body = chunkedBody(signatures);
      expect(body.length).toBe(66_824);
      const decoded = await decode(body, new AwsChunkedDecoder({ signed: true, trailer: false, signing: ctx, decodedLength: 66_560 }));
      expect(decoded.equals(Buffer.alloc(66_560, 'a'))).toBe(true);
    });

    it('refuses a changed data byte, a chunk signature out of order, a short body and a wrong decoded length', async () => {
      const ctx = ok(verifyS3(request, KEYS, DOC_TIME));
      const flipped = chunkedBody(signatures);
      flipped[66_000] = 0x62; // in the second chunk
      await expect(decode(flipped, new AwsChunkedDecoder({ signed: true, trailer: false, signing: ctx }))).rejects.toMatchObject({ code: 'SignatureDoesNotMatch' });
      await expect(decode(chunkedBody([signatures[1]!, signatures[0]!, signatures[2]!]), new AwsChunkedDecoder({ signed: true, trailer: false, signing: ctx }))).rejects.toMatchObject({ code: 'SignatureDoesNotMatch' });
      const body = chunkedBody(signatures);
      await expect(decode(body.subarray(0, 66_000), new AwsChunkedDecoder({ signed: true, trailer: false, signing: ctx }))).rejects.toMatchObject({ code: 'IncompleteBody' });
      await expect(decode(body, new AwsChunkedDecoder({ signed: true, trailer: false, signing: ctx, decodedLength: 66_561 }))).rejects.toMatchObject({ code: 'IncompleteBody' });
      await expect(decode(Buffer.from('zz;chunk-signature=x\r\n'), new AwsChunkedDecoder({ signed: true, trailer: false, signing: ctx }))).rejects.toMatchObject({ code: 'IncompleteBody' });
    });
  });

  describe('STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER (the trailing headers example)', () => {
    const signatures = ['b474d8862b1487a5145d686f57f013e54db672cee1c953b3010fb58501ef5aa2', '1c1344b170168f8e65b41376b44b20fe354e373826ccbbe2c1d40a8cae51e5c7', '2ca2aba2005185cf7159c6277faf83795951dd77a3a99e6e65d5c9f85863f992'];
    const request = {
      method: 'PUT',
      url: '/examplebucket/chunkObject.txt',
      headers: chunkedHeaders('STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER', 'content-encoding;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;x-amz-storage-class;x-amz-trailer', '106e2a8a18243abcf37539882f36619c00e2dfc72633413f02d3b74544bfeb8e', { 'x-amz-trailer': 'x-amz-checksum-crc32c' }),
    };
    const trailer = 'x-amz-checksum-crc32c:sOO8/Q==\r\nx-amz-trailer-signature:d81f82fc3505edab99d459891051a732e8730629a2e4a59689829ca17fe2e435\r\n';

    it('verifies the chunks and the trailer signature, and hands over the trailing checksum', async () => {
      const ctx = ok(verifyS3(request, KEYS, DOC_TIME));
      const decoder = new AwsChunkedDecoder({ signed: true, trailer: true, signing: ctx, decodedLength: 66_560 });
      expect((await decode(chunkedBody(signatures, trailer), decoder)).length).toBe(66_560);
      expect(decoder.trailers).toEqual({ 'x-amz-checksum-crc32c': 'sOO8/Q==' });
    });

    it('refuses a changed trailer or a missing trailer signature', async () => {
      const ctx = ok(verifyS3(request, KEYS, DOC_TIME));
      const changed = trailer.replace('sOO8/Q==', 'AAAAAA==');
      await expect(decode(chunkedBody(signatures, changed), new AwsChunkedDecoder({ signed: true, trailer: true, signing: ctx }))).rejects.toMatchObject({ code: 'SignatureDoesNotMatch' });
      await expect(decode(chunkedBody(signatures, 'x-amz-checksum-crc32c:sOO8/Q==\r\n'), new AwsChunkedDecoder({ signed: true, trailer: true, signing: ctx }))).rejects.toMatchObject({ code: 'SignatureDoesNotMatch' });
    });
  });

  describe('STREAMING-UNSIGNED-PAYLOAD-TRAILER (what @aws-sdk/client-s3 sends for streams)', () => {
    it('decodes chunks without signatures and the trailer, with or without the final empty line', async () => {
      for (const body of ['3\r\nabc\r\n0\r\nx-amz-checksum-crc32:NSRBwg==\r\n\r\n', '3\r\nabc\r\n0\r\nx-amz-checksum-crc32:NSRBwg==\r\n', '3\r\nabc\r\n0\r\n']) {
        const decoder = new AwsChunkedDecoder({ signed: false, trailer: true, decodedLength: 3 });
        expect((await decode(Buffer.from(body), decoder, 3)).toString()).toBe('abc');
        expect(decoder.trailers).toEqual(body.includes('crc32') ? { 'x-amz-checksum-crc32': 'NSRBwg==' } : {});
      }
    });

    it('refuses a chunk longer than its size and bytes after the end', async () => {
      await expect(decode(Buffer.from('3\r\nabcd\r\n0\r\n\r\n'), new AwsChunkedDecoder({ signed: false, trailer: true }))).rejects.toMatchObject({ code: 'IncompleteBody' });
      await expect(decode(Buffer.from('3\r\nabc\r\n0\r\n\r\nmore'), new AwsChunkedDecoder({ signed: false, trailer: false }))).rejects.toMatchObject({ code: 'IncompleteBody' });
    });
  });
});

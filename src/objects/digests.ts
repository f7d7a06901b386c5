// Digests the object store checks and derives: a staged body against what the client said it
// sent (Content-MD5, x-amz-checksum-*), and S3's multipart ETag and composite checksums.
import { createHash } from 'node:crypto';
import { crc32 } from 'node:zlib';
import type { ChecksumAlgorithm, Checksums, StagedObject } from '../engine/engine.js';
import { crc32c } from '../engine/objects/checksums.js';
import { DigestMismatchError } from './errors.js';

const NAMES: Record<ChecksumAlgorithm, 'CRC32' | 'CRC32C' | 'SHA1' | 'SHA256'> = { crc32: 'CRC32', crc32c: 'CRC32C', sha1: 'SHA1', sha256: 'SHA256' };

/** What the client said of the bytes it sent, checked once they are staged. */
export interface Expected {
  /** MD5 as hex (Content-MD5 decoded). */
  md5?: string;
  /** Checksums as base64; a function when they arrive after the body (aws-chunked trailers). */
  checksums?: Checksums | (() => Checksums);
}

/** Throws DigestMismatchError when a staged body is not what the client said it sent. */
export function verifyStaged(staged: StagedObject, expected: Expected): void {
  if (expected.md5 !== undefined && staged.md5 !== expected.md5) throw new DigestMismatchError('MD5');
  const checksums = typeof expected.checksums === 'function' ? expected.checksums() : expected.checksums;
  for (const [algorithm, value] of Object.entries(checksums ?? {}) as [ChecksumAlgorithm, string][]) {
    if (staged.checksums[algorithm] !== value) throw new DigestMismatchError(NAMES[algorithm]);
  }
}

/** S3's multipart ETag: MD5 of the parts' binary MD5s, then `-<number of parts>`. */
export function multipartEtag(partMd5s: readonly string[]): string {
  const h = createHash('md5');
  for (const m of partMd5s) h.update(Buffer.from(m, 'hex'));
  return `${h.digest('hex')}-${partMd5s.length}`;
}

/** S3's composite checksum of a multipart object: the checksum of the parts' binary checksums, then `-<parts>`. */
export function compositeChecksum(algorithm: ChecksumAlgorithm, parts: readonly string[]): string {
  const joined = Buffer.concat(parts.map((p) => Buffer.from(p, 'base64')));
  return `${checksumOf(algorithm, joined)}-${parts.length}`;
}

/** One checksum of a buffer, base64 (x-amz-checksum-* form). */
export function checksumOf(algorithm: ChecksumAlgorithm, data: Uint8Array): string {
  if (algorithm === 'crc32' || algorithm === 'crc32c') {
    const out = Buffer.allocUnsafe(4);
    out.writeUInt32BE((algorithm === 'crc32' ? crc32(data) : crc32c(data)) >>> 0, 0);
    return out.toString('base64');
  }
  return createHash(algorithm).update(data).digest('base64');
}

/** Throws DigestMismatchError when a body read whole is not what the client said it sent. */
export function verifyBuffer(data: Uint8Array, expected: Expected): void {
  if (expected.md5 !== undefined && createHash('md5').update(data).digest('hex') !== expected.md5) throw new DigestMismatchError('MD5');
  const checksums = typeof expected.checksums === 'function' ? expected.checksums() : expected.checksums;
  for (const [algorithm, value] of Object.entries(checksums ?? {}) as [ChecksumAlgorithm, string][]) {
    if (checksumOf(algorithm, data) !== value) throw new DigestMismatchError(NAMES[algorithm]);
  }
}

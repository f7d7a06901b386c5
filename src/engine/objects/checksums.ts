// Digests computed while an object's bytes stream through: MD5 always (S3's ETag), the others
// when asked (S3's x-amz-checksum-*). Node's native hashes; CRC32C (no native one) by tables.
import { createHash, type Hash } from 'node:crypto';
import { crc32 } from 'node:zlib';
import type { ChecksumAlgorithm, Checksums } from '../engine.js';
import { InvalidArgumentError } from '../errors.js';

export const CHECKSUM_ALGORITHMS: readonly ChecksumAlgorithm[] = ['crc32', 'crc32c', 'sha1', 'sha256'];

interface Digest {
  update(b: Uint8Array): void;
  /** The digest's bytes, big-endian. */
  digest(): Buffer;
}

class Crc implements Digest {
  private crc = 0;
  constructor(private readonly step: (b: Uint8Array, crc: number) => number) {}
  update(b: Uint8Array): void {
    this.crc = this.step(b, this.crc);
  }
  digest(): Buffer {
    const out = Buffer.allocUnsafe(4);
    out.writeUInt32BE(this.crc >>> 0, 0);
    return out;
  }
}

const hashDigest = (h: Hash): Digest => ({ update: (b) => h.update(b), digest: () => h.digest() });

function digestOf(algorithm: ChecksumAlgorithm): Digest {
  switch (algorithm) {
    case 'crc32':
      return new Crc((b, c) => crc32(b, c));
    case 'crc32c':
      return new Crc(crc32c);
    case 'sha1':
      return hashDigest(createHash('sha1'));
    case 'sha256':
      return hashDigest(createHash('sha256'));
    default:
      throw new InvalidArgumentError(`unknown checksum '${String(algorithm)}': use ${CHECKSUM_ALGORITHMS.join(', ')}`, 'checksums');
  }
}

/** MD5 and the asked-for checksums of one body, fed chunk by chunk. */
export class BodyDigests {
  private readonly md5 = createHash('md5');
  private readonly others: [ChecksumAlgorithm, Digest][];

  constructor(algorithms: readonly ChecksumAlgorithm[] = []) {
    this.others = [...new Set(algorithms)].map((a) => [a, digestOf(a)]);
  }

  update(chunk: Uint8Array): void {
    this.md5.update(chunk);
    for (const [, d] of this.others) d.update(chunk);
  }

  /** MD5 as hex, the others as base64 (x-amz-checksum-* form). */
  finish(): { md5: string; checksums: Checksums } {
    const checksums: Checksums = {};
    for (const [a, d] of this.others) checksums[a] = d.digest().toString('base64');
    return { md5: this.md5.digest('hex'), checksums };
  }
}

// CRC32C (Castagnoli, reflected polynomial 0x82F63B78), slicing by 8.
const T = (() => {
  const t = new Int32Array(8 * 256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    t[i] = c;
  }
  for (let i = 0; i < 256; i++) for (let s = 1; s < 8; s++) t[s * 256 + i] = (t[(s - 1) * 256 + i]! >>> 8) ^ t[t[(s - 1) * 256 + i]! & 0xff]!;
  return t;
})();

/** CRC32C of `b` continuing from `crc` (0 to start), as an unsigned number. */
export function crc32c(b: Uint8Array, crc = 0): number {
  let c = ~crc;
  let i = 0;
  const n = b.length;
  for (; i + 8 <= n; i += 8) {
    const lo = (c ^ (b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24))) | 0;
    c = T[7 * 256 + (lo & 0xff)]! ^ T[6 * 256 + ((lo >>> 8) & 0xff)]! ^ T[5 * 256 + ((lo >>> 16) & 0xff)]! ^ T[4 * 256 + (lo >>> 24)]! ^
      T[3 * 256 + b[i + 4]!]! ^ T[2 * 256 + b[i + 5]!]! ^ T[256 + b[i + 6]!]! ^ T[b[i + 7]!]!;
  }
  for (; i < n; i++) c = T[(c ^ b[i]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}

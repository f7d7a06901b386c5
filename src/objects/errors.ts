// Errors of the object store, one class per failure mode: each says what happened, never which
// status; the S3 edge (src/gateway/s3/errors.ts) chooses S3's codes and statuses for them.
import { SluiceError } from '../errors.js';

export class InvalidBucketNameError extends SluiceError {
  readonly code = 'InvalidBucketName';
  constructor(readonly bucket: string, readonly reason: string) {
    super(`The specified bucket is not valid: ${reason}`);
  }
}

export class BucketNotFoundError extends SluiceError {
  readonly code = 'BucketNotFound';
  constructor(readonly bucket: string) {
    super('The specified bucket does not exist');
  }
}

/** Every client of one Sluice is one owner: a bucket that exists is the caller's already. */
export class BucketExistsError extends SluiceError {
  readonly code = 'BucketExists';
  constructor(readonly bucket: string) {
    super('Your previous request to create the named bucket succeeded and you already own it.');
  }
}

export class BucketNotEmptyError extends SluiceError {
  readonly code = 'BucketNotEmpty';
  constructor(readonly bucket: string) {
    super('The bucket you tried to delete is not empty');
  }
}

export class InvalidKeyError extends SluiceError {
  readonly code = 'InvalidKey';
  constructor(readonly key: string, readonly reason: string) {
    super(`The specified key is not valid: ${reason}`);
  }
}

export class KeyTooLongError extends SluiceError {
  readonly code = 'KeyTooLong';
  constructor(readonly key: string, readonly bytes: number, readonly max: number) {
    super(`Your key is too long: ${bytes} bytes of UTF-8, at most ${max} in this bucket`);
  }
}

export class ObjectNotFoundError extends SluiceError {
  readonly code = 'ObjectNotFound';
  constructor(readonly bucket: string, readonly key: string) {
    super('The specified key does not exist.');
  }
}

export class UploadNotFoundError extends SluiceError {
  readonly code = 'UploadNotFound';
  constructor(readonly uploadId: string) {
    super('The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.');
  }
}

/** A part named in CompleteMultipartUpload that was not uploaded, or whose ETag is not the one given. */
export class InvalidPartError extends SluiceError {
  readonly code = 'InvalidPart';
  constructor(readonly partNumber: number, reason: string) {
    super(`One or more of the specified parts could not be found. The part may not have been uploaded, or the specified entity tag may not match the part's entity tag. (part ${partNumber}: ${reason})`);
  }
}

export class InvalidPartOrderError extends SluiceError {
  readonly code = 'InvalidPartOrder';
  constructor(readonly partNumber: number) {
    super(`The list of parts was not in ascending order. Parts must be ordered by part number. (part ${partNumber})`);
  }
}

/** A part other than the last smaller than the minimum part size (5 MiB). */
export class PartTooSmallError extends SluiceError {
  readonly code = 'PartTooSmall';
  constructor(readonly partNumber: number, readonly size: number, readonly minimum: number) {
    super(`Your proposed upload is smaller than the minimum allowed size (part ${partNumber} is ${size} bytes, parts but the last are at least ${minimum})`);
  }
}

/** A part number outside 1-10,000, or more parts than that. */
export class InvalidPartNumberError extends SluiceError {
  readonly code = 'InvalidPartNumber';
  constructor(readonly partNumber: unknown) {
    super('Part number must be an integer between 1 and 10000, inclusive');
  }
}

/** The bytes received do not have the digest the client sent (Content-MD5, x-amz-checksum-*): nothing was stored. */
export class DigestMismatchError extends SluiceError {
  readonly code = 'DigestMismatch';
  constructor(readonly algorithm: 'MD5' | 'CRC32' | 'CRC32C' | 'SHA1' | 'SHA256' | 'CRC64NVME') {
    super(algorithm === 'MD5' ? 'The Content-MD5 you specified did not match what we received.' : `The ${algorithm} you specified did not match the calculated checksum.`);
  }
}

/** A digest header that is not one (not base64 of the right length). */
export class InvalidDigestError extends SluiceError {
  readonly code = 'InvalidDigest';
  constructor(readonly header: string) {
    super(header === 'content-md5' ? 'The Content-MD5 you specified is not valid.' : `Value for ${header} header is invalid.`);
  }
}

/** The body ended before the size it declared (Content-Length, x-amz-decoded-content-length). */
export class IncompleteBodyError extends SluiceError {
  readonly code = 'IncompleteBody';
  constructor(readonly expected: number, readonly received: number) {
    super(`You did not provide the number of bytes specified by the Content-Length HTTP header (${expected} declared, ${received} received)`);
  }
}

/** An If-Match / If-Unmodified-Since (or, on a write, If-None-Match: *) that does not hold. */
export class PreconditionFailedError extends SluiceError {
  readonly code = 'PreconditionFailed';
  constructor(readonly condition: string) {
    super('At least one of the pre-conditions you specified did not hold');
  }
}

/** If-None-Match / If-Modified-Since on a read: the client's copy is current. */
export class NotModifiedError extends SluiceError {
  readonly code = 'NotModified';
  constructor(readonly etag: string, readonly lastModified: number) {
    super('Not Modified');
  }
}

/** A copy source that is the destination itself with nothing changed. */
export class InvalidCopyError extends SluiceError {
  readonly code = 'InvalidCopy';
  constructor(reason: string) {
    super(reason);
  }
}

export const isBucketNotFound = (e: unknown): e is BucketNotFoundError => e instanceof BucketNotFoundError;
export const isObjectNotFound = (e: unknown): e is ObjectNotFoundError => e instanceof ObjectNotFoundError;
export const isUploadNotFound = (e: unknown): e is UploadNotFoundError => e instanceof UploadNotFoundError;
export const isDigestMismatch = (e: unknown): e is DigestMismatchError => e instanceof DigestMismatchError;
export const isPreconditionFailed = (e: unknown): e is PreconditionFailedError => e instanceof PreconditionFailedError;
export const isNotModified = (e: unknown): e is NotModifiedError => e instanceof NotModifiedError;

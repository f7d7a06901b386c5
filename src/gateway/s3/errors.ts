// S3's error codes and statuses, chosen here, once, for the object store's, the engine's and the
// gateway's domain errors; the body is S3's <Error><Code/><Message/><Resource/><RequestId/></Error>.
import { SluiceError } from '../../errors.js';
import {
  ConflictError, EngineUnavailableError, InvalidArgumentError, InvalidRangeError, ObjectTooLargeError, StorageFullError,
} from '../../engine/errors.js';
import {
  BucketExistsError, BucketNotEmptyError, BucketNotFoundError, DigestMismatchError, IncompleteBodyError, InvalidBucketNameError,
  InvalidCopyError, InvalidDigestError, InvalidKeyError, InvalidPartError, InvalidPartNumberError, InvalidPartOrderError, KeyTooLongError,
  NotModifiedError, ObjectNotFoundError, PartTooSmallError, PreconditionFailedError, UploadNotFoundError,
} from '../../objects/errors.js';
import {
  BodyTimeoutError, ForbiddenError, OverloadedError, OverShareError, PayloadTooLargeError, RateLimitedError, ShuttingDownError, UnauthenticatedError,
} from '../errors.js';

export class S3Error extends SluiceError {
  constructor(
    readonly code: string,
    message: string,
    readonly status = 400,
    /** More elements of the error body (S3 adds e.g. BucketName, Key, ArgumentName). */
    readonly fields: Record<string, string> = {},
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

export const notImplemented = (what: string): S3Error => new S3Error('NotImplemented', `A header or query you provided implies functionality that is not implemented (${what})`, 501);
export const invalidArgument = (message: string, name?: string, value?: string): S3Error =>
  new S3Error('InvalidArgument', message, 400, name === undefined ? {} : { ArgumentName: name, ArgumentValue: value ?? '' });
export const accessDenied = (message = 'Access Denied'): S3Error => new S3Error('AccessDenied', message, 403);

const retryAfter = (s: number) => ({ 'retry-after': String(s) });

/** The S3 error of anything thrown; undefined for what no layer raised on purpose (answered 500 InternalError, logged). */
export function toS3Error(e: unknown): S3Error | undefined {
  if (e instanceof S3Error) return e;
  if (e instanceof BucketNotFoundError) return new S3Error('NoSuchBucket', e.message, 404, { BucketName: e.bucket });
  if (e instanceof ObjectNotFoundError) return new S3Error('NoSuchKey', e.message, 404, { Key: e.key });
  if (e instanceof UploadNotFoundError) return new S3Error('NoSuchUpload', e.message, 404, { UploadId: e.uploadId });
  if (e instanceof BucketExistsError) return new S3Error('BucketAlreadyOwnedByYou', e.message, 409, { BucketName: e.bucket });
  if (e instanceof BucketNotEmptyError) return new S3Error('BucketNotEmpty', e.message, 409, { BucketName: e.bucket });
  if (e instanceof InvalidBucketNameError) return new S3Error('InvalidBucketName', e.message, 400, { BucketName: e.bucket });
  if (e instanceof KeyTooLongError) return new S3Error('KeyTooLongError', e.message, 400, { Size: String(e.bytes), MaxSizeAllowed: String(e.max) });
  if (e instanceof InvalidKeyError) return invalidArgument(e.message, 'key', e.key.slice(0, 64));
  if (e instanceof InvalidPartError) return new S3Error('InvalidPart', e.message, 400);
  if (e instanceof InvalidPartOrderError) return new S3Error('InvalidPartOrder', e.message, 400);
  if (e instanceof PartTooSmallError) return new S3Error('EntityTooSmall', e.message, 400, { ProposedSize: String(e.size), MinSizeAllowed: String(e.minimum), PartNumber: String(e.partNumber) });
  if (e instanceof InvalidPartNumberError) return invalidArgument(e.message, 'partNumber', String(e.partNumber));
  if (e instanceof ObjectTooLargeError) return new S3Error('EntityTooLarge', 'Your proposed upload exceeds the maximum allowed size', 400, { MaxSizeAllowed: String(e.limit) });
  if (e instanceof DigestMismatchError) return new S3Error('BadDigest', e.message, 400);
  if (e instanceof InvalidDigestError) return e.header === 'content-md5' ? new S3Error('InvalidDigest', e.message, 400) : invalidArgument(e.message, e.header);
  if (e instanceof IncompleteBodyError) return new S3Error('IncompleteBody', e.message, 400);
  if (e instanceof PreconditionFailedError) return new S3Error('PreconditionFailed', e.message, 412, { Condition: e.condition });
  if (e instanceof NotModifiedError) return new S3Error('NotModified', e.message, 304);
  if (e instanceof InvalidRangeError) return new S3Error('InvalidRange', 'The requested range is not satisfiable', 416, { ActualObjectSize: String(e.size) }, { 'content-range': `bytes */${e.size}` });
  if (e instanceof InvalidCopyError) return new S3Error('InvalidRequest', e.message, 400);
  // A write raced another (the bucket went, an upload was completed or aborted meanwhile): S3 answers such races 409.
  if (e instanceof ConflictError) return new S3Error('OperationAborted', 'A conflicting conditional operation is currently in progress against this resource. Please try again.', 409);
  if (e instanceof InvalidArgumentError) return invalidArgument(e.message, e.field);
  if (e instanceof StorageFullError) return new S3Error('InsufficientStorage', 'The storage has no room left for this request', 507);
  if (e instanceof EngineUnavailableError) return new S3Error('ServiceUnavailable', 'Please reduce your request rate.', 503, {}, retryAfter(1));
  if (e instanceof OverloadedError || e instanceof OverShareError || e instanceof RateLimitedError) return new S3Error('SlowDown', 'Please reduce your request rate.', 503, {}, retryAfter(e.retryAfterS));
  if (e instanceof ShuttingDownError) return new S3Error('ServiceUnavailable', 'Please reduce your request rate.', 503, {}, { ...retryAfter(1), connection: 'close' });
  if (e instanceof BodyTimeoutError) return new S3Error('RequestTimeout', 'Your socket connection to the server was not read from or written to within the timeout period. Idle connections will be closed.', 400, {}, { connection: 'close' });
  if (e instanceof PayloadTooLargeError) return new S3Error('MaxMessageLengthExceeded', 'Your request was too big.', 400);
  if (e instanceof UnauthenticatedError) return new S3Error('InvalidAccessKeyId', 'The AWS Access Key Id you provided does not exist in our records.', 403);
  if (e instanceof ForbiddenError) return accessDenied();
  return undefined;
}

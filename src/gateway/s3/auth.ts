// Who sends an S3 request, and whether they may: SigV4 in the Authorization header or presigned in
// the query (service `s3`), a Sluice API key (Bearer / X-Api-Key, for curl), or nobody — allowed on
// an open gateway only. Bucket scopes are `bucket:<pattern>` entries of a principal's scopes
// (`bucket:uploads`, `bucket:logs-*`; `*` covers buckets too), with read, write and admin.
import { presentedKey } from '../auth/api-keys.js';
import { OPEN_PRINCIPAL, can, type Action, type Principal } from '../auth/scopes.js';
import { accessKeyOf, verifyS3, type SigningContext, type SigV4Failure } from '../auth/sigv4.js';
import { UnauthenticatedError } from '../errors.js';
import type { Gateway } from '../gateway.js';
import type { GatewayRequest } from '../request.js';
import { accessDenied, S3Error } from './errors.js';

export const BUCKET_SCOPE_PREFIX = 'bucket:';

export interface S3Caller {
  principal: Principal;
  /** Set when a known key signed the request: chunk signatures are verified with it. */
  signing?: SigningContext;
}

/** The scope name of a bucket (`bucket:<name>`). */
export const bucketScope = (bucket: string): string => BUCKET_SCOPE_PREFIX + bucket;

export function authenticate(gw: Gateway, req: GatewayRequest): S3Caller {
  const url = req.url ?? '/';
  const auth = req.headers['authorization'];
  const presigned = /[?&]X-Amz-(Algorithm|Signature|Credential)=/i.test(url);
  if ((typeof auth === 'string' && auth.startsWith('AWS4-')) || (auth === undefined && presigned)) {
    // An open gateway checks no signature, except one made with a function's own key pair (decision 019).
    const signer = gw.accessKeys.get(accessKeyOf(req) ?? '');
    if (gw.open && !(signer && gw.isAdded(signer.id))) return { principal: OPEN_PRINCIPAL };
    const result = verifyS3({ method: req.method ?? 'GET', url, headers: req.headers }, gw.accessKeys, gw.clock.now());
    if ('reason' in result) throw refusal(result, typeof auth === 'string', gw.clock.now());
    const service = result.scope.split('/')[2];
    if (service !== 's3') throw new S3Error('AuthorizationHeaderMalformed', `The authorization header is malformed; incorrect service "${service}". This endpoint belongs to "s3".`, 400);
    return { principal: result.principal, signing: result };
  }
  if (typeof auth === 'string' && auth.startsWith('AWS ')) throw new S3Error('InvalidRequest', 'The authorization mechanism you have provided is not supported. Please use AWS4-HMAC-SHA256.', 400);
  const key = presentedKey(req.headers);
  if (key !== undefined) {
    try {
      return { principal: gw.principalOf(req) };
    } catch (e) {
      if (e instanceof UnauthenticatedError) throw accessDenied(e.message);
      throw e;
    }
  }
  if (gw.open) return { principal: OPEN_PRINCIPAL };
  throw accessDenied();
}

function refusal(f: SigV4Failure, header: boolean, now: number): S3Error {
  switch (f.reason) {
    case 'unknownKey': return new S3Error('InvalidAccessKeyId', 'The AWS Access Key Id you provided does not exist in our records.', 403);
    case 'badSignature': return new S3Error('SignatureDoesNotMatch', 'The request signature we calculated does not match the signature you provided. Check your key and signing method.', 403);
    case 'skewed': return new S3Error('RequestTimeTooSkewed', 'The difference between the request time and the current time is too large.', 403, { ServerTime: new Date(now).toISOString(), MaxAllowedSkewMilliseconds: '900000' });
    case 'expired':
    case 'notYetValid': return new S3Error('AccessDenied', f.message, 403, { ServerTime: new Date(now).toISOString() });
    case 'missing': return accessDenied();
    default: return new S3Error(header ? 'AuthorizationHeaderMalformed' : 'AuthorizationQueryParametersError', f.message, 400);
  }
}

/** Throws AccessDenied unless the caller may do `action` on the bucket. */
export function authorize(caller: S3Caller, bucket: string, action: Action): void {
  if (!can(caller.principal, bucketScope(bucket), action)) throw accessDenied();
}

// The S3 API on the gateway's port (decision 019): path-style `/{bucket}/{key}`, SigV4 (header or
// presigned) against the configured key pairs, bucket scopes, bodies streamed through the engine's
// staging and responses from its reads, S3's XML answers and errors. The operations are in
// buckets.ts, objects.ts, listing.ts and multipart.ts; the object store itself is src/objects/.
import { randomBytes } from 'node:crypto';
import { ClientAbortedError, ShuttingDownError } from '../errors.js';
import type { Gateway } from '../gateway.js';
import { discardUnreadBody, type GatewayRequest, type GatewayResponse } from '../request.js';
import { authenticate, authorize, type S3Caller } from './auth.js';
import { createBucket, deleteBucket, getBucketLocation, getBucketVersioning, headBucket, listBuckets } from './buckets.js';
import { S3Call, STREAMING_RESERVE_BYTES } from './call.js';
import { S3Error, toS3Error } from './errors.js';
import { listObjects, listObjectsV2 } from './listing.js';
import { s3Metrics, type S3Metrics } from './metrics.js';
import { abortMultipartUpload, completeMultipartUpload, createMultipartUpload, listMultipartUploads, listParts, uploadPart } from './multipart.js';
import { copyObject, deleteObject, deleteObjects, getObject, headObject, putObject } from './objects.js';
import { ACTIONS, operationOf, targetOf, type OperationName, type S3Target } from './route.js';
import { escapeXml } from './xml.js';

export { s3Request } from './route.js';

type Run = (call: S3Call, client: string) => Promise<void>;

const RUN: Record<OperationName, Run> = {
  ListBuckets: listBuckets, CreateBucket: createBucket, HeadBucket: headBucket, DeleteBucket: deleteBucket,
  GetBucketLocation: getBucketLocation, GetBucketVersioning: getBucketVersioning,
  ListObjects: listObjects, ListObjectsV2: listObjectsV2, ListMultipartUploads: listMultipartUploads, DeleteObjects: deleteObjects,
  PutObject: putObject, CopyObject: copyObject, GetObject: getObject, HeadObject: headObject, DeleteObject: deleteObject,
  CreateMultipartUpload: createMultipartUpload, UploadPart: uploadPart, CompleteMultipartUpload: completeMultipartUpload,
  AbortMultipartUpload: abortMultipartUpload, ListParts: listParts,
};

/** Operations whose body streams into the engine: they hold STREAMING_RESERVE_BYTES of the admission budget, not their size. */
const STREAMING = new Set<OperationName>(['PutObject', 'UploadPart']);

export class S3Api {
  private readonly metrics: S3Metrics;

  constructor(private readonly gw: Gateway) {
    this.metrics = s3Metrics(gw.observer.metrics);
  }

  async handle(req: GatewayRequest, res: GatewayResponse, clientGone: AbortSignal): Promise<void> {
    const info = this.gw.requestInfo(req);
    const requestId = info?.id ?? randomBytes(8).toString('hex');
    res.setHeader('x-amz-request-id', requestId);
    res.setHeader('x-amz-id-2', Buffer.from(requestId).toString('base64'));
    let operation: OperationName | 'Unknown' = 'Unknown';
    let target: S3Target | undefined;
    let call: S3Call | undefined;
    let held: { client: string; bytes: number } | undefined;
    try {
      target = targetOf(req.url ?? '/');
      operation = operationOf(req.method ?? 'GET', target, req.headers);
      if (info) info.route = `s3:${operation}`;
      const caller: S3Caller = authenticate(this.gw, req);
      const action = ACTIONS[operation];
      if (action) authorize(caller, target.bucket!, action);
      if (this.gw.closing) throw new ShuttingDownError();
      const client = this.gw.clientOf(req, caller.principal);
      call = new S3Call(this.gw, this.gw.objects, req, res, operation, target, caller, clientGone, requestId);
      if (STREAMING.has(operation)) {
        this.gw.admission.reserve(client, STREAMING_RESERVE_BYTES);
        held = { client, bytes: STREAMING_RESERVE_BYTES };
      }
      await RUN[operation](call, client);
    } catch (e) {
      if (e instanceof ClientAbortedError || clientGone.aborted) res.destroy();
      else this.fail(req, res, e, target, requestId);
    } finally {
      if (held) this.gw.admission.release(held.client, held.bytes);
      const received = call?.received() ?? 0;
      if (info && received) info.bytesIn = received;
      this.metrics.requests.inc({ operation, status: res.headersSent ? String(res.statusCode) : 'aborted' });
      if (received) this.metrics.received.inc({ operation }, received);
      if (call?.sent) this.metrics.sent.inc({ operation }, call.sent);
    }
  }

  /** Answers an error in S3's XML (headers only for HEAD and 304); a body left unread is read and dropped, or, after a stall, the connection closed. */
  private fail(req: GatewayRequest, res: GatewayResponse, e: unknown, target: S3Target | undefined, requestId: string): void {
    if (res.headersSent) return void res.destroy(); // mid-stream: the client sees a cut body
    let err = toS3Error(e);
    if (!err) {
      this.gw.observer.log.error({ reqId: requestId, err: (e as Error)?.stack ?? String(e) }, 'internal error answering an S3 request');
      err = new S3Error('InternalError', 'We encountered an internal error. Please try again.', 500);
    }
    const info = this.gw.requestInfo(req);
    if (info) info.code = err.code;
    const stalled = err.code === 'RequestTimeout' && !req.complete;
    const headers: Record<string, string> = { ...err.headers };
    if (stalled && req.httpVersionMajor === 1) headers.connection = 'close';
    if (req.method === 'HEAD' || err.status === 304) {
      res.writeHead(err.status, { ...headers, 'content-length': '0' });
      res.end();
    } else {
      const resource = target?.bucket === undefined ? '/' : `/${target.bucket}${target.key === undefined ? '' : `/${target.key}`}`;
      const fields = Object.entries(err.fields).map(([k, v]) => `<${k}>${escapeXml(v)}</${k}>`).join('');
      const body = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${err.code}</Code><Message>${escapeXml(err.message)}</Message>${fields}<Resource>${escapeXml(resource)}</Resource><RequestId>${requestId}</RequestId></Error>`;
      res.writeHead(err.status, { ...headers, 'content-type': 'application/xml', 'content-length': String(Buffer.byteLength(body)) });
      res.end(body);
    }
    // HTTP/1.1: the connection closes (the rest of the body is not waited for); HTTP/2: only the request's stream.
    if (stalled) res.once('finish', () => (req.httpVersionMajor === 1 ? req.socket?.destroy() : req.destroy()));
    else discardUnreadBody(req);
  }
}

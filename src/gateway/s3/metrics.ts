// The S3 API's metrics, in the gateway's registry: requests by operation and status, and bytes in
// (request bodies as sent, aws-chunked framing included) and out (response bodies), by operation.
import type { Counter } from 'prom-client';
import type { Metrics } from '../../observe/metrics.js';

export interface S3Metrics {
  requests: Counter<'operation' | 'status'>;
  received: Counter<'operation'>;
  sent: Counter<'operation'>;
}

export function s3Metrics(m: Metrics): S3Metrics {
  return {
    requests: m.counter('sluice_s3_requests_total', 'S3 API requests answered, by operation and status', ['operation', 'status']),
    received: m.counter('sluice_s3_received_bytes_total', 'Request body bytes the S3 API received, by operation (as sent: aws-chunked framing included)', ['operation']),
    sent: m.counter('sluice_s3_sent_bytes_total', 'Response body bytes the S3 API sent, by operation (object bytes of GetObject, XML of the others)', ['operation']),
  };
}

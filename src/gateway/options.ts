// Options of the ingest gateway: defaults in named constants, merged once, then validated.
import { withDefaults } from '../defaults.js';
import { InvalidArgumentError } from '../engine/errors.js';
import type { Principal } from './auth/scopes.js';

export const DEFAULT_HOST = '127.0.0.1';
export const DEFAULT_PORT = 4320;
export const DEFAULT_MAX_RECORD_BYTES = 1024 * 1024; // 1 MiB, as Kinesis
export const DEFAULT_MAX_BODY_BYTES = 16 * 1024 * 1024; // 16 MiB after decompression
export const DEFAULT_MAX_RECORDS_PER_REQUEST = 10_000;
export const DEFAULT_MAX_INFLIGHT_BYTES = 256 * 1024 * 1024; // bodies held in memory at once
export const DEFAULT_MAX_PENDING_APPENDS = 256; // requests waiting for the engine before 503
export const DEFAULT_BODY_TIMEOUT_MS = 30_000; // a body must arrive within this
export const DEFAULT_DRAIN_TIMEOUT_MS = 10_000; // SIGTERM waits this long for in-flight requests
export const DEFAULT_HEADERS_TIMEOUT_MS = 10_000; // a request's headers must arrive within this
export const DEFAULT_IDLE_TIMEOUT_MS = 30_000; // a keep-alive connection or HTTP/2 session without requests closes after this
export const DEFAULT_MAX_CONNECTIONS = 10_000;
export const DEFAULT_MAX_CONNECTIONS_PER_CLIENT = 256; // per client address
export const DEFAULT_RETRY_AFTER_S = 1;
export const DEFAULT_REGION = 'us-east-1';

export interface RateLimit {
  /** Sustained records per second per API key / access key. */
  recordsPerSecond: number;
  /** Records a client may send in one burst. Default: one second's worth. */
  burst?: number;
}

export interface GatewayOptions {
  /** Interface to bind. Default '127.0.0.1'. */
  host?: string;
  /** Port; 0 picks a free one. Default 4320. */
  port?: number;
  /** Largest record value in bytes. Default 1 MiB. */
  maxRecordBytes?: number;
  /** Largest request body in bytes, after gzip decompression. Default 16 MiB. */
  maxBodyBytes?: number;
  /** Most records in one native append request. Default 10,000. */
  maxRecordsPerRequest?: number;
  /** Bound on request bytes held in memory across all requests; beyond it 503 (or 429). Default 256 MiB. */
  maxInflightBytes?: number;
  /** Requests allowed to wait for the engine before new ones get 503. Default 256. */
  maxPendingAppends?: number;
  /** A request body must arrive completely within this many ms, or 408. Default 30 s. */
  bodyTimeoutMs?: number;
  /** On shutdown, in-flight requests get this long to finish. Default 10 s. */
  drainTimeoutMs?: number;
  /** A request's headers must arrive completely within this many ms, or 408 and the connection closes. Default 10 s. */
  headersTimeoutMs?: number;
  /** An HTTP/1.1 keep-alive connection or an HTTP/2 session with no request open closes after this many ms. Default 30 s. */
  idleTimeoutMs?: number;
  /** Open connections in all; past it new ones are refused. Default 10,000. */
  maxConnections?: number;
  /** Open connections of one client address; past it HTTP/1.1 gets 429 TooManyConnections, HTTP/2 a closed connection. Default 256. */
  maxConnectionsPerClient?: number;
  /** Per-client rate limit; unset means none. */
  rateLimit?: RateLimit;
  /** Clients: API keys and Kinesis key pairs. Unset or empty means open (no authentication). */
  principals?: Principal[];
  /** Region reported in Kinesis ARNs and accepted in SigV4 scopes. Default 'us-east-1'. */
  region?: string;
}

export type ResolvedGatewayOptions = Required<Omit<GatewayOptions, 'rateLimit'>> & Pick<GatewayOptions, 'rateLimit'>;

export function resolveGatewayOptions(options: GatewayOptions = {}): ResolvedGatewayOptions {
  const o = withDefaults({
    host: DEFAULT_HOST,
    port: DEFAULT_PORT,
    maxRecordBytes: DEFAULT_MAX_RECORD_BYTES,
    maxBodyBytes: DEFAULT_MAX_BODY_BYTES,
    maxRecordsPerRequest: DEFAULT_MAX_RECORDS_PER_REQUEST,
    maxInflightBytes: DEFAULT_MAX_INFLIGHT_BYTES,
    maxPendingAppends: DEFAULT_MAX_PENDING_APPENDS,
    bodyTimeoutMs: DEFAULT_BODY_TIMEOUT_MS,
    drainTimeoutMs: DEFAULT_DRAIN_TIMEOUT_MS,
    headersTimeoutMs: DEFAULT_HEADERS_TIMEOUT_MS,
    idleTimeoutMs: DEFAULT_IDLE_TIMEOUT_MS,
    maxConnections: DEFAULT_MAX_CONNECTIONS,
    maxConnectionsPerClient: DEFAULT_MAX_CONNECTIONS_PER_CLIENT,
    principals: [],
    region: DEFAULT_REGION,
  }, options);
  for (const field of ['maxRecordBytes', 'maxBodyBytes', 'maxRecordsPerRequest', 'maxInflightBytes', 'maxPendingAppends', 'bodyTimeoutMs', 'headersTimeoutMs', 'idleTimeoutMs', 'maxConnections', 'maxConnectionsPerClient'] as const) {
    if (!Number.isInteger(o[field]) || o[field] < 1) throw new InvalidArgumentError(`gateway.${field} must be a positive integer, got ${o[field]}`, field);
  }
  if (!Number.isInteger(o.port) || o.port < 0 || o.port > 65535) throw new InvalidArgumentError(`gateway.port must be 0-65535, got ${o.port}`, 'port');
  if (o.maxBodyBytes > o.maxInflightBytes) {
    throw new InvalidArgumentError('gateway.maxBodyBytes must not exceed gateway.maxInflightBytes', 'maxBodyBytes');
  }
  return o;
}

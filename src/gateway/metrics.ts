// The gateway's metrics, and what each request tells the access log: one place defines them, the
// request handler and the API edges fill them in.
import { randomUUID } from 'node:crypto';
import type { Counter, Histogram } from 'prom-client';
import { BATCH_BUCKETS, DURATION_BUCKETS, type Metrics } from '../observe/metrics.js';
import type { Engine } from '../engine/engine.js';
import type { PipelineRun } from '../dataflow/runtime/runner.js';
import { consumersOf } from '../observe/pipelines.js';
import type { Admission } from './admission.js';
import type { GatewayRequest, GatewayResponse } from './request.js';

export type IngestResult = 'stored' | 'duplicate' | 'failed';

export interface GatewayMetrics {
  requests: Counter<'route' | 'method' | 'status'>;
  duration: Histogram<'route' | 'method'>;
  ingestRecords: Counter<'stream' | 'api' | 'result'>;
  ingestBytes: Counter<'stream' | 'api'>;
  rejections: Counter<'code' | 'status'>;
  appendSeconds: Histogram<'engine'>;
  appendRecords: Histogram<'engine'>;
}

/** How long one read of the streams serves the gauges of a scrape (each gauge collects on its own). */
const STREAMS_SNAPSHOT_MS = 1_000;

/** Streams' partitions and the pipelines reading them, read from the engine when scraped. */
export function streamMetrics(m: Metrics, engine: Engine, runs: () => readonly PipelineRun[]): void {
  type Snapshot = { streams: number; partitions: { stream: string; partition: number; next: number; bytes: number }[]; lag: { group: string; stream: string; partition: number; records: number | null; seconds: number }[] };
  let taken: { at: number; snapshot: Promise<Snapshot> } | undefined;
  const snapshot = () => {
    if (!taken || performance.now() - taken.at > STREAMS_SNAPSHOT_MS) taken = { at: performance.now(), snapshot: read() };
    return taken.snapshot;
  };
  const read = async (): Promise<Snapshot> => {
    const out: Snapshot = { streams: 0, partitions: [], lag: [] };
    const streams = await engine.listStreams();
    out.streams = streams.length;
    for (const s of streams) {
      for (const p of (await engine.describeStream(s.name)).partitionInfo) out.partitions.push({ stream: s.name, partition: p.partition, next: p.next, bytes: p.bytes });
      for (const c of await consumersOf(runs(), engine, s.name)) {
        for (const p of c.partitions) out.lag.push({ group: c.group, stream: s.name, partition: p.partition, records: p.lagRecords, seconds: p.lagSeconds });
      }
    }
    return out;
  };
  type L = 'stream' | 'partition';
  m.gauge('sluice_streams', 'Streams', [], async (g) => g.set((await snapshot()).streams));
  m.gauge<L>('sluice_stream_next_offset', 'The offset the next record appended to a partition gets', ['stream', 'partition'], async (g) => {
    g.reset();
    for (const p of (await snapshot()).partitions) g.set({ stream: p.stream, partition: p.partition }, p.next);
  });
  m.gauge<L>('sluice_stream_retained_bytes', 'Bytes a partition\'s retained records take in storage', ['stream', 'partition'], async (g) => {
    g.reset();
    for (const p of (await snapshot()).partitions) g.set({ stream: p.stream, partition: p.partition }, p.bytes);
  });
  m.gauge<'group' | L>('sluice_consumer_lag_records', 'Records of a partition a consumer (a pipeline) has not read (sqlite; nats offsets are not contiguous)', ['group', 'stream', 'partition'], async (g) => {
    g.reset();
    for (const l of (await snapshot()).lag) if (l.records !== null) g.set({ group: l.group, stream: l.stream, partition: l.partition }, l.records);
  });
  m.gauge<'group' | L>('sluice_consumer_lag_seconds', 'Age of the oldest record of a partition a consumer has not read (0 when caught up)', ['group', 'stream', 'partition'], async (g) => {
    g.reset();
    for (const l of (await snapshot()).lag) g.set({ group: l.group, stream: l.stream, partition: l.partition }, l.seconds);
  });
}

/** The gateway's metrics in `m` (defined once: a second gateway on the same registry shares them). */
export function gatewayMetrics(m: Metrics, admission?: Admission, connections?: () => number): GatewayMetrics {
  if (admission) {
    m.gauge('sluice_admission_inflight_bytes', 'Request body bytes held in memory now', [], (g) => g.set(admission.stats.inflightBytes));
    m.gauge('sluice_admission_pending_appends', 'Appends waiting for the engine now', [], (g) => g.set(admission.stats.pendingAppends));
  }
  if (connections) m.gauge('sluice_http_connections', 'Open client connections', [], (g) => g.set(connections()));
  return {
    requests: m.counter('sluice_http_requests_total', 'Requests answered, by route, method and status', ['route', 'method', 'status']),
    duration: m.histogram('sluice_http_request_duration_seconds', 'Time from a request\'s arrival to its answer, by route', ['route', 'method'], DURATION_BUCKETS),
    ingestRecords: m.counter('sluice_ingest_records_total', 'Records sent to be appended, by stream, API (native, kinesis) and result (stored, duplicate, failed)', ['stream', 'api', 'result']),
    ingestBytes: m.counter('sluice_ingest_bytes_total', 'Bytes of the records sent to be appended, by stream and API', ['stream', 'api']),
    appendSeconds: m.histogram('sluice_engine_append_duration_seconds', 'Time the engine took to store an append (one request\'s records)', ['engine'], DURATION_BUCKETS),
    appendRecords: m.histogram('sluice_engine_append_records', 'Records in one append', ['engine'], BATCH_BUCKETS),
    rejections: m.counter('sluice_http_rejections_total', 'Requests refused, by error code and status (429 and 503 are throttling; the rest, bad or unauthorised requests)', ['code', 'status']),
  };
}

/** What the access log says of a request, filled in as it is handled. */
export interface RequestInfo {
  id: string;
  /** The route's pattern (e.g. /v1/streams/:name/records, kinesis:PutRecords): a bounded label. */
  route: string;
  stream?: string;
  /** Records of an append, by result. */
  records?: { stored: number; duplicate: number; failed: number };
  /** The error code of a refusal. */
  code?: string;
  /** Bytes received (as read by the gateway). */
  bytesIn?: number;
}

const REQUEST_ID = /^[A-Za-z0-9._:@/+=-]{1,128}$/;

/** The request's id: the client's `X-Request-Id` when it is a sane token, else a new one; echoed in the answer. */
export function requestIdOf(req: GatewayRequest, res: GatewayResponse): string {
  const given = req.headers['x-request-id'];
  const id = typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
  res.setHeader('x-request-id', id);
  return id;
}

/** Counts an append's records by result into the metrics and the request's info. */
export function countAppend(metrics: GatewayMetrics, info: RequestInfo | undefined, stream: string, api: 'native' | 'kinesis', results: readonly ({ error: unknown } | { duplicate?: true })[], bytes: number): void {
  let stored = 0;
  let duplicate = 0;
  let failed = 0;
  for (const r of results) {
    if ('error' in r) failed++;
    else if (r.duplicate) duplicate++;
    else stored++;
  }
  if (stored) metrics.ingestRecords.inc({ stream, api, result: 'stored' }, stored);
  if (duplicate) metrics.ingestRecords.inc({ stream, api, result: 'duplicate' }, duplicate);
  if (failed) metrics.ingestRecords.inc({ stream, api, result: 'failed' }, failed);
  if (bytes) metrics.ingestBytes.inc({ stream, api }, bytes);
  if (info) {
    info.stream = stream;
    info.records = { stored, duplicate, failed };
  }
}

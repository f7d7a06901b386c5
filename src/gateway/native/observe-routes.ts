// What the process knows about itself, over HTTP: /metrics (Prometheus text), the observe API the
// dashboard reads, and the pipelines (decision 017). A key needs `admin` on `*` or the
// `$metrics` scope; an open gateway lets everyone read.
import type { HTTPMethod } from 'find-my-way';
import { canReadMetrics, OPEN_PRINCIPAL } from '../auth/scopes.js';
import { presentedKey } from '../auth/api-keys.js';
import { ForbiddenError } from '../errors.js';
import type { Gateway, RequestContext, RouteHandler } from '../gateway.js';
import { HttpError } from '../http-error.js';
import { sendJson } from '../request.js';
import { total } from '../../observe/metrics.js';
import { THROTTLES } from '../../observe/observer.js';
import { pipelineView } from '../../observe/pipelines.js';
import { dependenciesView } from '../../observe/dependencies.js';

export function observeRoutes(gw: Gateway): [HTTPMethod, string, RouteHandler][] {
  return [
    ['GET', '/metrics', (ctx) => metrics(gw, ctx)],
    ['GET', '/v1/observe/overview', (ctx) => overview(gw, ctx)],
    ['GET', '/v1/observe/series', (ctx) => series(gw, ctx)],
    ['GET', '/v1/observe/dependencies', (ctx) => dependencies(gw, ctx)],
    ['GET', '/v1/pipelines', (ctx) => pipelines(gw, ctx)],
    ['GET', '/v1/pipelines/:name', (ctx) => pipeline(gw, ctx)],
  ];
}

/** Refuses a key that may not read metrics (403), or none (401). */
function authorizeMetrics(gw: Gateway, req: RequestContext['req']): void {
  const principal = gw.principalOf(req);
  if (!canReadMetrics(principal)) throw new ForbiddenError(`key '${principal.id}' may not read metrics: it needs admin on '*' or the scope '$metrics'`, '$metrics', 'read');
}

async function metrics(gw: Gateway, { req, res }: RequestContext) {
  authorizeMetrics(gw, req);
  const text = await gw.observer.metricsText();
  res.writeHead(200, { 'content-type': gw.observer.metrics.contentType, 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

async function overview(gw: Gateway, { req, res }: RequestContext) {
  authorizeMetrics(gw, req);
  const o = gw.observer;
  const now = o.clock.now();
  const rejections = (await gw.metrics.rejections.get()).values;
  const count = (throttle: boolean) => rejections.reduce((n, v) => (THROTTLES.has(String(v.labels.code)) === throttle ? n + v.value : n), 0);
  const pipelines = o.runs.map((run) => {
    const stats = run.unitStats();
    const keyedMarks = stats.filter((s) => s.unit.startsWith('k')).map((s) => s.watermark).filter((w): w is number => w !== null);
    const watermark = keyedMarks.length ? Math.min(...keyedMarks) : null;
    const { health, lastError } = run.health();
    return {
      name: run.pipeline.name, health, units: stats.length, recordsPerSec: o.series.latest(`pipeline.${run.pipeline.name}.records`) ?? 0,
      watermark, watermarkLagS: watermark === null ? null : Math.max(0, (now - watermark) / 1000),
      late: stats.reduce((n, s) => n + s.late, 0), errors: stats.reduce((n, s) => n + s.errors, 0), lastError,
    };
  });
  sendJson(res, 200, {
    version: o.version, engine: gw.engine.kind, startedAt: o.startedAt, uptimeS: Math.round((now - o.startedAt) / 1000), open: gw.open,
    ingest: {
      recordsPerSec: o.series.latest('ingest.records') ?? 0, bytesPerSec: o.series.latest('ingest.bytes') ?? 0,
      rejectedPerSec: o.series.latest('ingest.rejected') ?? 0, throttledPerSec: o.series.latest('ingest.throttled') ?? 0,
      records: await total(gw.metrics.ingestRecords, (l) => l.result !== 'failed'), rejected: count(false), throttled: count(true),
    },
    streams: (await gw.engine.listStreams()).length,
    pipelines,
  });
}

async function series(gw: Gateway, { req, res, query }: RequestContext) {
  authorizeMetrics(gw, req);
  const s = gw.observer.series;
  const asked = (query.get('names') ?? '').split(',').map((n) => n.trim()).filter(Boolean);
  if (asked.length > 200) throw new HttpError(400, 'InvalidArgument', 'ask for at most 200 series at once', { field: 'names' });
  sendJson(res, 200, { intervalMs: s.intervalMs, names: s.names, series: Object.fromEntries(asked.map((n) => [n, s.get(n)])) });
}

async function dependencies(gw: Gateway, { req, res }: RequestContext) {
  authorizeMetrics(gw, req);
  sendJson(res, 200, dependenciesView(gw.observer.dependencyStats(), gw.dependencies?.serverBudget));
}

async function pipelines(gw: Gateway, { req, res }: RequestContext) {
  authorizeMetrics(gw, req);
  sendJson(res, 200, {
    pipelines: gw.observer.runs.map((run) => ({ name: run.pipeline.name, health: run.health().health, keyGroups: run.prepared.keyGroups, workers: run.workerCount, units: run.prepared.units.length })),
  });
}

async function pipeline(gw: Gateway, { req, res, params }: RequestContext) {
  authorizeMetrics(gw, req);
  const run = gw.observer.run(params.name!);
  if (!run) throw new HttpError(404, 'PipelineNotFound', `no pipeline '${params.name}' runs in this process`, { pipeline: params.name });
  sendJson(res, 200, await pipelineView(run, gw.observer.series, gw.engine, gw.observer.clock.now()));
}

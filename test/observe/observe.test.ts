// What a Sluice process tells its operator: Prometheus metrics whose counters equal known input,
// the observe API the dashboard reads, a request id and an access log line per request, who may
// read them, the series kept for charts, and unit failures logged when they change.
import { Writable } from 'node:stream';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import type { CommitUnit, Engine } from '../../src/engine/engine.js';
import { SqliteEngine } from '../../src/engine/sqlite/index.js';
import { PipelineRun } from '../../src/dataflow/runtime/runner.js';
import { Gateway } from '../../src/gateway/gateway.js';
import { createApiKey } from '../../src/gateway/auth/api-keys.js';
import type { Principal } from '../../src/gateway/auth/scopes.js';
import { createLogger } from '../../src/observe/log.js';
import { Metrics } from '../../src/observe/metrics.js';
import { Observer } from '../../src/observe/observer.js';
import { campaignPipeline } from '../dataflow/fixtures/campaigns.js';
import { tempDir } from '../support/tmp.js';
import { parsePrometheus, type Family } from '../support/prometheus.js';


const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
});

/** Log lines written by a logger, as parsed JSON. */
function capture() {
  const lines: Record<string, any>[] = [];
  const destination = new Writable({ write(chunk, _enc, done) { for (const l of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(l)); done(); } });
  return { lines, log: createLogger({ level: 'info', destination }) };
}

async function start(o: { principals?: Principal[]; clock?: ManualClock } = {}) {
  const engine = new SqliteEngine({ dataDir: tempDir(), retentionIntervalMs: 0, ...(o.clock ? { clock: o.clock } : {}) });
  const { lines, log } = capture();
  const observer = new Observer({ metrics: new Metrics(), log, clock: o.clock, version: '9.9.9' });
  const gw = new Gateway(engine, { port: 0, principals: o.principals ?? [] }, o.clock, observer);
  await gw.listen();
  closers.push(async () => (await gw.close(), await engine.close()));
  return { gw, engine, observer, lines, url: gw.url };
}

const scrape = async (url: string, headers: Record<string, string> = {}) => {
  const res = await fetch(`${url}/metrics`, { headers });
  return { status: res.status, type: res.headers.get('content-type'), families: res.status === 200 ? parsePrometheus(await res.text()) : new Map<string, Family>() };
};
/** The sum of a family's samples with these labels (a histogram: its _count). */
const value = (families: Map<string, Family>, name: string, labels: Record<string, string> = {}) => {
  const f = families.get(name);
  const sample = f?.type === 'histogram' ? `${name}_count` : name;
  return f?.samples.filter((m) => m.name === sample && Object.entries(labels).every(([k, v]) => m.labels[k] === v)).reduce((n, m) => n + m.value, 0) ?? 0;
};
const post = (url: string, path: string, body: string, headers: Record<string, string> = {}) =>
  fetch(url + path, { method: 'POST', body, headers: { 'content-type': 'application/x-ndjson', ...headers } });

describe('/metrics', () => {
  it('parses as Prometheus text, and its ingest counters equal what was sent, by stream, API and result', async () => {
    const { url, engine } = await start();
    await engine.createStream('views', { partitions: 2 });
    await engine.createStream('clicks', { partitions: 1 });
    const lines = (n: number, from = 0) => Array.from({ length: n }, (_, i) => JSON.stringify({ i: i + from })).join('\n');
    expect((await post(url, '/v1/streams/views/records', lines(700), { 'idempotency-key': 'a' })).status).toBe(200);
    expect((await post(url, '/v1/streams/views/records', lines(700), { 'idempotency-key': 'a' })).status).toBe(200); // all duplicates
    expect((await post(url, '/v1/streams/clicks/records', lines(30))).status).toBe(200);
    expect((await post(url, '/v1/streams/clicks/records', `1\n${'['.repeat(600)}${']'.repeat(600)}`)).status).toBe(200); // 1 stored, 1 failed (too deep)
    expect((await post(url, '/v1/streams/nope/records', '1')).status).toBe(404);
    const kinesis = { StreamName: 'views', Records: Array.from({ length: 5 }, (_, i) => ({ PartitionKey: `k${i}`, Data: Buffer.from(`{"k":${i}}`).toString('base64') })) };
    const k = await fetch(url, { method: 'POST', body: JSON.stringify(kinesis), headers: { 'x-amz-target': 'Kinesis_20131202.PutRecords', 'content-type': 'application/x-amz-json-1.1' } });
    expect(k.status).toBe(200);
    const m = await scrape(url);
    expect(m.status).toBe(200);
    expect(m.type).toMatch(/^text\/plain; version=0\.0\.4/);
    const ingest = (labels: Record<string, string>) => value(m.families, 'sluice_ingest_records_total', labels);
    expect(ingest({ stream: 'views', api: 'native', result: 'stored' })).toBe(700);
    expect(ingest({ stream: 'views', api: 'native', result: 'duplicate' })).toBe(700);
    expect(ingest({ stream: 'clicks', api: 'native', result: 'stored' })).toBe(31);
    expect(ingest({ stream: 'clicks', api: 'native', result: 'failed' })).toBe(1);
    expect(ingest({ stream: 'views', api: 'kinesis', result: 'stored' })).toBe(5);
    expect(value(m.families, 'sluice_http_requests_total', { route: '/v1/streams/:name/records', status: '200' })).toBe(4);
    expect(value(m.families, 'sluice_http_requests_total', { route: '/v1/streams/:name/records', status: '404' })).toBe(1);
    expect(value(m.families, 'sluice_http_requests_total', { route: 'kinesis:PutRecords', status: '200' })).toBe(1);
    expect(value(m.families, 'sluice_http_rejections_total', { code: 'StreamNotFound', status: '404' })).toBe(1);
    expect(value(m.families, 'sluice_http_request_duration_seconds', { route: '/v1/streams/:name/records' })).toBe(5); // its count
    expect(value(m.families, 'sluice_admission_inflight_bytes')).toBe(0);
    expect([...m.families.keys()]).toContain('sluice_http_connections');
    expect(m.families.get('sluice_ingest_records_total')).toMatchObject({ type: 'counter', help: expect.stringMatching(/^Records sent to be appended/) });
  });

  it('is readable by an admin or a $metrics key on a gateway with keys; another key is 403, none 401', async () => {
    const admin = createApiKey('admin');
    const reader = createApiKey('reader');
    const writer = createApiKey('writer');
    const { url } = await start({ principals: [
      { id: 'admin', apiKeyHash: admin.hash, scopes: { '*': ['admin'] } },
      { id: 'reader', apiKeyHash: reader.hash, scopes: { $metrics: ['read'] } },
      { id: 'writer', apiKeyHash: writer.hash, scopes: { events: ['write'] } },
    ] });
    expect((await scrape(url)).status).toBe(401);
    expect((await scrape(url, { authorization: `Bearer ${writer.key}` })).status).toBe(403);
    expect((await scrape(url, { authorization: `Bearer ${reader.key}` })).status).toBe(200);
    expect((await scrape(url, { authorization: `Bearer ${admin.key}` })).status).toBe(200);
    const refused = await fetch(`${url}/v1/observe/overview`, { headers: { 'x-api-key': writer.key } });
    expect([refused.status, ((await refused.json()) as any).error.message]).toEqual([403, "key 'writer' may not read metrics: it needs admin on '*' or the scope '$metrics'"]);
  });
});

describe('requests', () => {
  it('carry a request id (the client\'s X-Request-Id when sane, else a new one) and write one access line each', async () => {
    const { url, engine, lines } = await start();
    await engine.createStream('views', { partitions: 1 });
    const given = await post(url, '/v1/streams/views/records', '1\n2\n3', { 'x-request-id': 'client-req-7' });
    expect(given.headers.get('x-request-id')).toBe('client-req-7');
    const made = await fetch(`${url}/healthz`, { headers: { 'x-request-id': 'has spaces and way too much' } });
    expect(made.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    const access = lines.filter((l) => l.reqId);
    expect(access).toHaveLength(2);
    expect(access[0]).toMatchObject({ level: 30, reqId: 'client-req-7', method: 'POST', route: '/v1/streams/:name/records', status: 200, stream: 'views', records: { stored: 3, duplicate: 0, failed: 0 }, bytesIn: 5, msg: 'POST /v1/streams/:name/records 200' });
    expect(access[0]!.ms).toBeGreaterThanOrEqual(0);
    expect(access[1]).toMatchObject({ reqId: made.headers.get('x-request-id'), route: '/healthz', status: 200 });
  });
});

describe('pipelines', () => {
  /** The campaign pipeline over known input, in this thread, watched by the gateway's observer. */
  async function campaigns(clock?: ManualClock) {
    const g = await start({ clock });
    const { engine, observer } = g;
    await engine.createStream('ads', { partitions: 2 });
    await engine.createStream('views', { partitions: 3 });
    const enc = (v: unknown) => Buffer.from(JSON.stringify(v));
    const ads = Array.from({ length: 20 }, (_, i) => ({ adId: `a${i}`, campaignId: `c${i % 3}`, ts: i * 1000 }));
    const views = Array.from({ length: 400 }, (_, i) => ({ adId: `a${i % 20}`, ts: 30_000 + i * 10, ip: 'x', cost: 1 }));
    await engine.append('ads', ads.map((a) => ({ key: a.adId, value: enc(a) })));
    await engine.append('views', views.map((v) => ({ key: v.adId, value: enc(v) })));
    // In a batch of its own after the views: older than its partition's watermark, so late for the join.
    await engine.append('views', [{ key: 'a1', value: enc({ adId: 'a1', ts: 0, ip: 'x', cost: 7 }) }]);
    const run = await PipelineRun.start(engine, campaignPipeline(), { tablesPath: join(tempDir(), 'tables.db'), keyGroups: 4, metrics: observer.metrics });
    closers.push(() => run.stop());
    observer.watch([run]);
    await settled(run, 421);
    return { ...g, run, enc };
  }
  const sourceRecords = (run: PipelineRun) => run.unitStats().filter((s) => s.unit.startsWith('s.')).reduce((n, s) => n + s.records, 0);
  async function settled(run: PipelineRun, records: number) {
    for (let i = 0; i < 1500 && !(sourceRecords(run) === records && run.idle); i++) await new Promise((r) => setTimeout(r, 20));
    expect(sourceRecords(run)).toBe(records);
    expect(run.idle).toBe(true); // every unit done (keyed ones too), not only the sources
  }

  it('reports each unit\'s records, epochs and commits in /metrics: the source units\' records sum to the input', async () => {
    const { url, run } = await campaigns();
    const m = await scrape(url);
    expect(value(m.families, 'sluice_pipeline_records_total', { pipeline: 'campaigns' })).toBeGreaterThanOrEqual(420);
    const sources = m.families.get('sluice_pipeline_records_total')!.samples.filter((x) => x.labels.unit!.startsWith('s.'));
    expect(sources.reduce((n, x) => n + Number(x.value), 0)).toBe(421);
    const join = String(run.pipeline.nodes.find((n) => n.kind === 'join')!.id);
    const window = String(run.pipeline.nodes.find((n) => n.kind === 'window')!.id);
    expect(value(m.families, 'sluice_pipeline_late_records_total', { pipeline: 'campaigns' })).toBe(1);
    expect(value(m.families, 'sluice_pipeline_step_late_records_total', { pipeline: 'campaigns', node: join })).toBe(1); // judged by a source unit, counted against the join
    expect(value(m.families, 'sluice_pipeline_step_late_records_total', { pipeline: 'campaigns', node: window })).toBe(0);
    const epochs = value(m.families, 'sluice_pipeline_epochs_total', { pipeline: 'campaigns' });
    expect(epochs).toBe(run.unitStats().reduce((n, s) => n + s.epochs, 0));
    expect(value(m.families, 'sluice_pipeline_commit_duration_seconds', { pipeline: 'campaigns' })).toBe(epochs - run.unitStats().filter((s) => s.unit.startsWith('t.')).reduce((n, s) => n + s.epochs, 0));
    expect(value(m.families, 'sluice_pipeline_step_records_total', { pipeline: 'campaigns', node: '0' })).toBe(20); // the ads source emitted its 20 records
    expect(value(m.families, 'sluice_pipeline_up', { pipeline: 'campaigns', health: 'ok' })).toBe(1);
  });

  it('describes a pipeline for the dashboard: the plan as a graph, keyed steps with watermarks, units with counters and lag', async () => {
    const { url, run } = await campaigns();
    const list = (await (await fetch(`${url}/v1/pipelines`)).json()) as any;
    expect(list).toEqual({ pipelines: [{ name: 'campaigns', health: 'ok', keyGroups: 4, workers: 0, units: run.prepared.units.length }] });
    const view = (await (await fetch(`${url}/v1/pipelines/campaigns`)).json()) as any;
    expect(view.graph.nodes.map((n: any) => [n.kind, n.label])).toEqual(run.pipeline.nodes.map((n) => [n.kind, expect.any(String)]));
    expect(view.graph.nodes.find((n: any) => n.kind === 'join').label).toBe('interval join -10m..0');
    expect(view.graph.nodes.find((n: any) => n.kind === 'window').label).toBe('tumbling 1m');
    expect(view.graph.nodes.find((n: any) => n.kind === 'sink')).toMatchObject({ label: 'table per_campaign', table: 'per_campaign' });
    expect(view.graph.edges.find((e: any) => e.from === 0)).toMatchObject({ records: 20 });
    expect(view.steps.map((s: any) => s.node)).toEqual(run.pipeline.nodes.filter((n) => n.kind === 'join' || n.kind === 'window').map((n) => n.id));
    expect(view.units.filter((u: any) => u.kind === 'source').map((u: any) => u.lagRecords)).toEqual([0, 0, 0, 0, 0]);
    expect(view.units.filter((u: any) => u.kind === 'keyed')).toHaveLength(8);
    const join = run.pipeline.nodes.find((n) => n.kind === 'join')!.id;
    expect(view.steps.map((s: any) => [s.node, s.late])).toEqual(view.steps.map((s: any) => [s.node, s.node === join ? 1 : 0]));
    expect(view).toMatchObject({ lateStream: 'campaigns-late', errorStream: 'campaigns-errors', health: 'ok', lastError: null, late: 1, errors: 0 });
    expect((await fetch(`${url}/v1/pipelines/nope`)).status).toBe(404);
    const stream = (await (await fetch(`${url}/v1/streams/views`)).json()) as any;
    expect(stream.consumers).toEqual([{ group: 'pipeline:campaigns', partitions: [0, 1, 2].map((partition) => ({ partition, offset: stream.partitionInfo[partition].next, lagRecords: 0, lagSeconds: 0 })) }]);
    expect(stream.partitionInfo.every((p: any) => p.bytes > 0)).toBe(true);
  });

  it("gives each unit its records per second over the series' last interval, on the observer's clock", async () => {
    const clock = new ManualClock(1_000_000);
    const { url, run, engine, observer, enc } = await campaigns(clock);
    // Readings taken (a gauge of the pipeline gets a point at every one; a rate only from its second).
    const readings = async (n: number) => {
      for (let i = 0; i < 1000 && observer.series.get('pipeline.campaigns.watermarkLag').length < n; i++) await new Promise((r) => setTimeout(r, 10));
      expect(observer.series.get('pipeline.campaigns.watermarkLag').length).toBe(n);
    };
    clock.advance(5_000); // the first reading with the pipeline in it: where its units' rates start
    await readings(1);
    await engine.append('views', Array.from({ length: 50 }, (_, i) => ({ key: `a${i % 20}`, value: enc({ adId: `a${i % 20}`, ts: 40_000 + i, ip: 'y', cost: 1 }) })));
    await settled(run, 471);
    clock.advance(5_000);
    await readings(2);
    expect(observer.series.get('pipeline.campaigns.records')).toEqual([[clock.now(), 10]]);
    const view = (await (await fetch(`${url}/v1/pipelines/campaigns`)).json()) as any;
    const views = view.units.filter((u: any) => u.kind === 'source' && u.stream === 'views');
    expect(views.reduce((n: number, u: any) => n + u.recordsPerSec, 0)).toBe(10); // 50 records in 5 s
    expect(view.units.filter((u: any) => u.kind === 'source' && u.stream === 'ads').map((u: any) => u.recordsPerSec)).toEqual([0, 0]);
    expect(view.units.filter((u: any) => u.kind === 'keyed').reduce((n: number, u: any) => n + u.recordsPerSec, 0)).toBeGreaterThan(0);
  });
});

describe('the overview and series', () => {
  it('sample counters every 5 s of the clock into rates, and the overview shows the latest', async () => {
    const clock = new ManualClock(1_000_000);
    const { url, engine, observer } = await start({ clock });
    await engine.createStream('views', { partitions: 1 });
    await observer.series; // (started by listen)
    for (let i = 0; i < 50 && clock.sleeping === 0; i++) await new Promise((r) => setTimeout(r, 5));
    expect((await post(url, '/v1/streams/views/records', Array(100).fill('1').join('\n'))).status).toBe(200);
    clock.advance(5_000);
    for (let i = 0; i < 50 && observer.series.get('ingest.records').length === 0; i++) await new Promise((r) => setTimeout(r, 5));
    expect((await post(url, '/v1/streams/views/records', Array(250).fill('1').join('\n'))).status).toBe(200);
    clock.advance(5_000);
    for (let i = 0; i < 50 && observer.series.get('ingest.records').length < 2; i++) await new Promise((r) => setTimeout(r, 5));
    const series = (await (await fetch(`${url}/v1/observe/series?names=ingest.records,stream.views.records`)).json()) as any;
    expect(series.intervalMs).toBe(5000);
    expect(series.series['ingest.records'].map((p: [number, number]) => p[1]).slice(-1)).toEqual([50]); // 250 records in 5 s
    expect(series.names).toContain('stream.views.records');
    const overview = (await (await fetch(`${url}/v1/observe/overview`)).json()) as any;
    expect(overview).toMatchObject({ version: '9.9.9', engine: 'sqlite', open: true, streams: 1, pipelines: [], ingest: { recordsPerSec: 50, records: 350, rejected: 0, throttled: 0 } });
  });
});

describe('failures logged when they change', () => {
  it('a unit whose commits keep failing is logged once when it starts failing and once when it recovers, and is failing meanwhile', async () => {
    const engine = new SqliteEngine({ dataDir: tempDir(), retentionIntervalMs: 0 });
    closers.push(() => engine.close());
    await engine.createStream('ads', { partitions: 1 });
    await engine.createStream('views', { partitions: 1 });
    await engine.append('views', [{ value: Buffer.from(JSON.stringify({ adId: 'a', ts: 1, ip: 'x', cost: 1 })) }]);
    let failing = 3;
    const faulty = new Proxy(engine, {
      get(target, prop) {
        if (prop !== 'commit') return typeof target[prop as keyof Engine] === 'function' ? (target[prop as keyof Engine] as Function).bind(target) : target[prop as keyof Engine];
        return async (unit: CommitUnit) => {
          if (unit.offsets || !unit.state?.some((s) => s.key.includes('/units/s.views.0')) || failing-- <= 0) return target.commit(unit);
          throw new Error('disk full');
        };
      },
    });
    const lines: [string, string][] = [];
    const run = await PipelineRun.start(faulty, campaignPipeline(), { tablesPath: join(tempDir(), 'tables.db'), keyGroups: 2, log: (l, level = 'warn') => lines.push([level, l]) });
    closers.push(() => run.stop());
    let sawFailing = false;
    for (let i = 0; i < 400 && !(lines.length >= 2); i++) {
      if (run.health().health === 'failing') sawFailing = true;
      await new Promise((r) => setTimeout(r, 25));
    }
    expect(sawFailing).toBe(true);
    expect(lines).toEqual([['warn', 'unit s.views.0: disk full; retrying from its last commit'], ['info', 'unit s.views.0: recovered after 3 failed epochs']]);
    expect(run.health()).toEqual({ health: 'ok', lastError: null });
    expect(run.unitStats().find((s) => s.unit === 's.views.0')!.failures).toBe(3);
  }, 30_000);
});

describe('streams in /metrics', () => {
  it('show each partition\'s next offset and retained bytes, and how far a pipeline reading them is behind', async () => {
    const { url, engine, gw } = await start();
    await engine.createStream('views', { partitions: 2 });
    await engine.append('views', [{ partition: 0, value: Buffer.alloc(100) }, { partition: 0, value: Buffer.alloc(100) }, { partition: 1, value: Buffer.alloc(50) }]);
    const m = await scrape(url);
    expect(value(m.families, 'sluice_stream_next_offset', { stream: 'views', partition: '0' })).toBe(2);
    expect(value(m.families, 'sluice_stream_next_offset', { stream: 'views', partition: '1' })).toBe(1);
    const info = await engine.describeStream('views');
    expect(value(m.families, 'sluice_stream_retained_bytes', { stream: 'views', partition: '0' })).toBe(info.partitionInfo[0]!.bytes);
    expect(value(m.families, 'sluice_streams')).toBe(1);
    await post(url, '/v1/streams/views/records', '1\n2');
    const after = await scrape(url);
    expect(value(after.families, 'sluice_engine_append_records', { engine: 'sqlite' })).toBe(1); // one append (its count)
    expect(gw.engine.kind).toBe('sqlite');
  });
});

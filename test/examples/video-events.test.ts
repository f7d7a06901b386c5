// examples/video-events as its README runs it: `sluice dev` with the example's configuration as a
// real process, the producer putting player events through the Kinesis API with the AWS SDK, then
// what the README says to look at — the streams, `sluice logs enrich`, `sluice functions describe`,
// `sluice invoke heartbeat` — checked exactly.
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SqliteEngine } from '../../src/engine/sqlite/index.js';
import { enrich, malformedRecords, plan, deviceClass, progressBucket, type EnrichedEvent } from '../../examples/video-events/events.js';
import { eventually, readStream, runNode, sluice, startDev, type DevServer } from '../support/sluice.js';
import { tempDir } from '../support/tmp.js';

const EXAMPLE = fileURLToPath(new URL('../../examples/video-events/', import.meta.url));
const CONFIG = join(EXAMPLE, 'sluice.config.ts');
const PRODUCER = join(EXAMPLE, 'producer.ts');
const COUNT = 200;
const SEED = 7;
const START = '2026-01-01T00:00:00.000Z';
const MINUTE = 60_000;

interface FailureMessage {
  requestContext: { condition: string; approximateInvokeCount: number; functionArn: string };
  responseContext?: { functionError?: string };
  KinesisBatchInfo: { batchSize: number; shardId: string; startSequenceNumber: string; endSequenceNumber: string };
  records: { partitionKey: string; sequenceNumber: string; data: string }[];
}

describe('the enrichment rules', () => {
  it('bucket watch progress by quarter, a completed video as finished, and class devices by user agent', () => {
    expect([0, 0.249, 0.25, 0.5, 0.75, 0.999, 1].map((p) => progressBucket(p, 'play'))).toEqual(['0-25%', '0-25%', '25-50%', '50-75%', '75-100%', '75-100%', 'finished']);
    expect(progressBucket(0.4, 'complete')).toBe('finished');
    expect(['iPhone OS', 'Linux; Android 14; Pixel 8) Mobile', 'iPad; CPU OS', 'Linux; Android 13; SM-X710)', 'Windows NT 10.0', 'SMART-TV; Linux; Tizen', 'Roku/DVP-12.5', 'curl/8'].map(deviceClass))
      .toEqual(['mobile', 'mobile', 'tablet', 'tablet', 'desktop', 'tv', 'tv', 'other']);
    const e = plan({ count: 1, seed: 1, start: 0 })[0]!.good!;
    expect(enrich({ ...e, position: 150, duration: 600, event: 'pause', userAgent: 'Macintosh' })).toEqual({ ...e, position: 150, duration: 600, event: 'pause', userAgent: 'Macintosh', progress: 0.25, progressBucket: '25-50%', deviceClass: 'desktop' });
  });
});

describe('examples/video-events', () => {
  let server: DevServer;
  // The heartbeat's schedule as if Sluice had been stopped over its last two due times (the latest
  // 20 s before start): the schedule then runs once, for the latest, as soon as Sluice starts
  // (missedRuns: 'once'), instead of a minute later; the kept state is what a real run leaves.
  const latestDue = Math.floor(Date.now() / 1000) * 1000 - 20_000;
  beforeAll(async () => {
    const dataDir = join(tempDir(), 'data');
    const engine = new SqliteEngine({ dataDir, retentionIntervalMs: 0 });
    const kept = { expression: 'rate(1 minute)', anchor: latestDue - 10 * MINUTE, lastRun: latestDue - 2 * MINUTE };
    await engine.commit({ state: [{ key: 'fn-schedule:heartbeat:heartbeat-schedule', value: Buffer.from(JSON.stringify(kept)) }] });
    await engine.close();
    // Without PostgreSQL and a webhook (the pipeline test sets them: video-events-pipeline.test.ts).
    server = await startDev({ config: CONFIG, dataDir, env: { VIDEO_EVENTS_PG: '', VIDEO_EVENTS_ALERT_URL: '' } });
  }, 90_000);
  afterAll(async () => {
    expect(await server?.stop()).toBe(0);
  });

  it('enriches every good player event exactly once, sends each malformed record alone to player-events-failed with its data, and logs each invocation', async () => {
    const produced = await runNode(PRODUCER, ['--endpoint', server.url, '--count', String(COUNT), '--seed', String(SEED), '--start', START]);
    expect([produced.code, produced.stdout]).toEqual([0, `put ${COUNT + 6} records to player-events at ${server.url}: ${COUNT} player events, 6 malformed; 5 PutRecords calls, 0 records sent again\n`]);

    // Done: every input record committed past, nothing in flight; then nothing more may arrive.
    await eventually('enrich to process every record', async () => {
      const d = await describeJson(server, 'enrich');
      const m = d.mappings[0]!;
      return m.recordsDelivered + m.recordsDiscarded === COUNT + 6 && m.partitions.every((p) => p.lag === 0 && p.batchesInFlight === 0) ? d : undefined;
    }, { timeoutMs: 60_000 });

    const records = plan({ count: COUNT, seed: SEED, start: Date.parse(START) });
    const enriched = await readStream(server.url, 'enriched-events');
    const byId = (a: EnrichedEvent, b: EnrichedEvent) => a.eventId.localeCompare(b.eventId);
    expect(enriched.map((r) => r.value as EnrichedEvent).sort(byId)).toEqual(records.filter((r) => r.good).map((r) => enrich(r.good!)).sort(byId));
    expect(enriched.every((r) => r.key === (r.value as EnrichedEvent).sessionId)).toBe(true);
    // A session's events keep their order (the producer stamps ts in order).
    const sessions = new Map<string, typeof enriched>();
    for (const r of enriched) sessions.set(r.key!, [...(sessions.get(r.key!) ?? []), r]);
    for (const list of sessions.values()) expect(list.map((r) => (r.value as EnrichedEvent).ts)).toEqual(list.map((r) => (r.value as EnrichedEvent).ts).sort((a, b) => a - b));

    const failures = (await readStream(server.url, 'player-events-failed')).map((r) => r.value as FailureMessage);
    const failedData = failures.flatMap((f) => f.records.map((r) => ({ partitionKey: r.partitionKey, data: r.data })));
    const sortData = (a: { data: string }, b: { data: string }) => a.data.localeCompare(b.data);
    expect(failedData.sort(sortData)).toEqual(malformedRecords().map((m) => ({ partitionKey: m.partitionKey, data: Buffer.from(m.data).toString('base64') })).sort(sortData));
    for (const f of failures) {
      // Reported (not a function error), alone, after the two retries (and the invocations that halved its batch).
      expect(f.requestContext).toMatchObject({ condition: 'RetryAttemptsExhausted', functionArn: 'arn:aws:lambda:us-east-1:000000000000:function:enrich' });
      expect(f.requestContext.approximateInvokeCount).toBeGreaterThanOrEqual(3);
      expect(f.responseContext?.functionError).toBeUndefined();
      expect([f.KinesisBatchInfo.batchSize, f.records.length, f.KinesisBatchInfo.startSequenceNumber]).toEqual([1, 1, f.records[0]!.sequenceNumber]);
    }

    const [logs, described] = await Promise.all([
      sluice(['logs', 'enrich', '--limit', '1000', '--url', server.url]),
      sluice(['functions', 'describe', 'enrich', '--url', server.url]),
    ]);
    expect(logs.code).toBe(0);
    const lines = logs.stdout.trimEnd().split('\n');
    const starts = lines.filter((l) => /^START RequestId: [0-9a-f-]{36} Version: \$LATEST$/.test(l));
    expect(starts.length).toBeGreaterThan(6);
    expect(lines.filter((l) => /^END RequestId: [0-9a-f-]{36}$/.test(l))).toHaveLength(starts.length);
    expect(lines.filter((l) => /^REPORT RequestId: [0-9a-f-]{36}\tDuration: [\d.]+ ms\tBilled Duration: \d+ ms\tMemory Size: 128 MB\tMax Memory Used: \d+ MB/.test(l))).toHaveLength(starts.length);
    const forwarded = lines.map((l) => /\tINFO\tforwarded (\d+) enriched events to enriched-events$/.exec(l)).filter((m) => m !== null);
    expect(forwarded.reduce((n, m) => n + Number(m[1]), 0)).toBe(COUNT); // each event forwarded once
    expect(lines.some((l) => /\tWARN\tmalformed record shardId-\d{12}:\d+: not JSON: /.test(l))).toBe(true);
    expect(described.code).toBe(0);
    expect(described.stdout).toContain(`records delivered, 6 discarded`);
    expect(described.stdout).toMatch(new RegExp(`stream trigger 'player-events': Enabled, OK, iterator age 0 ms, lag 0; \\d+ invocations, \\d+ errors, ${COUNT} records delivered, 6 discarded, \\d+ retries\\n`));
    expect(described.stdout).toContain('permissions: enriched-events write');
  }, 120_000); // (about 20 s; the deadlines are for a machine busy with other work)

  it('without VIDEO_EVENTS_PG and VIDEO_EVENTS_ALERT_URL, says once that the views go to SQLite and the alerts to the stream video-alerts only', () => {
    const lines = server.stderr().split('\n').filter((l) => l.startsWith('video-minutes: '));
    expect(lines).toEqual([
      'video-minutes: VIDEO_EVENTS_PG is not set: per-minute views go to the SQLite table video_minute (tables.db in the data directory)',
      'video-minutes: VIDEO_EVENTS_ALERT_URL is not set: error-rate alerts go to the stream video-alerts only',
    ]);
  });

  it('runs the heartbeat on its schedule (once for the runs missed while stopped, then every minute), and invoked with a scheduled event, appends that beat to heartbeats', async () => {
    const rule = 'arn:aws:events:us-east-1:000000000000:rule/heartbeat-schedule';
    const scheduled = await eventually('the missed heartbeat to run', async () => {
      const beats = (await readStream(server.url, 'heartbeats')).map((r) => r.value as { type: string; time: string; rule: string; requestId: string });
      return beats.length > 0 ? beats : undefined;
    }, { timeoutMs: 30_000 });
    // One beat for the two due times missed, stamped with the latest; any later one is on the minute's phase.
    expect(scheduled[0]).toEqual({ type: 'heartbeat', time: new Date(latestDue).toISOString().replace('.000Z', 'Z'), rule, requestId: expect.stringMatching(/^[0-9a-f-]{36}$/) });
    expect(scheduled.slice(1).filter((b) => b.rule !== rule || (Date.parse(b.time) - latestDue) % MINUTE !== 0 || Date.parse(b.time) <= latestDue)).toEqual([]);
    const d = await describeJson(server, 'heartbeat');
    expect(d.schedules.map((s) => [s.name, s.expression, s.state, s.missed, s.catchUps])).toEqual([['heartbeat-schedule', 'rate(1 minute)', 'ENABLED', 2, 1]]);
    const next = d.schedules[0]!.nextRuns.map((t) => Date.parse(t));
    expect(next).toHaveLength(5);
    expect(next.map((t) => (t - latestDue) % MINUTE)).toEqual([0, 0, 0, 0, 0]);
    expect(next.slice(1).map((t, i) => t - next[i]!)).toEqual([MINUTE, MINUTE, MINUTE, MINUTE]);

    const event = { version: '0', id: 'test', 'detail-type': 'Scheduled Event', source: 'aws.events', time: '2026-01-01T00:01:00Z', resources: [rule], detail: {} };
    const invoked = await sluice(['invoke', 'heartbeat', '--payload', JSON.stringify(event), '--url', server.url]);
    expect(invoked.code).toBe(0);
    const beat = JSON.parse(invoked.stdout) as { requestId: string };
    expect(beat).toEqual({ type: 'heartbeat', time: '2026-01-01T00:01:00Z', rule, requestId: expect.stringMatching(/^[0-9a-f-]{36}$/) });
    const stored = await readStream(server.url, 'heartbeats');
    expect(stored.filter((r) => (r.value as { requestId: string }).requestId === beat.requestId).map((r) => [r.key, r.value])).toEqual([['heartbeat', beat]]);
  }, 60_000);
});

interface Described {
  mappings: { recordsDelivered: number; recordsDiscarded: number; partitions: { lag?: number; batchesInFlight: number }[] }[];
  schedules: { name: string; expression: string; state: string; nextRuns: string[]; missed: number; catchUps: number }[];
}

async function describeJson(server: DevServer, fn: string): Promise<Described> {
  const res = await fetch(`${server.url}/v1/functions/${fn}`);
  if (res.status !== 200) throw new Error(`GET /v1/functions/${fn}: ${res.status}`);
  return (await res.json()) as Described;
}

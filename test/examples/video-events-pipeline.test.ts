// examples/video-events end to end, as its README runs it against a local PostgreSQL: a real
// `sluice dev` with the example's configuration, a real PostgreSQL (test/support/postgres.ts) and
// the example's own receiver.ts as a process. After the producer's known input (four minutes of
// player events, a broken video among them), what the README says to look at is checked against a
// batch computation of the same input: the table `video_minute`, the receiver's verified alerts,
// and the archive's objects in the bucket `video-events`, listed and read with @aws-sdk/client-s3.
import { GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALERT_ERROR_RATE, ALERT_MIN_EVENTS, BROKEN_VIDEO, enrich, plan, type EnrichedEvent, type PlayerEvent } from '../../examples/video-events/events.js';
import { startPostgres, type PostgresServer } from '../support/postgres.js';
import { eventually, readStream, runNode, startDev, TSX_LOADER, type DevServer, type ReadRecord } from '../support/sluice.js';
import { tempDir } from '../support/tmp.js';

const EXAMPLE = fileURLToPath(new URL('../../examples/video-events/', import.meta.url));
const MINUTE = 60_000;
const COUNT = 960; // four minutes of events, one every 250 ms
const SEED = 3;
const START = '2026-01-01T00:00:00.000Z';
const SECRET = 'video-events-test-secret-0123456789';

/** A good event five minutes after the input: the minutes before it close; its own stays open. */
const LATER: PlayerEvent = { eventId: 'e-later', sessionId: 's-0', videoId: 'v-0', event: 'play', position: 0, duration: 300, userAgent: 'Roku/DVP-12.5', ts: Date.parse(START) + 5 * MINUTE };

interface Minute {
  key: string;
  windowStart: number;
  windowEnd: number;
  views: number;
  events: number;
  errors: number;
}

/** The batch computation: per video per minute, distinct sessions, events and errors, ordered by video then minute. */
function batchMinutes(events: PlayerEvent[]): Minute[] {
  const groups = new Map<string, { key: string; windowStart: number; sessions: Set<string>; events: number; errors: number }>();
  for (const e of events) {
    const windowStart = Math.floor(e.ts / MINUTE) * MINUTE;
    const id = `${e.videoId}\0${windowStart}`;
    const g = groups.get(id) ?? { key: e.videoId, windowStart, sessions: new Set<string>(), events: 0, errors: 0 };
    g.sessions.add(e.sessionId);
    g.events++;
    if (e.event === 'error') g.errors++;
    groups.set(id, g);
  }
  return [...groups.values()]
    .map((g) => ({ key: g.key, windowStart: g.windowStart, windowEnd: g.windowStart + MINUTE, views: g.sessions.size, events: g.events, errors: g.errors }))
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : a.windowStart - b.windowStart)); // byte order, as COLLATE "C"
}

/** The receiver's line for an alert, as receiver.ts prints it (without its record id). */
const alertLine = (m: Minute) => `alert ${m.key} ${new Date(m.windowStart).toISOString()}: ${m.errors} of ${m.events} events were errors (${Math.round((m.errors / m.events) * 1000) / 1000} > ${ALERT_ERROR_RATE})`;

/** receiver.ts as a process: resolves once it listens, with its URL and its output so far. */
function startReceiver(): Promise<{ child: ChildProcess; url: string; stdout: () => string; stderr: () => string }> {
  const child = spawn(process.execPath, ['--import', TSX_LOADER, join(EXAMPLE, 'receiver.ts'), '--port', '0'], { env: { ...process.env, VIDEO_EVENTS_ALERT_SECRET: SECRET }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  return new Promise((resolve, reject) => {
    child.on('exit', (code) => reject(new Error(`receiver.ts exited with ${code}: ${stderr}`)));
    child.stdout!.on('data', (d) => {
      stdout += d;
      const m = /listening on (http:\/\/\S+)/.exec(stdout);
      if (m) resolve({ child, url: m[1]!, stdout: () => stdout, stderr: () => stderr });
    });
  });
}

describe('examples/video-events with PostgreSQL and a webhook receiver', () => {
  let postgres: PostgresServer;
  let connection: string;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let server: DevServer;
  let db: pg.Client;
  const records = plan({ count: COUNT, seed: SEED, start: Date.parse(START) });
  const good = records.filter((r) => r.good).map((r) => r.good!);

  beforeAll(async () => {
    [postgres, receiver] = await Promise.all([startPostgres(), startReceiver()]);
    connection = await postgres.createDatabase('video');
    server = await startDev({
      config: join(EXAMPLE, 'sluice.config.ts'),
      dataDir: join(tempDir(), 'data'),
      env: { VIDEO_EVENTS_PG: connection, VIDEO_EVENTS_ALERT_URL: receiver.url, VIDEO_EVENTS_ALERT_SECRET: SECRET },
    });
    db = new pg.Client({ connectionString: connection });
    await db.connect();
  }, 90_000);
  afterAll(async () => {
    await db?.end();
    receiver?.child.kill('SIGTERM');
    expect(await server?.stop()).toBe(0);
    await postgres?.destroy();
  });

  it('the input has minutes above the error-rate threshold, of the broken video and no other, and minutes below it', () => {
    const minutes = batchMinutes(good);
    const alerted = minutes.filter((m) => m.events >= ALERT_MIN_EVENTS && m.errors / m.events > ALERT_ERROR_RATE);
    expect(minutes).toHaveLength(23 * 4);
    expect(alerted.map((m) => [m.key, m.windowStart - Date.parse(START)])).toEqual([[BROKEN_VIDEO, MINUTE], [BROKEN_VIDEO, 2 * MINUTE]]);
    expect(minutes.filter((m) => m.errors > 0).length).toBeGreaterThan(alerted.length);
  });

  it('counts every closed minute of every video into video_minute exactly, alerts each bad minute once with a valid signature, and archives every enriched event in exactly one object', async () => {
    const produced = await runNode(join(EXAMPLE, 'producer.ts'), ['--endpoint', server.url, '--count', String(COUNT), '--seed', String(SEED), '--start', START]);
    expect([produced.code, produced.stderr]).toEqual([0, '']);
    expect(produced.stdout).toMatch(new RegExp(`^put ${COUNT + 6} records to player-events at .*: ${COUNT} player events, 6 malformed; \\d+ PutRecords calls, 0 records sent again\\n$`));
    await eventually('enrich to forward every good event', async () => ((await streamEnd(server.url, 'enriched-events')) === COUNT ? true : undefined), { timeoutMs: 60_000 });

    // A later minute's event closes the four minutes (the watermark passes their end once the
    // other partitions are quiet for the source's idleTimeout); its own minute stays open.
    const later = await fetch(`${server.url}/v1/streams/player-events/records`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(LATER) });
    expect([later.status, ((await later.json()) as { stored: number }).stored]).toEqual([200, 1]);

    const expected = batchMinutes(good);
    const rows = await eventually('video_minute to hold every closed minute', async () => {
      const r = await tableRows(db);
      return r !== undefined && r.length >= expected.length ? r : undefined;
    }, { timeoutMs: 45_000 });
    expect(rows).toEqual(expected);
    // Exactly once: one offset row per sink partition, in the same database.
    const offsets = await db.query<{ pipeline: string; sink: string }>('SELECT pipeline, sink FROM _sluice_offsets');
    expect(new Set(offsets.rows.map((o) => `${o.pipeline} ${o.sink}`))).toEqual(new Set(['video-minutes pg.video_minute']));

    // Every alert the input calls for, each printed once by the receiver, verified; none other.
    const wanted = expected.filter((m) => m.events >= ALERT_MIN_EVENTS && m.errors / m.events > ALERT_ERROR_RATE);
    const printed = await eventually('the receiver to print every alert', () => {
      const lines = receiver.stdout().trimEnd().split('\n').filter((l) => l.startsWith('alert '));
      return lines.length >= wanted.length ? lines : undefined;
    }, { timeoutMs: 30_000 });
    expect(printed.map((l) => l.replace(/ id=\S+$/, '')).sort()).toEqual(wanted.map(alertLine).sort());
    expect(printed.every((l) => /id=video-minutes\/webhook\.video-alerts\/\d+\/\d+\.\d+$/.test(l))).toBe(true); // <pipeline>/<sink>/<generation>/<offset>.<index>
    expect(receiver.stderr()).toBe('');
    // The stream video-alerts holds the same alerts; nothing was late or refused.
    const stream = (await readStream(server.url, 'video-alerts')).map((r) => r.value as { key: string; windowStart: number });
    expect(stream.map((a) => `${a.key} ${a.windowStart}`).sort()).toEqual(wanted.map((m) => `${m.key} ${m.windowStart}`).sort());
    expect([await streamEnd(server.url, 'video-minutes-late'), await streamEnd(server.url, 'video-minutes-errors')]).toEqual([0, 0]);

    // The archive: every enriched event (the later one too) in exactly one object, keyed by its
    // partition, first offset and the UTC day its first record arrived.
    const enriched = await readStream(server.url, 'enriched-events');
    expect(enriched).toHaveLength(COUNT + 1);
    const s3 = new S3Client({ endpoint: server.url, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: 'any', secretAccessKey: 'any' } });
    try {
      const objects = await eventually('the archive to hold every enriched event', async () => {
        const listed = await listAll(s3);
        const held = await Promise.all(listed.map(async (key) => ({ key, records: Number((await s3.send(new HeadObjectCommand({ Bucket: 'video-events', Key: key }))).Metadata?.['sluice-records']) })));
        return held.reduce((n, o) => n + o.records, 0) === COUNT + 1 ? held : undefined;
      }, { timeoutMs: 30_000, stepMs: 500 });
      const byPlace = new Map(enriched.map((r) => [`${r.partition}:${r.offset}`, r]));
      const lines: EnrichedEvent[] = [];
      for (const { key, records } of objects) {
        const m = /^(\d{4})\/(\d{2})\/(\d{2})\/enriched-events-(\d+)-(\d+)\.ndjson\.gz$/.exec(key);
        expect(m, key).not.toBeNull();
        const first = byPlace.get(`${m![4]}:${m![5]}`) as ReadRecord;
        expect(`${m![1]}-${m![2]}-${m![3]}`).toBe(new Date(first.timestamp).toISOString().slice(0, 10));
        const body = await s3.send(new GetObjectCommand({ Bucket: 'video-events', Key: key }));
        const held = gunzipSync(await body.Body!.transformToByteArray()).toString('utf8').trimEnd().split('\n').map((l) => JSON.parse(l) as EnrichedEvent);
        expect(held).toHaveLength(records);
        expect(held[0]).toEqual(first.value); // the object starts at the offset its key names
        lines.push(...held);
      }
      const byId = (a: EnrichedEvent, b: EnrichedEvent) => a.eventId.localeCompare(b.eventId);
      expect(lines.sort(byId)).toEqual([...good, LATER].map(enrich).sort(byId));
    } finally {
      s3.destroy();
    }
  }, 150_000);

  it('the receiver refuses a POST with a wrong, missing or stale signature, and prints nothing for it', async () => {
    const body = JSON.stringify({ records: [{ id: 'forged/1', key: ['v-1', 0], value: { key: 'v-1', windowStart: 0, errors: 9, events: 9, errorRate: 1, threshold: ALERT_ERROR_RATE } }] });
    const now = Math.floor(Date.now() / 1000);
    const sign = (secret: string, t: number) => `t=${t},v1=${createHmac('sha256', secret).update(`${t}.${body}`).digest('hex')}`;
    const post = (headers: Record<string, string>) => fetch(receiver.url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body }).then((r) => r.status);
    expect(await post({ 'sluice-signature': sign('not-the-secret-at-all', now) })).toBe(401);
    expect(await post({})).toBe(401);
    expect(await post({ 'sluice-signature': sign(SECRET, now - 3600) })).toBe(401); // a captured POST replayed an hour later
    await eventually('three refusals logged', () => (receiver.stderr().match(/refused a POST/g)?.length === 3 ? true : undefined));
    expect(receiver.stdout()).not.toContain('forged');
    expect(await post({ 'sluice-signature': sign(SECRET, now) })).toBe(200); // the same body signed right is taken
    await eventually('the signed one printed', () => (receiver.stdout().includes('id=forged/1') ? true : undefined));
  });
});

/** The next offset summed over a stream's partitions (its record count when nothing was trimmed); 0 when it does not exist. */
async function streamEnd(url: string, stream: string): Promise<number> {
  const res = await fetch(`${url}/v1/streams/${encodeURIComponent(stream)}`);
  if (res.status === 404) return 0;
  const info = (await res.json()) as { partitionInfo: { next: number }[] };
  return info.partitionInfo.reduce((n, p) => n + p.next, 0);
}

/** video_minute's rows with the minutes as epoch ms, ordered like batchMinutes; undefined before the table exists. */
async function tableRows(db: pg.Client): Promise<Minute[] | undefined> {
  const exists = await db.query(`SELECT to_regclass('video_minute') AS t`);
  if (exists.rows[0].t === null) return undefined;
  const r = await db.query<{ key: string; windowStart: Date; windowEnd: Date; views: number; events: number; errors: number }>('SELECT key, "windowStart", "windowEnd", views, events, errors FROM video_minute ORDER BY key COLLATE "C", "windowStart"');
  return r.rows.map((x) => ({ key: x.key, windowStart: x.windowStart.getTime(), windowEnd: x.windowEnd.getTime(), views: x.views, events: x.events, errors: x.errors }));
}

async function listAll(s3: S3Client): Promise<string[]> {
  const keys: string[] = [];
  for (let token: string | undefined; ;) {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: 'video-events', ContinuationToken: token }));
    keys.push(...(page.Contents ?? []).map((o) => o.Key!));
    if (!page.IsTruncated) return keys;
    token = page.NextContinuationToken;
  }
}

// A degradation run, not a test: examples/video-events under a real `sluice dev` (its function, its
// archive, its video-minutes pipeline into a real PostgreSQL), fed steady player traffic stamped
// with the real time, with PostgreSQL stopped for 30 s across a minute's end and started again.
// Measured: the PostgreSQL dependency's calls, attempts and retries while it is down (retries per
// call), breaker transitions, budget refusals; the sluice process' RSS by phase (sampled from /proc
// every 100 ms); the rows waiting at recovery and the time until the sink has caught up with its
// input (its offsets in _sluice_offsets reach the end of its internal stream as it was at recovery).
// At the end the table is checked against the traffic sent (every closed minute exactly). One JSON line.
// Usage: node --import tsx bench/sinks/degradation.ts [--rate 400] [--videos 5000] [--outage 30]
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { startPostgres } from '../../test/support/postgres.js';

const arg = (name: string, d: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : d;
};
const RATE = arg('rate', 400); // player events a second
const VIDEOS = arg('videos', 5000);
const OUTAGE_MS = arg('outage', 30) * 1000;
const SESSIONS = 20_000;
const TICK_MS = 100;
const MINUTE = 60_000;
const OUT_OF_ORDERNESS_MS = 5000; // the pipeline's source option
const PG_SINK = 'pg.video_minute';
const ROOT = fileURLToPath(new URL('../../', import.meta.url));

type Phase = 'warm' | 'outage' | 'catchUp' | 'after';
let phase: Phase = 'warm';
const rssPeak: Record<Phase, number> = { warm: 0, outage: 0, catchUp: 0, after: 0 };

const log = (m: string) => process.stderr.write(`degradation: ${m}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs: number, stepMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(stepMs);
  }
}

/** `sluice dev` with the example's configuration as a process; resolves with its URL once it listens. */
async function startSluice(dataDir: string, env: NodeJS.ProcessEnv) {
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'src/cli/bin.ts'), 'dev', '--port', '0', '--data-dir', dataDir, '--config', join(ROOT, 'examples/video-events/sluice.config.ts')], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  const url = await until('sluice dev to listen', async () => /listening on (http:\/\/\S+)/.exec(stderr)?.[1], 90_000);
  return { child, url, stderr: () => stderr };
}

/** The PostgreSQL dependency's counters from /metrics (summed over its label sets). */
async function dependency(url: string): Promise<Record<string, number>> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const out: Record<string, number> = {};
  for (const line of text.split('\n')) {
    const m = /^sluice_dependency_(\w+?)(?:_total)?\{([^}]*dependency="postgres:[^}]*)\} (\S+)$/.exec(line);
    if (!m) continue;
    if (m[1] === 'breaker_state') continue;
    const state = /state="([^"]+)"/.exec(m[2]!)?.[1];
    const camel = (x: string) => x.replace(/[_-](\w)/g, (_, c: string) => c.toUpperCase());
    const name = camel(state && m[1] === 'breaker_transitions' ? `to_${state}` : m[1]!);
    out[name] = (out[name] ?? 0) + Number(m[3]);
  }
  return out;
}
const delta = (a: Record<string, number>, b: Record<string, number>) => Object.fromEntries(Object.keys({ ...a, ...b }).map((k) => [k, (b[k] ?? 0) - (a[k] ?? 0)]));

/** The sum of a stream's partitions' next offsets. */
async function streamEnd(url: string, stream: string): Promise<number> {
  const res = await fetch(`${url}/v1/streams/${encodeURIComponent(stream)}`);
  if (res.status !== 200) return 0;
  return ((await res.json()) as { partitionInfo: { next: number }[] }).partitionInfo.reduce((n, p) => n + p.next, 0);
}

/** What the traffic sent, per video per minute (the batch computation the table must equal). */
const sent = new Map<string, { sessions: Set<string>; events: number; errors: number }>();
let sentEvents = 0;
let maxTs = 0;
let seq = 0;
// A seeded generator, so runs send the same mix.
let state = 0x9e3779b9;
const random = () => {
  state = (state + 0x6d2b79f5) >>> 0;
  let t = state;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};
const TYPES = ['play', 'pause', 'seek', 'buffer', 'complete', 'ad_start'] as const;

function events(n: number, ts: number) {
  const out = [];
  for (let i = 0; i < n; i++) {
    const session = Math.floor(random() * SESSIONS);
    const videoId = `v-${Math.floor(random() * VIDEOS)}`;
    const event = random() < 0.03 ? 'error' : TYPES[Math.floor(random() * TYPES.length)]!;
    const e = { eventId: `d-${seq++}`, sessionId: `s-${session}`, videoId, event, position: 10, duration: 600, userAgent: 'Roku/DVP-12.5', ts };
    const id = `${videoId}\0${Math.floor(ts / MINUTE) * MINUTE}`;
    const g = sent.get(id) ?? { sessions: new Set<string>(), events: 0, errors: 0 };
    g.sessions.add(e.sessionId);
    g.events++;
    if (event === 'error') g.errors++;
    sent.set(id, g);
    out.push(e);
  }
  sentEvents += n;
  maxTs = Math.max(maxTs, ts);
  return out;
}

/** Appends RATE events a second, stamped now, in order, until stopped. */
function traffic(url: string) {
  let stop = false;
  let failed = 0;
  const done = (async () => {
    let owed = 0;
    for (let next = Date.now(); !stop; ) {
      owed += (RATE * TICK_MS) / 1000;
      const n = Math.floor(owed);
      owed -= n;
      const res = await fetch(`${url}/v1/streams/player-events/records`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(events(n, Date.now())) });
      if (res.status !== 200 || ((await res.json()) as { failed: number }).failed) failed++;
      next += TICK_MS;
      await sleep(Math.max(0, next - Date.now()));
    }
  })();
  return { stop: async () => ((stop = true), await done, failed) };
}

const postgres = await startPostgres();
const dataDir = mkdtempSync(join(tmpdir(), 'sluice-degradation-'));
const connection = await postgres.createDatabase('video');
const sluice = await startSluice(dataDir, { VIDEO_EVENTS_PG: connection, VIDEO_EVENTS_ALERT_URL: '' });
const pid = sluice.child.pid!;
const rssMiB = () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;
const sampler = setInterval(() => (rssPeak[phase] = Math.max(rssPeak[phase], rssMiB())), 100);
// A pool: it replaces connections PostgreSQL's stop broke.
const db = new pg.Pool({ connectionString: connection, max: 2 });
db.on('error', () => {});
const offsets = async () => {
  try {
    const r = await db.query<{ n: string }>('SELECT coalesce(sum(next), 0) AS n FROM _sluice_offsets WHERE sink = $1', [PG_SINK]);
    return Number(r.rows[0]!.n);
  } catch {
    return 0; // not created yet
  }
};

try {
  const flow = traffic(sluice.url);
  log(`sluice dev at ${sluice.url}, ${RATE} events/s over ${VIDEOS} videos`);
  // Warm: until the first minute is in the table, then to 10 s before the next minute's end.
  await until('the first minute in video_minute', async () => ((await offsets()) > 0 ? true : undefined), 150_000, 500);
  const boundary = Math.ceil((Date.now() + 15_000) / MINUTE) * MINUTE;
  await sleep(boundary - 10_000 - Date.now());

  const before = await dependency(sluice.url);
  const rssAtOutage = rssMiB();
  phase = 'outage';
  log('stopping PostgreSQL');
  const downAt = Date.now();
  await postgres.stop();
  await sleep(OUTAGE_MS - (Date.now() - downAt));
  await postgres.start();
  const upAt = Date.now();
  phase = 'catchUp';
  const atRecovery = await dependency(sluice.url);
  const target = await streamEnd(sluice.url, `_sluice.video-minutes.t.${PG_SINK}`);
  const behind = target - (await offsets());
  log(`PostgreSQL back after ${upAt - downAt} ms; the sink is ${behind} messages behind its input`);
  const firstWrite = await until('a first write after recovery', async () => ((await offsets()) > target - behind ? Date.now() : undefined), 120_000, 50);
  const caughtUp = await until('the sink to catch up', async () => ((await offsets()) >= target ? Date.now() : undefined), 120_000, 50);
  const afterCatchUp = await dependency(sluice.url);
  phase = 'after';
  log(`caught up ${caughtUp - upAt} ms after recovery; running on past the next minute`);
  // One more minute ends and is written with PostgreSQL up.
  await sleep(Math.ceil((Date.now() + 1) / MINUTE) * MINUTE + OUT_OF_ORDERNESS_MS + 5000 - Date.now());
  const trafficFailures = await flow.stop();
  const rssAtEnd = rssMiB();

  // The check: once the sink has caught up with everything, every closed minute equals what was sent.
  await sleep(OUT_OF_ORDERNESS_MS + 2000); // the source's idleTimeout: every partition idle, the watermark at maxTs − 5 s
  const end = await until('the internal stream to settle', async () => {
    const a = await streamEnd(sluice.url, `_sluice.video-minutes.t.${PG_SINK}`);
    await sleep(1000);
    return a === (await streamEnd(sluice.url, `_sluice.video-minutes.t.${PG_SINK}`)) ? a : undefined;
  }, 60_000);
  await until('the sink to write everything', async () => ((await offsets()) >= end ? true : undefined), 60_000);
  const closedBefore = Math.floor((maxTs - OUT_OF_ORDERNESS_MS) / MINUTE) * MINUTE; // windows ending by the watermark
  const expected = [...sent].map(([id, g]) => {
    const [key, start] = id.split('\0') as [string, string];
    return { key, windowStart: Number(start), views: g.sessions.size, events: g.events, errors: g.errors };
  }).filter((r) => r.windowStart + MINUTE <= closedBefore);
  const table = await db.query<{ key: string; ws: string; views: number; events: number; errors: number }>('SELECT key, (extract(epoch from "windowStart") * 1000)::bigint AS ws, views, events, errors FROM video_minute WHERE "windowEnd" <= to_timestamp($1 / 1000.0)', [closedBefore]);
  const got = new Map(table.rows.map((r) => [`${r.key}\0${r.ws}`, `${r.views}/${r.events}/${r.errors}`]));
  const mismatches = expected.filter((e) => got.get(`${e.key}\0${e.windowStart}`) !== `${e.views}/${e.events}/${e.errors}`).length + Math.max(0, got.size - expected.length);
  const late = await streamEnd(sluice.url, 'video-minutes-late');
  const down = delta(before, atRecovery);
  const transitions = sluice.stderr().split('\n').filter((l) => /dependency 'postgres:[^']*': circuit/.test(l)).map((l) => /circuit (\S+ → \S+)/.exec(l)![1]!);
  const round = (n: number) => Math.round(n * 10) / 10;
  console.log(JSON.stringify({
    bench: 'sinks/degradation',
    rate: RATE, videos: VIDEOS, outageMs: upAt - downAt, eventsSent: sentEvents, trafficFailures,
    whileDown: { calls: down.calls ?? 0, attempts: down.attempts ?? 0, retries: down.retries ?? 0, retriesPerCall: down.calls ? round((down.retries ?? 0) / down.calls) : 0, failures: down.failures ?? 0, budgetRefusals: down.budgetRefusals ?? 0, breakerRejections: down.breakerRejections ?? 0 },
    recovery: { ...delta(atRecovery, afterCatchUp) },
    breakerLog: transitions,
    behindAtRecovery: behind, firstWriteMs: firstWrite - upAt, catchUpMs: caughtUp - upAt,
    rssPeakMiB: Object.fromEntries(Object.entries(rssPeak).map(([k, v]) => [k, round(v)])), rssAtOutageStartMiB: round(rssAtOutage), rssAtEndMiB: round(rssAtEnd),
    table: { closedMinutesRows: expected.length, mismatches, late },
    loadavg: loadavg().map((l) => round(l)),
  }));
} finally {
  await db.end();
  clearInterval(sampler);
  sluice.child.kill('SIGTERM');
  await new Promise((r) => sluice.child.once('exit', r));
  await postgres.destroy();
  rmSync(dataDir, { recursive: true, force: true });
}

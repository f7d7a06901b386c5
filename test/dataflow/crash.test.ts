// The campaign-metrics pipeline as a real process, killed with kill -9 at random points (4 times on
// sqlite, 2 on nats; SLUICE_CRASH_KILLS=20 for 20 and 10: the same code paths, more cycles) while input keeps arriving, restarted each time: the final table equals a
// brute-force batch computation over the same input exactly — nothing lost, nothing counted twice.
import Database from 'better-sqlite3';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import type { Engine } from '../../src/engine/engine.js';
import { openEngine, type EngineConfig } from '../../src/engine/open.js';
import { SqliteEngine } from '../../src/engine/sqlite/index.js';
import { startNats, type NatsServer } from '../support/nats.js';
import { isBot, STREAMS, Traffic, type AdServed, type Event } from '../../examples/campaign-metrics/events.js';
import { allRecords } from '../support/engines.js';
import { unpackShuffle } from '../../src/dataflow/runtime/wire.js';
import { startDev } from '../support/sluice.js';
import { tempDir } from '../support/tmp.js';

const PIPELINE = new URL('../../examples/campaign-metrics/pipeline.ts', import.meta.url).pathname;
const MIN = 60_000;

const servers: NatsServer[] = [];
afterAll(async () => {
  for (const s of servers) await s.stop();
});

/** 20 minutes of traffic at 40 events/s, then a record per partition far ahead so every window fires. */
function input(): Event[] {
  const t = new Traffic({ seed: 7, minutesLate: 0.03, hoursLate: 0.005 });
  const base = Date.UTC(2026, 0, 1); // in the past: event times past now + maxFutureSkew would be clamped
  const events: Event[] = [];
  for (let s = 0; s < 20 * 60; s += 10) events.push(...t.next(base + s * 1000, base + (s + 10) * 1000, 40));
  const end = base + 3 * 3600_000;
  for (let p = 0; p < 16; p++) {
    events.push({ stream: STREAMS.ads, value: { eventId: `end-ad-${p}`, adId: `end-${p}`, campaignId: 'end', ip: '10.0.0.1', score: 0, ts: end } });
    events.push({ stream: STREAMS.views, value: { eventId: `end-view-${p}`, adId: `end-${p}`, ip: '10.0.0.1', ts: end } });
    events.push({ stream: STREAMS.clicks, value: { eventId: `end-click-${p}`, adId: `end-${p}`, ip: '10.0.0.1', ts: end } });
  }
  return events;
}

/** The table, computed from the whole input at once. */
function bruteForce(events: Event[]): Map<string, { views: number; clicks: number }> {
  const ads = new Map<string, AdServed>();
  for (const e of events) if (e.stream === STREAMS.ads) ads.set(e.value.adId, e.value as AdServed);
  const rows = new Map<string, { views: number; clicks: number }>();
  for (const e of events) {
    if (e.stream === STREAMS.ads || isBot(e.value.ip)) continue;
    const ad = ads.get(e.value.adId);
    if (!ad || e.value.ts < ad.ts || e.value.ts > ad.ts + 10 * MIN || ad.campaignId === 'end') continue;
    const key = `${ad.campaignId}@${e.value.ts - (e.value.ts % MIN)}`;
    const r = rows.get(key) ?? { views: 0, clicks: 0 };
    if (e.stream === STREAMS.views) r.views++;
    else r.clicks++;
    rows.set(key, r);
  }
  return rows;
}

function table(path: string): Map<string, { views: number; clicks: number }> {
  if (!existsSync(path)) return new Map();
  const db = new Database(path, { readonly: true });
  try {
    const rows = db.prepare('SELECT key, windowStart, views, clicks FROM campaign_minute').all() as { key: string; windowStart: number; views: number; clicks: number }[];
    return new Map(rows.map((r) => [`${r.key}@${r.windowStart}`, { views: r.views, clicks: r.clicks }]));
  } catch {
    return new Map(); // not created yet
  } finally {
    db.close();
  }
}



/** `sluice dev` with the pipeline running. */
const run = (dir: string, config: string) => startDev({ dataDir: join(dir, 'data'), config, cwd: dir, readyWhen: "pipeline 'campaign-metrics'" });

/** `spanMs`: a run is killed at a random point up to this long after its first commit. */
async function crashes(KILLS: number, spanMs: number, dir: string, engineConfig: EngineConfig, open: () => Promise<Engine>): Promise<void> {
  const config = join(dir, 'sluice.config.ts');
  writeFileSync(config, `export default ${JSON.stringify({
    engine: engineConfig,
    streams: { [STREAMS.ads]: { partitions: 4 }, [STREAMS.views]: { partitions: 4 }, [STREAMS.clicks]: { partitions: 2 } },
    // Few values in memory: most of the join's state lives in the spill file and comes back from it.
    dataflow: { pipelines: [PIPELINE], workers: 2, batch: 128, keyGroups: 8, stateKeysInMemory: 20, tables: join(dir, 'tables.db') },
  })};\n`);
  const events = input();
  const want = bruteForce(events);
  const engine = await open();
  await engine.createStream(STREAMS.ads, { partitions: 4 });
  await engine.createStream(STREAMS.views, { partitions: 4 });
  await engine.createStream(STREAMS.clicks, { partitions: 2 });
  const chunk = Math.ceil(events.length / (KILLS + 1));
  const append = async (part: Event[]) => {
    for (const stream of Object.values(STREAMS)) {
      const records = part.filter((e) => e.stream === stream).map((e) => ({ key: e.value.adId, id: e.value.eventId, value: new TextEncoder().encode(JSON.stringify(e.value)) }));
      if (records.length) await engine.append(stream, records);
    }
  };
  // Progress: the sum of the versions of the pipeline's unit keys (one per committed epoch; not their chunks and intents).
  const units = '_sluice/pipelines/campaign-metrics/units/';
  const epochs = async () => [...(await engine.listState(units))].filter(([k]) => !k.slice(units.length).includes('/')).reduce((n, [, e]) => n + e.version, 0);
  const rowsAtKill: number[] = [];
  const epochsAtKill: number[] = [];
  for (let k = 0; k < KILLS; k++) {
    await append(events.slice(k * chunk, (k + 1) * chunk));
    const dev = await run(dir, config);
    const before = await epochs();
    while ((await epochs()) === before) await new Promise((r) => setTimeout(r, 5)); // work has begun
    // Every other run is killed only after the table grew past what every earlier kill left, so the kills
    // land at different stages by construction (a random point alone left 4 kills on nats all at one stage).
    if (k % 2 === 1) {
      const floor = Math.max(0, ...rowsAtKill);
      const until = Date.now() + 60_000;
      while (table(join(dir, 'tables.db')).size <= floor && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    }
    await new Promise((r) => setTimeout(r, Math.random() * spanMs)); // then a random point of the work
    await dev.kill9();
    rowsAtKill.push(table(join(dir, 'tables.db')).size);
    epochsAtKill.push(await epochs());
  }
  await append(events.slice(KILLS * chunk));
  // Every run committed work before it was killed, and the kills landed at different stages: each odd
  // kill past all earlier ones (2 kills: 2 stages at least; 4: 3).
  expect(epochsAtKill.every((e, i) => i === 0 || e > epochsAtKill[i - 1]!)).toBe(true);
  expect(rowsAtKill.every((n, i) => i % 2 === 0 || n > Math.max(...rowsAtKill.slice(0, i)))).toBe(true);
  expect(Math.max(...rowsAtKill)).toBeLessThan(want.size);

  const last = await run(dir, config);
  // Until the table equals the brute-force one (or the deadline: then the diff below shows why).
  const same = (got: Map<string, unknown>) => got.size === want.size && [...want].every(([k, v]) => JSON.stringify(got.get(k)) === JSON.stringify(v));
  const deadline = Date.now() + 90_000;
  let got = table(join(dir, 'tables.db'));
  while (!same(got) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
    got = table(join(dir, 'tables.db'));
  }
  // Stop it (finishing its epochs) and read again: nothing may change after the match.
  await last.stop();
  got = table(join(dir, 'tables.db'));
  const diff = [...new Set([...want.keys(), ...got.keys()])].filter((k) => JSON.stringify(want.get(k)) !== JSON.stringify(got.get(k)));
  if (diff.length > 0) console.log(await diagnose(engine, events, diff, last.stderr()));
  expect(diff.map((k) => [k, want.get(k), got.get(k)])).toEqual([]);
  expect(got.size).toBe(want.size);
  // Late records (the hours-late ones): each once, never twice, across all the kills.
  const late = (await allRecords(engine, 'campaign-metrics-late')).map((r) => JSON.parse(new TextDecoder().decode(r.value)).value.eventId as string);
  await engine.close();
  expect(late.length).toBeGreaterThan(0);
  expect(new Set(late).size).toBe(late.length);
  console.log(`crash test (${engineConfig.kind}): ${KILLS} kills, ${events.length} events, ${want.size} rows; rows at each kill: ${rowsAtKill.join(' ')}; epochs: ${epochsAtKill.join(' ')}`);
}

/** Where the records of differing rows went: the join's input (each view and click once?) and what the window step received. */
async function diagnose(engine: Engine, events: Event[], diff: string[], stderr: string): Promise<string> {
  const lines = [`crash test (${engine.kind}) differs in ${diff.length} rows; the last run said:\n${stderr.slice(-3000)}`];
  const late = await allRecords(engine, 'campaign-metrics-late');
  lines.push(`late records: ${late.length}, e.g. ${late.slice(0, 3).map((r) => new TextDecoder().decode(r.value)).join(' ')}`);
  const shuffles = (await engine.listStreams()).map((s) => s.name).filter((n) => n.startsWith('_sluice.campaign-metrics.k')).sort();
  for (const stream of shuffles) {
    const seen = new Map<string, number>();
    const received = new Map<string, { views: number; clicks: number }>();
    for (const r of await allRecords(engine, stream)) {
      for (const x of unpackShuffle(r.value)) {
        if (x[0] === 0) {
          const v = x[5] as { eventId?: string; campaignId?: string; kind?: string };
          if (v.eventId) seen.set(v.eventId, (seen.get(v.eventId) ?? 0) + 1);
          if (v.campaignId && v.kind && !v.eventId) {
            const k = `${v.campaignId}@${x[3] - (x[3] % MIN)}`;
            const row = received.get(k) ?? { views: 0, clicks: 0 };
            if (v.kind === 'view') row.views++;
            else row.clicks++;
            received.set(k, row);
          }
        } else if (x[0] === 1) {
          const acc = x[4] as { views: number; clicks: number };
          const k = `${x[1]}@${x[2]}`;
          const row = received.get(k) ?? { views: 0, clicks: 0 };
          received.set(k, { views: row.views + acc.views, clicks: row.clicks + acc.clicks });
        }
      }
    }
    if (seen.size > 0) {
      const wanted = events.filter((e) => e.stream !== STREAMS.ads && !isBot(e.value.ip)).map((e) => e.value.eventId);
      const missing = wanted.filter((id) => !seen.has(id));
      const twice = [...seen].filter(([, n]) => n > 1).map(([id]) => id);
      lines.push(`${stream}: ${seen.size} events; missing ${missing.length} (${missing.slice(0, 10).join(' ')}); more than once ${twice.length} (${twice.slice(0, 10).join(' ')})`);
    }
    if (received.size > 0) lines.push(`${stream}: received for the differing rows: ${diff.map((k) => `${k}=${JSON.stringify(received.get(k))}`).join(' ')}`);
  }
  return lines.join('\n');
}

const SQLITE_KILLS = Number(process.env.SLUICE_CRASH_KILLS ?? 4);
const NATS_KILLS = Math.max(2, Math.round(SQLITE_KILLS / 2));

it(`sqlite: survives ${SQLITE_KILLS} kill -9s: the final table equals the brute-force computation exactly`, async () => {
  const dir = tempDir();
  const dataDir = join(dir, 'data'); // as --data-dir says
  await crashes(SQLITE_KILLS, 1200, dir, { kind: 'sqlite', dataDir }, async () => new SqliteEngine({ dataDir }));
}, 300_000);

it(`nats: survives ${NATS_KILLS} kill -9s: the final table equals the brute-force computation exactly`, async () => {
  const nats = await startNats();
  servers.push(nats);
  const config: EngineConfig = { kind: 'nats', servers: nats.url, prefix: 'crash' };
  // Epochs take longer on nats: kills spread over more of the work.
  await crashes(NATS_KILLS, 3000, tempDir(), config, () => openEngine(config));
}, 300_000);

// `npm run demo`: posts realistic campaign traffic through the gateway (each batch with an
// Idempotency-Key, retried with the same key on failure, so nothing is stored twice) and shows
// the live per-campaign table the pipeline upserts.
import Database from 'better-sqlite3';
import { existsSync } from 'node:fs';
import type { DemoContext } from '../../src/cli/demo/index.js';
import { Traffic, type Event } from './events.js';

const RATE = 2_000; // events per second
const TICK_MS = 250;
const MINUTE_MS = 60_000;

export default async function demo({ url, tablesPath, runs, signal }: DemoContext): Promise<void> {
  const traffic = new Traffic({ seed: Date.now() % 1e9 });
  let sent = 0;
  let retries = 0;
  let last = Date.now();
  const startedAt = last;
  const render = setInterval(() => draw(tablesPath, runs, sent, retries, startedAt), 1000);
  try {
    while (!signal.aborted) {
      const now = Date.now();
      const events = traffic.next(last, now, RATE);
      last = now;
      const byStream = new Map<string, Event['value'][]>();
      for (const e of events) {
        const list = byStream.get(e.stream);
        if (list) list.push(e.value);
        else byStream.set(e.stream, [e.value]);
      }
      for (const [stream, values] of byStream) {
        retries += await post(url, stream, values, signal);
        sent += values.length;
      }
      await new Promise((r) => setTimeout(r, TICK_MS));
    }
  } finally {
    clearInterval(render);
  }
}

/** Posts one batch; on 429/503 or a network error, retries with the same Idempotency-Key. */
async function post(url: string, stream: string, values: unknown[], signal: AbortSignal): Promise<number> {
  const key = `demo-${stream}-${(values[0] as { eventId: string }).eventId}`;
  const body = values.map((v) => JSON.stringify(v)).join('\n');
  for (let attempt = 0; ; attempt++) {
    try {
      const res = await fetch(`${url}/v1/streams/${stream}/records`, { method: 'POST', headers: { 'content-type': 'application/x-ndjson', 'idempotency-key': key }, body, signal });
      await res.arrayBuffer();
      if (res.ok) return attempt;
      if (res.status !== 429 && res.status !== 503) throw new Error(`POST ${stream}: ${res.status}`);
    } catch (e) {
      if (signal.aborted) return attempt;
      if ((e as Error).message.startsWith('POST')) throw e;
    }
    await new Promise((r) => setTimeout(r, Math.min(2000, 50 * 2 ** attempt) * (0.5 + Math.random())));
  }
}

/** A row's note: the minute the demo started in holds only part of a minute's traffic; earlier ones only late events. */
function noteOf(windowStart: number, startedAt: number): string {
  if (windowStart + MINUTE_MS <= startedAt) return '  (before the demo: late events only)';
  return windowStart < startedAt ? `  (partial: traffic began ${new Date(startedAt).toISOString().slice(11, 19)})` : '';
}

function draw(tablesPath: string, runs: DemoContext['runs'], sent: number, retries: number, startedAt: number): void {
  const lines = ['Sluice demo: campaign-metrics (Ctrl-C to stop)', ''];
  const stats = runs.flatMap((r) => r.unitStats());
  const late = stats.reduce((n, s) => n + s.late, 0);
  lines.push(`events posted ${sent} (retried batches ${retries}); pipeline units ${stats.length}, late records ${late} → stream campaign-metrics-late`, '');
  if (existsSync(tablesPath)) {
    const db = new Database(tablesPath, { readonly: true, fileMustExist: true });
    try {
      const rows = db.prepare(`SELECT key, windowStart, views, clicks FROM campaign_minute WHERE windowStart >= (SELECT max(windowStart) FROM campaign_minute) - 180000 ORDER BY windowStart DESC, views DESC LIMIT 15`).all() as { key: string; windowStart: number; views: number; clicks: number }[];
      lines.push('minute (UTC)  campaign       views  clicks    CTR');
      for (const r of rows) {
        const minute = new Date(r.windowStart).toISOString().slice(11, 16);
        lines.push(`${minute.padEnd(13)} ${r.key.padEnd(13)} ${String(r.views).padStart(6)} ${String(r.clicks).padStart(7)} ${((100 * r.clicks) / Math.max(1, r.views)).toFixed(1).padStart(5)}%${noteOf(r.windowStart, startedAt)}`);
      }
      if (rows.length === 0) lines.push('(the first minute closes when the watermark passes it: about a minute)');
    } catch {
      lines.push('(waiting for the first window to close: about a minute)');
    } finally {
      db.close();
    }
  } else lines.push('(waiting for the first window to close: about a minute)');
  process.stdout.write(`\x1b[2J\x1b[H${lines.join('\n')}\n`);
}

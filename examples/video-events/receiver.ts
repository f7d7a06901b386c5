// A tiny webhook receiver for the video-minutes pipeline's error-rate alerts: it checks each POST's
// Sluice-Signature on the raw body before reading it, answers 200, and prints each alert once (a
// POST sent again after a lost answer carries the same record ids). Run:
//   VIDEO_EVENTS_ALERT_SECRET=… node --import tsx examples/video-events/receiver.ts [--port 4330]
// Only node:http and node:crypto: any HTTP server in any language can do the same.
import { createHmac, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import type { ErrorRateAlert } from './events.js';

const DEFAULT_PORT = 4330;
const TOLERANCE_S = 300; // a signature older (or newer) than 5 minutes is refused: a captured POST cannot be replayed later
const MAX_BODY_BYTES = 1024 * 1024;

const { values: args } = parseArgs({ options: { port: { type: 'string', default: String(DEFAULT_PORT) }, host: { type: 'string', default: '127.0.0.1' } } });
const secret = process.env.VIDEO_EVENTS_ALERT_SECRET ?? '';
if (secret.length < 16) {
  console.error('receiver: set VIDEO_EVENTS_ALERT_SECRET to the secret sluice dev signs with (at least 16 characters)');
  process.exit(1);
}

/** Sluice's header is `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">` (Stripe's scheme). */
export function verify(header: string | undefined, rawBody: string, nowS = Date.now() / 1000): boolean {
  if (!header) return false;
  const parts = header.split(',').map((p) => p.trim().split('='));
  const t = parts.find(([k]) => k === 't')?.[1];
  if (!t || !/^\d+$/.test(t) || Math.abs(nowS - Number(t)) > TOLERANCE_S) return false;
  const want = Buffer.from(createHmac('sha256', secret).update(`${t}.${rawBody}`).digest('hex'));
  // Several v1= values may come while a secret is rotated; compare in constant time.
  return parts.some(([k, v]) => k === 'v1' && v !== undefined && v.length === want.length && timingSafeEqual(Buffer.from(v), want));
}

interface Body {
  records: { id: string; key: unknown[]; value: ErrorRateAlert }[];
}

const seen = new Set<string>();

const server = http.createServer((req, res) => {
  const chunks: Buffer[] = [];
  let size = 0;
  req.on('data', (c: Buffer) => {
    size += c.length;
    if (size > MAX_BODY_BYTES) req.destroy();
    else chunks.push(c);
  });
  req.on('end', () => {
    const raw = Buffer.concat(chunks).toString('utf8');
    if (req.method !== 'POST') return answer(res, 405, 'POST only');
    // The signature covers the exact bytes: check it before parsing (a re-serialized body would not match).
    if (!verify(req.headers['sluice-signature'] as string | undefined, raw)) {
      console.error(`receiver: refused a POST from ${req.socket.remoteAddress}: bad or missing Sluice-Signature`);
      return answer(res, 401, 'bad signature');
    }
    const body = JSON.parse(raw) as Body;
    for (const r of body.records) {
      if (seen.has(r.id)) continue; // sent again (its answer was lost): printed already
      seen.add(r.id);
      const a = r.value;
      console.log(`alert ${a.key} ${new Date(a.windowStart).toISOString()}: ${a.errors} of ${a.events} events were errors (${a.errorRate} > ${a.threshold}) id=${r.id}`);
    }
    answer(res, 200, 'ok');
  });
});

function answer(res: http.ServerResponse, status: number, text: string): void {
  res.writeHead(status, { 'content-type': 'text/plain' }).end(text);
}

server.listen(Number(args.port), args.host, () => {
  const { port } = server.address() as AddressInfo;
  console.log(`receiver: listening on http://${args.host}:${port}/alerts`);
});
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => server.close(() => process.exit(0)));

// The load generator of bench/ingest, in its own process: posts pre-built NDJSON bodies of
// BATCH records over keep-alive connections at a given concurrency for a fixed time, and prints
// one JSON line: acknowledged records, bytes, and latency percentiles.
import http from 'node:http';

const [url, concurrencyText, secondsText, batchText, recordBytesText] = process.argv.slice(2);
const concurrency = Number(concurrencyText);
const seconds = Number(secondsText);
const batch = Number(batchText);
const recordBytes = Number(recordBytesText);

function event(i: number): string {
  const base = { eventId: `e-${i}-${Math.random().toString(36).slice(2, 10)}`, sessionId: `s-${i % 997}`, videoId: `v-${i % 37}`, event: 'play', position: i % 3600, ts: 1_763_900_000_000 + i, pad: '' };
  const text = JSON.stringify(base);
  base.pad = 'x'.repeat(Math.max(0, recordBytes - text.length));
  return JSON.stringify(base);
}

const bodies = Array.from({ length: 32 }, (_, b) => Buffer.from(Array.from({ length: batch }, (_, i) => event(b * batch + i)).join('\n')));
const target = new URL(`${url}/v1/streams/bench/records`);
const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
const latencies: number[] = [];
let records = 0;
let bytes = 0;
let errors = 0;
const deadline = Date.now() + seconds * 1000;

function post(body: Buffer): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request(target, { method: 'POST', agent, headers: { 'content-type': 'application/x-ndjson', 'content-length': body.length } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => (res.statusCode === 200 ? resolve((JSON.parse(Buffer.concat(chunks).toString()) as { stored: number }).stored) : reject(new Error(String(res.statusCode)))));
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function worker(w: number): Promise<void> {
  for (let i = w; Date.now() < deadline; i += concurrency) {
    const body = bodies[i % bodies.length]!;
    const t0 = process.hrtime.bigint();
    try {
      const stored = await post(body); // not `records += await …`: that reads `records` before the await
      records += stored;
      bytes += body.length;
      latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
    } catch {
      errors++;
    }
  }
}

const started = Date.now();
await Promise.all(Array.from({ length: concurrency }, (_, w) => worker(w)));
const elapsed = (Date.now() - started) / 1000;
latencies.sort((a, b) => a - b);
const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? 0;
process.stdout.write(JSON.stringify({ records, bytes, errors, elapsed, p50Ms: pct(0.5), p99Ms: pct(0.99) }) + '\n');
agent.destroy();

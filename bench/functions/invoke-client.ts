// The load generator of bench/functions/invoke, in a process of its own (its CPU is not the
// server's): `concurrency` clients each sending one Invoke request after another, over keep-alive
// connections, for a warm-up second and then `seconds`. Prints one JSON line: calls, errors, status
// counts, elapsed seconds, latency p50/p99 (ms).
//   node --import tsx bench/functions/invoke-client.ts <url> <function> <http|sdk> <concurrency> <seconds>
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import http from 'node:http';
import { quantile } from './measure.js';

const [url, fn, mode, concurrencyArg, secondsArg] = process.argv.slice(2) as [string, string, 'http' | 'sdk', string, string];
const concurrency = Number(concurrencyArg);
const seconds = Number(secondsArg);
const WARMUP_MS = 1000;
/** A player event, as the stream bench's records. */
const PAYLOAD = JSON.stringify({ id: 42, device: 'device-42', event: 'play', video: 'v-42', position: 21, ts: 1_767_225_600_042 });

type Call = () => Promise<number>;

function httpCall(): Call {
  const target = new URL(`${url}/2015-03-31/functions/${fn}/invocations`);
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  const body = Buffer.from(PAYLOAD);
  const headers = { 'content-type': 'application/json', 'content-length': body.length, 'x-amz-invocation-type': 'RequestResponse' };
  return () =>
    new Promise((resolve, reject) => {
      const req = http.request({ host: target.hostname, port: target.port, path: target.pathname, method: 'POST', agent, headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          if (res.statusCode === 200) JSON.parse(Buffer.concat(chunks).toString('utf8'));
          resolve(res.statusCode ?? 0);
        });
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(body);
    });
}

function sdkCall(): Call {
  const client = new LambdaClient({
    endpoint: url, region: 'us-east-1', maxAttempts: 1,
    credentials: { accessKeyId: 'AKIDBENCH', secretAccessKey: 'bench-secret' },
    requestHandler: { httpAgent: new http.Agent({ keepAlive: true, maxSockets: concurrency }) }, // the SDK's own NodeHttpHandler with this agent
  });
  const payload = Buffer.from(PAYLOAD);
  return async () => {
    try {
      const out = await client.send(new InvokeCommand({ FunctionName: fn, Payload: payload }));
      JSON.parse(Buffer.from(out.Payload ?? []).toString('utf8'));
      return out.StatusCode ?? 0;
    } catch (e) {
      return (e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode ?? -1;
    }
  };
}

const call = mode === 'sdk' ? sdkCall() : httpCall();
const latencies: number[] = [];
const statuses: Record<string, number> = {};
let measuring = false;
let stop = false;
const lane = async () => {
  while (!stop) {
    const t = performance.now();
    const status = await call().catch(() => -1);
    if (!measuring) continue;
    latencies.push(performance.now() - t);
    statuses[status] = (statuses[status] ?? 0) + 1;
  }
};
const lanes = Array.from({ length: concurrency }, lane);
await new Promise((r) => setTimeout(r, WARMUP_MS));
measuring = true;
const start = performance.now();
await new Promise((r) => setTimeout(r, seconds * 1000));
measuring = false;
const elapsed = (performance.now() - start) / 1000;
stop = true;
await Promise.all(lanes);
const calls = statuses['200'] ?? 0;
process.stdout.write(`${JSON.stringify({ calls, errors: latencies.length - calls, statuses, elapsed, p50Ms: quantile(latencies, 0.5), p99Ms: quantile(latencies, 0.99) })}\n`);
process.exit(0);

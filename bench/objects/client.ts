// bench/objects' S3 client, in a process of its own so its CPU (SigV4, checksums, the SDK's
// middleware) does not share the gateway's event loop: @aws-sdk/client-s3 with path-style
// addressing and a keep-alive agent, driven by its parent over IPC (one request, one answer).
//   forked by run.ts with: SLUICE_URL (and BENCH_SDK_CHECKSUMS)
import { DeleteObjectsCommand, GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import http from 'node:http';

export type ClientRequest =
  | { op: 'put' | 'get'; bucket: string; prefix: string; size: number; count: number; concurrency: number }
  | { op: 'delete'; bucket: string; prefix: string; count: number }
  | { op: 'latency'; bucket: string; prefix: string; count: number; stampFile: string; size: number };

/** One object's put in the latency run: when the call started and when PutObject answered (monotonic ns), Date.now() at the answer. */
export interface Sent {
  key: string;
  startNs: string;
  answerNs: string;
  answerMs: number;
}

const STAMP_WAIT_MS = 10_000;

const s3 = new S3Client({
  endpoint: process.env.SLUICE_URL!, region: 'us-east-1', forcePathStyle: true,
  credentials: { accessKeyId: 'AKIDBENCH', secretAccessKey: 'bench-secret' }, // (sluice dev's gateway is open: any key pair)
  requestHandler: { httpAgent: new http.Agent({ keepAlive: true, maxSockets: 64 }) },
  // The SDK's default: a CRC32 with every PutObject, GetObject's checksum validated as it streams.
  // BENCH_SDK_CHECKSUMS=WHEN_REQUIRED turns both off, to tell the client's part from the gateway's.
  ...(process.env.BENCH_SDK_CHECKSUMS === 'WHEN_REQUIRED' && { requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED' }),
});
const bodies = new Map<number, Buffer>();
const body = (size: number) => bodies.get(size) ?? bodies.set(size, randomBytes(size)).get(size)!;
const keyOf = (prefix: string, i: number) => `${prefix}/${i}`;

/** Runs `work(i)` for i < count with `concurrency` in flight; the seconds it took. */
async function timed(count: number, concurrency: number, work: (i: number) => Promise<void>): Promise<number> {
  let next = 0;
  const t = performance.now();
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, async () => {
    while (next < count) await work(next++);
  }));
  return (performance.now() - t) / 1000;
}

async function get(bucket: string, key: string): Promise<number> {
  const r = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  let n = 0;
  for await (const chunk of r.Body as AsyncIterable<Buffer>) n += chunk.length;
  return n;
}

/** PUTs one at a time, each after the previous one's handler wrote its line (so every event finds the function idle). */
async function latency(r: Extract<ClientRequest, { op: 'latency' }>): Promise<Sent[]> {
  const sent: Sent[] = [];
  const data = body(r.size);
  for (let i = 0; i < r.count; i++) {
    const key = keyOf(r.prefix, i);
    const startNs = process.hrtime.bigint();
    await s3.send(new PutObjectCommand({ Bucket: r.bucket, Key: key, Body: data }));
    const answerNs = process.hrtime.bigint();
    sent.push({ key, startNs: String(startNs), answerNs: String(answerNs), answerMs: Date.now() });
    const deadline = Date.now() + STAMP_WAIT_MS;
    while (!(existsSync(r.stampFile) && readFileSync(r.stampFile, 'utf8').includes(`${key} `))) {
      if (Date.now() > deadline) throw new Error(`no handler line for ${key} within ${STAMP_WAIT_MS} ms`);
      await new Promise((w) => setTimeout(w, 2));
    }
    await new Promise((w) => setTimeout(w, 5 + (i % 7))); // a little apart, not in step with any timer
  }
  return sent;
}

async function serve(r: ClientRequest): Promise<unknown> {
  switch (r.op) {
    case 'put': {
      const data = body(r.size);
      return { seconds: await timed(r.count, r.concurrency, async (i) => void (await s3.send(new PutObjectCommand({ Bucket: r.bucket, Key: keyOf(r.prefix, i), Body: data })))) };
    }
    case 'get': {
      let bytes = 0;
      const seconds = await timed(r.count, r.concurrency, async (i) => {
        const n = await get(r.bucket, keyOf(r.prefix, i));
        bytes += n;
      });
      if (bytes !== r.size * r.count) throw new Error(`read ${bytes} bytes, expected ${r.size * r.count}`);
      return { seconds };
    }
    case 'delete':
      for (let i = 0; i < r.count; i += 1000) {
        const Objects = Array.from({ length: Math.min(1000, r.count - i) }, (_, j) => ({ Key: keyOf(r.prefix, i + j) }));
        await s3.send(new DeleteObjectsCommand({ Bucket: r.bucket, Delete: { Objects, Quiet: true } }));
      }
      return {};
    case 'latency':
      return { sent: await latency(r) };
  }
}

/** The client's own CPU over a request goes with its answer (cpuSeconds), to tell whose CPU bounds a rate. */
process.on('message', (m: { id: number; request: ClientRequest }) => {
  const cpu = process.cpuUsage();
  serve(m.request).then(
    (result) => {
      const used = process.cpuUsage(cpu);
      process.send!({ id: m.id, result: { ...(result as object), cpuSeconds: (used.user + used.system) / 1e6 } });
    },
    (e: Error) => process.send!({ id: m.id, error: e.stack ?? e.message }),
  );
});
process.on('disconnect', () => process.exit(0));

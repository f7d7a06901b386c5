// Objects stream through the gateway, never held whole: a 200 MiB PutObject (the SDK's aws-chunked
// stream form) and GetObject through @aws-sdk/client-s3 against a gateway in a process of its own,
// whose resident memory is sampled from /proc every 20 ms and must stay within a bound far below
// the object's size. SLUICE_S3_MEMORY_MB changes the size.
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { startNats, type NatsServer } from '../support/nats.js';
import { bytes } from '../support/s3.js';
import { tempDir } from '../support/tmp.js';

const MiB = 1024 * 1024;
const SIZE_MB = Number(process.env.SLUICE_S3_MEMORY_MB ?? 200);
/** How far the gateway's RSS may rise above its level before the transfer. */
const MAX_RSS_GROWTH_MB = 64;
const TSX = new URL('../../node_modules/tsx/dist/loader.mjs', import.meta.url).href;
const SCRIPT = new URL('./s3-gateway-process.ts', import.meta.url).pathname;

const children = new Set<ChildProcess>();
let nats: NatsServer | undefined;
afterAll(async () => {
  for (const c of children) c.kill('SIGKILL');
  await nats?.stop();
});

async function startGatewayProcess(env: Record<string, string>): Promise<{ url: string; pid: number; stop(): Promise<void> }> {
  const child = spawn(process.execPath, ['--import', TSX, SCRIPT], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  children.add(child);
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d) => {
      out += d;
      const line = out.split('\n').find((l) => l.startsWith('{'));
      if (line) resolve((JSON.parse(line) as { url: string }).url);
    });
    child.once('exit', (code) => reject(new Error(`the gateway process exited ${code}`)));
  });
  return {
    url,
    pid: child.pid!,
    stop: () => new Promise((resolve) => {
      child.once('exit', () => (children.delete(child), resolve()));
      child.kill('SIGTERM');
    }),
  };
}

const rssMb = (pid: number) => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;

/** Samples a process' RSS every 20 ms while `work` runs: the peak, in MiB. */
async function peakRss<T>(pid: number, work: () => Promise<T>): Promise<{ result: T; peak: number }> {
  let peak = rssMb(pid);
  const timer = setInterval(() => (peak = Math.max(peak, rssMb(pid))), 20);
  try {
    const result = await work();
    return { result, peak: Math.max(peak, rssMb(pid)) };
  } finally {
    clearInterval(timer);
  }
}

/** SIZE_MB of bytes as 1 MiB chunks, each a pattern stamped with its index, hashed as they go. */
function source(md5: ReturnType<typeof createHash>): Readable {
  const base = bytes(MiB, 41);
  return Readable.from((function* () {
    for (let i = 0; i < SIZE_MB; i++) {
      const chunk = Buffer.from(base);
      chunk.writeUInt32BE(i, 0);
      md5.update(chunk);
      yield chunk;
    }
  })());
}

const ENGINES: { name: string; env: () => Promise<Record<string, string>> }[] = [
  { name: 'sqlite', env: async () => ({ S3_DATA_DIR: tempDir() }) },
  { name: 'nats', env: async () => ({ S3_NATS_URL: (nats ??= await startNats()).url, S3_NATS_PREFIX: `m${Date.now()}` }) },
];

const client = (url: string) => new S3Client({ endpoint: url, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: 'any', secretAccessKey: 'any' } });

/** A gateway process, warmed up (JIT, buffers, the engine's first object), and its RSS then. */
async function warmGateway(env: Record<string, string>, first: boolean) {
  const gw = await startGatewayProcess(env);
  const s3 = client(gw.url);
  if (first) await s3.send(new CreateBucketCommand({ Bucket: 'big' }));
  await s3.send(new PutObjectCommand({ Bucket: 'big', Key: 'warm', Body: bytes(4 * MiB, 1) }));
  await (await s3.send(new GetObjectCommand({ Bucket: 'big', Key: 'warm' }))).Body!.transformToByteArray();
  return { gw, s3, before: rssMb(gw.pid) };
}

describe.each(ENGINES)('S3 objects stream through the gateway on the $name engine', ({ env }) => {
  it(`a ${SIZE_MB} MiB PutObject, then GetObject, keep the gateway's RSS within ${MAX_RSS_GROWTH_MB} MiB of where it was; the bytes round-trip exactly`, async () => {
    const { gw, s3, before } = await warmGateway(await env(), true);
    try {
      // PUT: the SDK's stream form (aws-chunked, a trailing CRC32).
      const sent = createHash('md5');
      const t0 = Date.now();
      const put = await peakRss(gw.pid, () => s3.send(new PutObjectCommand({ Bucket: 'big', Key: 'object.bin', Body: source(sent), ContentLength: SIZE_MB * MiB })));
      const putS = (Date.now() - t0) / 1000;
      const etag = `"${sent.digest('hex')}"`;
      expect(put.result.ETag).toBe(etag);

      const between = rssMb(gw.pid);
      const t1 = Date.now();
      const got = await peakRss(gw.pid, async () => {
        const r = await s3.send(new GetObjectCommand({ Bucket: 'big', Key: 'object.bin' }));
        const md5 = createHash('md5');
        let n = 0;
        for await (const chunk of r.Body as Readable) {
          md5.update(chunk as Buffer);
          n += (chunk as Buffer).length;
        }
        return { etag: r.ETag, length: r.ContentLength, n, md5: `"${md5.digest('hex')}"` };
      });
      const getS = (Date.now() - t1) / 1000;
      expect(got.result).toEqual({ etag, length: SIZE_MB * MiB, n: SIZE_MB * MiB, md5: etag });

      const figures = {
        rssBeforeMb: Math.round(before), putPeakMb: Math.round(put.peak), putMBps: Math.round(SIZE_MB / putS),
        rssBeforeGetMb: Math.round(between), getPeakMb: Math.round(got.peak), getMBps: Math.round(SIZE_MB / getS),
      };
      console.log(`S3 ${SIZE_MB} MiB through the gateway: ${JSON.stringify(figures)}`);
      expect(put.peak - before).toBeLessThan(MAX_RSS_GROWTH_MB);
      expect(got.peak - before).toBeLessThan(MAX_RSS_GROWTH_MB);
    } finally {
      s3.destroy();
      await gw.stop();
    }
  }, 120_000 + SIZE_MB * 500);
});

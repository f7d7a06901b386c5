// bench/ingest/kinesis-signed: PutRecords through the Kinesis API from @aws-sdk/client-kinesis
// (default settings but retries off), 500 records of 100 B a call, to a gateway that verifies each
// call's SigV4 signature (a configured key pair), against the same load to an open gateway (no
// signature checked) in the same run, rounds alternating which goes first. The ratio is what
// verifying costs the ingest path: since 2026-12-02 it hashes each body (SHA-256) itself.
// Prints one JSON line.
//   node --import tsx bench/ingest/kinesis-signed.ts   (env: BENCH_SECONDS 5, BENCH_ROUNDS 3,
//   BENCH_CONCURRENCY 4, BENCH_SRC another tree's src/ for an A/B)
import { KinesisClient, PutRecordsCommand } from '@aws-sdk/client-kinesis';
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 4);
const SRC = process.env.BENCH_SRC ?? new URL('../../src/', import.meta.url).pathname;
const CREDS = { accessKeyId: 'AKIDBENCH', secretAccessKey: 'bench-secret' };
const RECORDS = Array.from({ length: 500 }, (_, i) => ({ PartitionKey: `user-${i % 50}`, Data: Buffer.alloc(100, 97 + (i % 26)) }));

const { Gateway } = (await import(join(SRC, 'gateway/gateway.ts'))) as typeof import('../../src/gateway/gateway.js');
const { SqliteEngine } = (await import(join(SRC, 'engine/sqlite/index.ts'))) as typeof import('../../src/engine/sqlite/index.js');
const { systemClock } = (await import(join(SRC, 'clock.ts'))) as typeof import('../../src/clock.js');

/** Records per second put by CONCURRENCY callers for SECONDS. */
async function run(signed: boolean): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-bench-kinesis-'));
  const engine = new SqliteEngine({ dataDir: dir, retentionIntervalMs: 0 });
  const principals = signed ? [{ id: 'producer', ...CREDS, scopes: { '*': ['admin' as const] } }] : [];
  const gw = new Gateway(engine, { port: 0, principals }, systemClock);
  await gw.listen();
  const kinesis = new KinesisClient({ endpoint: gw.url, region: 'us-east-1', credentials: CREDS, maxAttempts: 1 });
  await engine.createStream('bench', { partitions: 4 });
  await kinesis.send(new PutRecordsCommand({ StreamName: 'bench', Records: RECORDS })); // warm
  let records = 0;
  const end = performance.now() + SECONDS * 1000;
  const started = performance.now();
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (performance.now() < end) {
      const r = await kinesis.send(new PutRecordsCommand({ StreamName: 'bench', Records: RECORDS }));
      if (r.FailedRecordCount) throw new Error(`${r.FailedRecordCount} records failed`);
      records += RECORDS.length;
    }
  }));
  const rate = records / ((performance.now() - started) / 1000);
  kinesis.destroy();
  await gw.close();
  await engine.close();
  rmSync(dir, { recursive: true, force: true });
  return rate;
}

const before = loadavg()[0]!;
const signed: number[] = [];
const open: number[] = [];
for (let r = 0; r < ROUNDS; r++) {
  for (const s of r % 2 === 0 ? [true, false] : [false, true]) (s ? signed : open).push(await run(s));
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const round = (x: number, d = 0) => Math.round(x * 10 ** d) / 10 ** d;
console.log(JSON.stringify({
  bench: 'ingest-kinesis-signed', date: new Date().toISOString(), nproc: availableParallelism(), node: process.version, src: SRC,
  recordsPerCall: RECORDS.length, concurrency: CONCURRENCY, seconds: SECONDS, rounds: ROUNDS,
  signedRecordsPerSecond: signed.map((x) => round(x)), openRecordsPerSecond: open.map((x) => round(x)),
  ratio: round(median(signed) / median(open), 3), loadAverage1m: { before: round(before, 2), after: round(loadavg()[0]!, 2) },
}));

// The archive sink's MB/s (of NDJSON archived) against gzip-and-write alone in the same run: the
// same records' NDJSON through node:zlib's gzip into a file, in the same data directory. The
// archive reads the records from the sqlite engine, checks each is JSON, gzips into staging and
// commits objects (with offsets and announcements). One partition, so both use one gzip stream;
// three rounds interleaved, best of each. One JSON line.
// Usage: node --import tsx bench/sinks/archive.ts [--records 200000] [--roll-mib 16]
import { createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir, availableParallelism } from 'node:os';
import { join } from 'node:path';
import { pipeline as pump } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { createGzip } from 'node:zlib';
import { systemClock } from '../../src/clock.js';
import { ArchivePartition, archiveLeaseKey, resolveArchiveOptions } from '../../src/connectors/archive/index.js';
import { SqliteEngine } from '../../src/engine/sqlite/index.js';
import { Objects } from '../../src/objects/index.js';

const arg = (name: string, d: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : d;
};
const RECORDS = arg('records', 200_000);
const ROLL = arg('roll-mib', 16) * 1024 * 1024;
const ROUNDS = 3;

const dir = mkdtempSync(join(tmpdir(), 'sluice-bench-archive-'));
const values = Array.from({ length: RECORDS }, (_, i) => Buffer.from(JSON.stringify({ sessionId: `s-${i % 5000}`, videoId: `v-${i % 313}`, event: ['play', 'pause', 'seek', 'stop'][i % 4], position: (i * 7919) % 3600, ts: 1_700_000_000_000 + i * 13, bitrate: 2_500 + (i % 9) * 250 })));
const bytes = values.reduce((n, v) => n + v.length + 1, 0);
const mb = bytes / 1e6;

const engine = new SqliteEngine({ dataDir: join(dir, 'data'), retentionIntervalMs: 0 });
await engine.createStream('events', { partitions: 1 });
for (let i = 0; i < RECORDS; i += 1000) await engine.append('events', values.slice(i, i + 1000).map((value) => ({ partition: 0, value })));
await engine.createStream('object-events', { partitions: 1 });
const objects = new Objects(engine, { announce: (events) => [{ stream: 'object-events', records: events.map((e) => ({ value: Buffer.from(JSON.stringify({ key: e.key, event: e.event })) })) }] });

async function archive(round: number): Promise<number> {
  const bucket = `bench-${round}`;
  await objects.createBucket(bucket);
  const lease = archiveLeaseKey(`events`);
  const current = await engine.getState(lease);
  const { versions } = await engine.commit({ state: [{ key: lease, value: Buffer.from('{}'), expectedVersion: current?.version ?? 0 }] });
  // A fresh partition state per round: it starts from the first record.
  const state = await engine.getState('_sluice/archives/events/partitions/0');
  if (state) await engine.commit({ state: [{ key: '_sluice/archives/events/partitions/0', value: null }] });
  const part = new ArchivePartition({
    engine, objects, stream: 'events', clock: systemClock, lease: { key: lease, version: versions[0]! }, batch: 1024, from: 'earliest',
    options: resolveArchiveOptions('events', { bucket, rollSize: ROLL, rollInterval: 15 * 60_000 }), signal: new AbortController().signal,
  }, 0);
  const t = performance.now();
  await part.open();
  while (await part.step());
  await part.drain();
  const s = (performance.now() - t) / 1000;
  if (part.stats.records !== RECORDS) throw new Error(`archived ${part.stats.records} of ${RECORDS}`);
  return s;
}

async function gzipWrite(round: number): Promise<number> {
  const t = performance.now();
  // The same lines, in the archive's write sizes (a batch of 1,024 records per write).
  const chunks = (function* () {
    for (let i = 0; i < RECORDS; i += 1024) yield Buffer.concat(values.slice(i, i + 1024).flatMap((v) => [v, NL]));
  })();
  await pump(Readable.from(chunks), createGzip(), createWriteStream(join(dir, `plain-${round}.ndjson.gz`)));
  return (performance.now() - t) / 1000;
}
const NL = Buffer.from('\n');

const a: number[] = [];
const g: number[] = [];
for (let r = 0; r < ROUNDS; r++) {
  g.push(await gzipWrite(r));
  a.push(await archive(r));
}
const best = (xs: number[]) => Math.min(...xs);
const archiveMBps = mb / best(a);
const gzipWriteMBps = mb / best(g);
await engine.close();
rmSync(dir, { recursive: true, force: true });
console.log(JSON.stringify({
  bench: 'sinks/archive', engine: 'sqlite', records: RECORDS, ndjsonMB: Math.round(mb * 10) / 10, rollMiB: ROLL / 1024 / 1024,
  archiveMBps: Math.round(archiveMBps * 10) / 10, gzipWriteMBps: Math.round(gzipWriteMBps * 10) / 10, ratio: Math.round((archiveMBps / gzipWriteMBps) * 100) / 100,
  archiveSeconds: a.map((s) => Math.round(s * 100) / 100), gzipWriteSeconds: g.map((s) => Math.round(s * 100) / 100),
  cpus: availableParallelism(), node: process.version,
}));

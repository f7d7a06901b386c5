// Disk over time: runs the campaign-metrics demo (`sluice dev --demo`: about 2,000 events/s through
// the gateway, the pipeline on two worker threads) for BENCH_MINUTES (default 10) and samples the
// data directory every minute. The baseline is the input itself: the bytes of the records the
// source streams hold. Prints one JSON line: per-minute sizes, and bytes on disk per input byte.
// Run: node --import tsx bench/disk/run.ts   (from the repository root; SLUICE_ROOT for another checkout)
import Database from 'better-sqlite3';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';

const ROOT = process.env.SLUICE_ROOT ?? process.cwd();
const MINUTES = Number(process.env.BENCH_MINUTES ?? 10);
if (!(Number.isInteger(MINUTES) && MINUTES > 0)) throw new Error(`BENCH_MINUTES must be a whole number of minutes, got ${process.env.BENCH_MINUTES}`);
const SOURCES = ['ad-served', 'ad-views', 'ad-clicks'];

/** Bytes of every file under `dir`. */
function du(dir: string): number {
  let total = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    total += entry.isDirectory() ? du(path) : statSync(path).size;
  }
  return total;
}

/** Bytes held per stream, from the engine's index (batches' payload lengths). */
function streamBytes(dataDir: string): Map<string, number> {
  const db = new Database(join(dataDir, 'sluice.db'), { readonly: true, fileMustExist: true });
  try {
    const rows = db.prepare('SELECT s.name AS name, COALESCE(SUM(b.len), 0) AS bytes FROM streams s LEFT JOIN batches b ON b.stream_id = s.id GROUP BY s.name').all() as { name: string; bytes: number }[];
    return new Map(rows.map((r) => [r.name, r.bytes]));
  } finally {
    db.close();
  }
}

const dir = mkdtempSync(join(tmpdir(), 'sluice-disk-'));
const dataDir = join(dir, 'data');
const child = spawn(process.execPath, [join(ROOT, 'bin/sluice.js'), 'dev', '--config', join(ROOT, 'examples/campaign-metrics/sluice.config.ts'), '--demo', '--port', '0', '--data-dir', dataDir], {
  cwd: dir,
  stdio: ['ignore', 'ignore', 'pipe'],
});
let stderr = '';
child.stderr!.on('data', (d) => (stderr = (stderr + d).slice(-4000)));
const samples: { minute: number; dirBytes: number; inputBytes: number; internalBytes: number; parts: Record<string, number> }[] = [];
/** Bytes per top-level entry of the data directory (segments/, state/, sluice.db, its WAL, tables.db, …). */
const parts = () => Object.fromEntries(readdirSync(dataDir, { withFileTypes: true }).map((e) => [e.name, e.isDirectory() ? du(join(dataDir, e.name)) : statSync(join(dataDir, e.name)).size]));
try {
  for (let minute = 1; minute <= MINUTES; minute++) {
    await new Promise((r) => setTimeout(r, 60_000));
    if (child.exitCode !== null) throw new Error(`sluice exited with ${child.exitCode}: ${stderr}`);
    const streams = streamBytes(dataDir);
    const inputBytes = SOURCES.reduce((n, s) => n + (streams.get(s) ?? 0), 0);
    const internalBytes = [...streams].filter(([name]) => name.startsWith('_sluice.')).reduce((n, [, b]) => n + b, 0);
    samples.push({ minute, dirBytes: du(dataDir), inputBytes, internalBytes, parts: parts() });
  }
} finally {
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
}
const last = samples.at(-1)!;
const growth = (k: 'dirBytes' | 'inputBytes') => (samples.length > 1 ? (last[k] - samples[0]![k]) / (samples.length - 1) : last[k]);
console.log(JSON.stringify({
  bench: 'disk',
  minutes: MINUTES,
  nproc: availableParallelism(),
  node: process.version,
  samples,
  dirBytesPerInputByte: +(last.dirBytes / last.inputBytes).toFixed(2),
  growthPerMinute: { dirBytes: Math.round(growth('dirBytes')), inputBytes: Math.round(growth('inputBytes')) },
  growthPerInputByte: +(growth('dirBytes') / growth('inputBytes')).toFixed(2),
}));
rmSync(dir, { recursive: true, force: true });

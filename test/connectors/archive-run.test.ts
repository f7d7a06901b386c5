// The archive as sluice dev/start run it (ArchiveRun): the `archives:` configuration validated one
// line per bad field, a second run taking over, and the archive's disk full on a small tmpfs — a
// clear error logged once, no partial object visible, nothing skipped once space returns.
import { spawnSync } from 'node:child_process';
import { closeSync, ftruncateSync, openSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { ArchiveLeaseLostError, ArchiveRun } from '../../src/connectors/archive/index.js';
import { ConfigError, validateConfig } from '../../src/config/index.js';
import { SqliteEngine } from '../../src/engine/sqlite/index.js';
import { Objects } from '../../src/objects/index.js';
import { allRecords } from '../support/engines.js';
import { tempDir } from '../support/tmp.js';
import { coverage, enc, harness, type Archived } from './archive-harness.js';

const mounts: string[] = [];
afterAll(() => {
  for (const dir of mounts.splice(0)) spawnSync('umount', ['-l', dir]);
});

/** Polls `check` until it holds (a generous deadline: the machine is shared). */
async function until(what: string, check: () => boolean | Promise<boolean>, ms = 60_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('archives: in sluice.config.ts', () => {
  it('is validated one line per bad field', () => {
    let error: ConfigError | undefined;
    try {
      validateConfig({ archives: { events: { bucket: 'Not_A_Bucket', rollSize: 0, rollInterval: '1h', compression: 'zstd', colour: 'red' }, 'bad name!': { bucket: 'ok-bucket' } } });
    } catch (e) {
      error = e as ConfigError;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect(error!.issues).toEqual([
      "archives.events.bucket: invalid bucket name 'Not_A_Bucket': a bucket name is lowercase letters, digits, dots and hyphens, and begins and ends with a letter or digit",
      'archives.events.rollSize: Too small: expected number to be >=1',
      'archives.events.rollInterval: at most 15 minutes (900000 ms)',
      'archives.events.compression: Invalid option: expected one of "gzip"|"none"',
      'archives.events: Unrecognized key: "colour"',
      'archives.bad name!: Invalid key in record',
    ]);
    const ok = validateConfig({ archives: { events: { bucket: 'video-events', prefix: 'raw', rollSize: 1 << 20, rollInterval: '30s', compression: 'none', timeField: 'ts' } } });
    expect(ok.archives!.events).toEqual({ bucket: 'video-events', prefix: 'raw', rollSize: 1 << 20, rollInterval: 30_000, compression: 'none', timeField: 'ts' });
  });
});

describe('ArchiveRun', () => {
  it('creates the bucket and streams it needs; a second run takes over and the first stops with ArchiveLeaseLostError', async () => {
    const engine = new SqliteEngine({ dataDir: tempDir(), retentionIntervalMs: 0 });
    const objects = new Objects(engine);
    const clock = new ManualClock(Date.UTC(2024, 0, 1));
    const first = await ArchiveRun.start(engine, objects, { s: { bucket: 'arch', rollSize: 5 } }, { clock, idlePollMs: 5 });
    expect((await engine.describeStream('s')).partitions).toBe(4);
    expect((await engine.describeStream('s-archive-errors')).partitions).toBe(4);
    expect((await objects.listBuckets()).map((b) => b.name)).toEqual(['arch']);
    await engine.append('s', [{ partition: 0, value: enc({ n: 1 }) }]);
    await until('the first object', async () => (await engine.listObjects({ prefix: 'arch/' })).objects.length === 1);
    const second = await ArchiveRun.start(engine, objects, { s: { bucket: 'arch', rollSize: 5 } }, { clock, idlePollMs: 5 });
    await engine.append('s', [{ partition: 1, value: enc({ n: 2 }) }]);
    await expect(first.done).rejects.toBeInstanceOf(ArchiveLeaseLostError);
    await until('the second object', async () => (await engine.listObjects({ prefix: 'arch/' })).objects.length === 2);
    await second.stop();
    await engine.close();
  });

  it('a full disk: a clear error logged once, no partial object visible, nothing skipped once space returns', async () => {
    const dir = tempDir();
    const r = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=24m', 'tmpfs', dir], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`the full-disk test mounts a tmpfs and needs root: ${r.stderr}`);
    mounts.push(dir);
    const h = await harness(async (clock) => new SqliteEngine({ dataDir: join(dir, 'data'), clock, retentionIntervalMs: 0 }), {}, 1);
    // 3,000 records of ~1 KB that gzip cannot shrink much: 3 MB of NDJSON, objects of 512 KiB.
    for (let i = 0; i < 30; i++) await h.engine.append('s', Array.from({ length: 100 }, (_, j) => ({ partition: 0, value: enc({ i, j, data: randomBytes(700).toString('base64') }) })));
    const filler = join(dir, 'filler');
    const fd = openSync(filler, 'w');
    const chunk = Buffer.alloc(64 * 1024, 1);
    let filled = 0;
    try {
      for (;;) filled += writeSync(fd, chunk);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOSPC') throw e;
    }
    // 128 KiB left: the database's small commits fit, an object of ~390 KB (512 KiB of NDJSON gzipped) does not.
    ftruncateSync(fd, filled - 128 * 1024);
    closeSync(fd);
    const lines: [string, string][] = [];
    const run = await ArchiveRun.start(h.engine, h.objects, { s: { bucket: 'arch', rollSize: 512 * 1024 } }, { clock: h.clock, idlePollMs: 5, log: (l, level = 'warn') => lines.push([level, l]) });
    await until('two failed attempts', () => (run.stats()[0]?.failures ?? 0) >= 2);
    const warnings = lines.filter(([level]) => level === 'warn');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]![1]).toMatch(/^archive 's' partition 0: no space left on the device .* to stage an object \(nothing was kept\); retrying from its last committed object$/);
    const records = await allRecords(h.engine, 's');
    const complete = (objects: Archived[]) => objects.every((o) => {
      const range = records.filter((x) => x.offset >= Number(o.metadata['x-amz-meta-sluice-first-offset']) && x.offset < Number(o.metadata['x-amz-meta-sluice-next-offset']));
      return JSON.stringify(o.lines) === JSON.stringify(range.map((x) => Buffer.from(x.value).toString()));
    });
    const during = await h.archived();
    expect(complete(during)).toBe(true);
    rmSync(filler);
    const end = records.at(-1)!.offset + 1;
    await until('everything archived after space returned', () => run.stats()[0]!.committed >= end - 1_000 && run.stats()[0]!.failures === 0, 120_000);
    await run.stop();
    expect(lines.filter(([level, l]) => level === 'info' && /^archive 's' partition 0: recovered after \d+ failed attempts$/.test(l))).toHaveLength(1);
    const objects = await h.archived();
    expect(complete(objects)).toBe(true);
    expect(coverage(objects, records.map((x) => x.offset))).toEqual({ twice: [], missing: [] });
    expect((await h.announced()).length).toBe(objects.length);
    await h.engine.close();
  }, 180_000);
});

// The WAL checkpoint thread reports its failures instead of swallowing them: the engine logs the
// first failure of a spell at warn, the recovery at info, and nothing at every attempt in between.
import Database from 'better-sqlite3';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterEach, expect, it } from 'vitest';
import { Checkpointer, type CheckpointReport } from '../../src/engine/sqlite/checkpointer.js';
import { FailureLog } from '../../src/observe/log.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** Resolves once `pred` holds for the reports so far (each report is checked as it comes). */
function until(reports: CheckpointReport[], pred: (r: CheckpointReport[]) => boolean, deadlineMs = 20_000): Promise<void> {
  const deadline = Date.now() + deadlineMs;
  return new Promise((resolve, reject) => {
    const tick = () => (pred(reports) ? resolve() : Date.now() > deadline ? reject(new Error(`not reached: ${JSON.stringify(reports.slice(-3))}`)) : setTimeout(tick, 10));
    tick();
  });
}

it('reports failed checkpoints and the first one that works again; the log has one warning and one recovery', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-ckpt-'));
  dirs.push(dir);
  const file = join(dir, 'sluice.db');
  writeFileSync(file, Buffer.alloc(8192, 7)); // not a database: every checkpoint fails
  const lines: { level: number; msg: string }[] = [];
  const log = pino({ level: 'debug' }, new Writable({ write: (chunk: Buffer, _e, cb) => (lines.push(JSON.parse(chunk.toString())), cb()) }));
  const failures = new FailureLog(log, 'WAL checkpoints');
  const reports: CheckpointReport[] = [];
  const ckpt = new Checkpointer(file, 'NORMAL', (r) => (reports.push(r), r.ok ? failures.succeeded() : failures.failed(r.error)), 20);
  try {
    await until(reports, (r) => r.length >= 3);
    expect(reports.slice(0, 3).every((r) => !r.ok)).toBe(true);
    expect((reports[0] as { error: Error }).error.message).toBe('WAL checkpoint failed: file is not a database');

    // The file becomes a database (same inode, as a repaired disk would give back): checkpoints work.
    const good = join(dir, 'good.db');
    const db = new Database(good);
    db.pragma('journal_mode = WAL');
    db.exec('CREATE TABLE t (x); INSERT INTO t VALUES (1);');
    db.close();
    copyFileSync(good, file);
    await until(reports, (r) => r.some((x) => x.ok));
    const failed = reports.findIndex((x) => x.ok);
    expect(reports.slice(failed + 1).every((x) => x.ok)).toBe(true); // reported once: no report while they keep working
  } finally {
    await ckpt.close();
  }
  const warns = lines.filter((l) => l.level === 40);
  const infos = lines.filter((l) => l.level === 30);
  expect(warns.map((l) => l.msg)).toEqual(['WAL checkpoints failing: WAL checkpoint failed: file is not a database']);
  expect(infos.map((l) => l.msg)).toEqual([expect.stringMatching(/^WAL checkpoints recovered after \d+ failures$/)]);
  expect(lines.filter((l) => l.level === 20).length).toBe(reports.filter((r) => !r.ok).length - 1); // the repeats, at debug
});

// Moves WAL checkpoints off the event loop. With synchronous=NORMAL a commit does not fsync, but
// a checkpoint does, and SQLite's automatic checkpoint runs inside whichever commit crosses the
// threshold: measured here, it made a 100 KB batch insert cost 1,100 µs instead of 234 µs.
// So automatic checkpoints are off and a worker thread with its own connection runs them.
// A checkpoint that fails (disk full, I/O error) is reported to the owner, which logs it once
// while the failures last (the WAL then grows until checkpoints work again).
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

export const CHECKPOINT_INTERVAL_MS = 100;

const WORKER = `
const { workerData, parentPort } = require('node:worker_threads');
const Database = require(workerData.driver);
let db;
const open = () => {
  const c = new Database(workerData.file);
  try {
    c.pragma('busy_timeout = 5000');
    c.pragma('synchronous = ' + workerData.synchronous);
  } catch (e) {
    c.close();
    throw e;
  }
  return c;
};
let failing = false;
const run = () => {
  try {
    db ??= open(); // (opened again at the next run when opening failed)
    db.pragma('wal_checkpoint(PASSIVE)');
    if (failing) parentPort.postMessage({ ok: true });
    failing = false;
  } catch (e) {
    failing = true;
    parentPort.postMessage({ ok: false, error: String((e && e.message) || e) });
  }
};
const timer = setInterval(run, workerData.intervalMs);
parentPort.on('message', () => { clearInterval(timer); run(); db?.close(); parentPort.postMessage('closed'); });
`;

/** What the checkpointer reports: a failed checkpoint (each one), or the first that works after failures. */
export type CheckpointReport = { ok: false; error: Error } | { ok: true };

export class Checkpointer {
  private readonly worker: Worker;
  private exited = false;

  constructor(file: string, synchronous: 'NORMAL' | 'FULL', report: (r: CheckpointReport) => void = () => {}, intervalMs = CHECKPOINT_INTERVAL_MS) {
    const driver = createRequire(import.meta.url).resolve('better-sqlite3');
    this.worker = new Worker(WORKER, { eval: true, workerData: { file, synchronous, intervalMs, driver } });
    this.worker.on('message', (m: 'closed' | { ok: boolean; error?: string }) => {
      if (m !== 'closed') report(m.ok ? { ok: true } : { ok: false, error: new Error(`WAL checkpoint failed: ${m.error}`) });
    });
    // The thread could not open the database, or died: no checkpoints from here on (an 'error' without a listener would end the process).
    this.worker.on('error', (e) => report({ ok: false, error: new Error(`the WAL checkpoint thread stopped: ${e.message}`, { cause: e }) }));
    this.worker.once('exit', () => (this.exited = true));
    this.worker.unref();
  }

  /** Runs a last checkpoint and stops the worker. */
  async close(): Promise<void> {
    if (this.exited) return;
    this.worker.ref(); // (unref'd, nothing would keep the process alive for its answer)
    const closed = new Promise<void>((resolve) => {
      this.worker.on('message', (m) => m === 'closed' && resolve());
      this.worker.once('exit', () => resolve());
    });
    this.worker.postMessage('close');
    await closed;
    await this.worker.terminate();
  }
}

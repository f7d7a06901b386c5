// Turns for SQLite's one writer among the threads of one process (a pipeline's worker threads each
// have a connection). SQLite makes a writer that finds the database locked sleep 1, 2, 5, 10… ms
// before trying again, while the other's commit takes well under a millisecond; with this lock the
// next writer wakes the moment the previous one finishes. It only orders writers that share it:
// SQLite's own locking still guards everything (a writer in another process, or one that waited
// longer than MAX_WAIT_MS for a thread that died holding the lock, goes ahead and SQLite serialises it).

/** A writer waits at most this long for its turn, then goes ahead (SQLite still serialises it). */
const MAX_WAIT_MS = 200;
const FREE = 0;
const HELD = 1;

export class WriteLock {
  private readonly cell: Int32Array;

  /** `buffer`: 4 bytes shared by every thread that takes turns (new SharedArrayBuffer(4)). */
  constructor(buffer: SharedArrayBuffer) {
    if (!(buffer instanceof SharedArrayBuffer) || buffer.byteLength < 4) throw new TypeError('a write lock needs a SharedArrayBuffer of at least 4 bytes');
    this.cell = new Int32Array(buffer, 0, 1);
  }

  /** Runs `fn` in this thread's turn. */
  run<T>(fn: () => T): T {
    const held = this.acquire();
    try {
      return fn();
    } finally {
      if (held) {
        Atomics.store(this.cell, 0, FREE);
        Atomics.notify(this.cell, 0, 1);
      }
    }
  }

  /** Whether the turn was taken (false: waited MAX_WAIT_MS and goes ahead without it). */
  private acquire(): boolean {
    const deadline = performance.now() + MAX_WAIT_MS;
    while (Atomics.compareExchange(this.cell, 0, FREE, HELD) !== FREE) {
      const left = deadline - performance.now();
      if (left <= 0) return false;
      Atomics.wait(this.cell, 0, HELD, left);
    }
    return true;
  }
}

// Turns for SQLite's one writer among the threads of one process (a pipeline's worker threads each
// have a connection). SQLite makes a writer that finds the database locked sleep 1, 2, 5, 10… ms
// before trying again, while the other's commit takes well under a millisecond; with this lock the
// next writer wakes the moment the previous one finishes. It only orders writers that share it:
// SQLite's own locking still guards everything: a writer in another process is serialised by it,
// and so is one that waited MAX_WAIT_MS for a thread that died holding the lock (it then takes the
// lock over, so the next writers do not wait for the dead thread again).

/** A writer waits at most this long for its turn, then takes it (SQLite still serialises it). */
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
    this.acquire();
    try {
      return fn();
    } finally {
      Atomics.store(this.cell, 0, FREE);
      Atomics.notify(this.cell, 0, 1);
    }
  }

  /**
   * Takes the turn: when it is free, or after MAX_WAIT_MS (its holder is presumed dead; if it was
   * only slow, two writers overlap once and SQLite serialises them).
   */
  private acquire(): void {
    const deadline = performance.now() + MAX_WAIT_MS;
    while (Atomics.compareExchange(this.cell, 0, FREE, HELD) !== FREE) {
      const left = deadline - performance.now();
      if (left <= 0) {
        Atomics.store(this.cell, 0, HELD);
        return;
      }
      Atomics.wait(this.cell, 0, HELD, left);
    }
  }
}

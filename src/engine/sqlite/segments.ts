// Batch payloads live in per-partition segment files (Kafka's layout); SQLite keeps only the
// index row (offset → segment, position, length). Each stored byte is written once, instead of
// into the WAL and again at checkpoint. Writes happen inside the commit transaction at the
// position SQLite records, so a crash before the commit leaves bytes that the next write
// overwrites: nothing half-written is ever referenced. See docs/decisions/002-record-batches.md.
import { closeSync, constants, fdatasyncSync, mkdirSync, openSync, readdirSync, readSync, rmSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';

export const DEFAULT_SEGMENT_BYTES = 64 * 1024 * 1024; // a new segment starts past 64 MiB

const segmentName = (base: number) => `${String(base).padStart(20, '0')}.log`;

/** Reads `len` bytes at `pos` of an open file; `what` names it when it is shorter. */
function readAt(fd: number, pos: number, len: number, what: () => string): Buffer {
  const out = Buffer.allocUnsafe(len);
  let done = 0;
  while (done < len) {
    const n = readSync(fd, out, done, len - done, pos + done);
    if (n === 0) throw new Error(`${what()} is shorter than its index`);
    done += n;
  }
  return out;
}

export class Segments {
  private readonly fds = new Map<string, number>();

  constructor(private readonly root: string, private readonly fsync: boolean) {}

  /** Writes `data` at `pos` of the segment starting at offset `base` (created when missing). */
  write(stream: number, partition: number, base: number, pos: number, data: Uint8Array): void {
    const fd = this.fd(stream, partition, base, true);
    let done = 0;
    while (done < data.length) done += writeSync(fd, data, done, data.length - done, pos + done);
    if (this.fsync) fdatasyncSync(fd);
  }

  /** Reads from a segment; ENOENT when another connection deleted it meanwhile (a read never creates a file). */
  read(stream: number, partition: number, base: number, pos: number, len: number): Buffer {
    return readAt(this.fd(stream, partition, base, false), pos, len, () => this.describe(stream, partition, base));
  }

  /** Deletes the segment files of a partition that start before `keepFrom`. */
  dropBefore(stream: number, partition: number, keepFrom: number): void {
    const dir = this.dir(stream, partition);
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      return;
    }
    for (const name of names) {
      const base = Number(name.slice(0, 20));
      if (!name.endsWith('.log') || !(base < keepFrom)) continue;
      this.closeFd(join(dir, name));
      unlinkSync(join(dir, name));
    }
  }

  /** As `read`, keeping no handle open unless one was already (for files another connection may delete: their space is freed once no handle is open). */
  readOnce(stream: number, partition: number, base: number, pos: number, len: number): Buffer {
    const path = join(this.dir(stream, partition), segmentName(base));
    if (this.fds.has(path)) return this.read(stream, partition, base, pos, len);
    const fd = openSync(path, constants.O_RDONLY);
    try {
      return readAt(fd, pos, len, () => this.describe(stream, partition, base));
    } finally {
      closeSync(fd);
    }
  }

  /** Closes this connection's handle on a segment file (another connection may delete the file: its space is freed once no handle is open). */
  release(stream: number, partition: number, base: number): void {
    this.closeFd(join(this.dir(stream, partition), segmentName(base)));
  }

  /** Deletes one segment file, if it is there. */
  dropOne(stream: number, partition: number, base: number): void {
    const path = join(this.dir(stream, partition), segmentName(base));
    this.closeFd(path);
    try {
      unlinkSync(path);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
  }

  dropStream(stream: number): void {
    const dir = join(this.root, String(stream));
    for (const path of [...this.fds.keys()]) if (path.startsWith(dir + '/')) this.closeFd(path);
    rmSync(dir, { recursive: true, force: true });
  }

  close(): void {
    for (const path of [...this.fds.keys()]) this.closeFd(path);
  }

  private dir(stream: number, partition: number): string {
    return join(this.root, String(stream), String(partition));
  }

  private describe(stream: number, partition: number, base: number): string {
    return `segment ${segmentName(base)} of stream ${stream} partition ${partition}`;
  }

  /**
   * Opened read-write without O_APPEND (on Linux, pwrite on an O_APPEND file ignores the position);
   * created only for a write: a read of a file retention or another connection deleted fails
   * (ENOENT) instead of leaving an empty file behind.
   */
  private fd(stream: number, partition: number, base: number, create: boolean): number {
    const path = join(this.dir(stream, partition), segmentName(base));
    let fd = this.fds.get(path);
    if (fd === undefined) {
      if (create) mkdirSync(this.dir(stream, partition), { recursive: true });
      fd = openSync(path, create ? constants.O_RDWR | constants.O_CREAT : constants.O_RDWR, 0o644);
      this.fds.set(path, fd);
    }
    return fd;
  }

  private closeFd(path: string): void {
    const fd = this.fds.get(path);
    if (fd === undefined) return;
    closeSync(fd);
    this.fds.delete(path);
  }
}

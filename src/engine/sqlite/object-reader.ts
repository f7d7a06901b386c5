// Streams a range of an object's pieces (files) as a Readable, 1 MiB per read, one read in flight.
import { close, open, read } from 'node:fs';
import { Readable } from 'node:stream';

export const READ_CHUNK_BYTES = 1024 * 1024;

/** A piece's file and the part of it to read: [from, to) in the file. */
export interface PieceSpan {
  path: string;
  from: number;
  to: number;
  /** Opened beforehand (so a delete by another connection cannot take it away), else opened when reached. */
  fd?: number;
}

export class ObjectReader extends Readable {
  private at = 0;
  private pos: number;
  private reading = false;

  constructor(private readonly spans: PieceSpan[], private readonly onClose: () => void) {
    super({ highWaterMark: READ_CHUNK_BYTES });
    this.pos = spans[0]?.from ?? 0;
  }

  override _read(): void {
    if (this.reading) return;
    const span = this.spans[this.at];
    if (!span) {
      this.push(null);
      return;
    }
    if (this.pos >= span.to) {
      this.next();
      this._read();
      return;
    }
    this.reading = true;
    if (span.fd === undefined) {
      open(span.path, 'r', (err, fd) => {
        this.reading = false;
        if (!err) span.fd = fd;
        if (this.destroyed) return this.closeAll();
        if (err) return this.destroy(err);
        this._read();
      });
      return;
    }
    const n = Math.min(READ_CHUNK_BYTES, span.to - this.pos);
    const buf = Buffer.allocUnsafe(n);
    read(span.fd, buf, 0, n, this.pos, (err, got) => {
      this.reading = false;
      if (this.destroyed) return this.closeAll();
      if (err) return this.destroy(err);
      if (got === 0) return this.destroy(new Error(`object file ${span.path} is shorter than its index says`));
      this.pos += got;
      if (this.push(got === n ? buf : buf.subarray(0, got))) this._read();
    });
  }

  private next(): void {
    const done = this.spans[this.at]!;
    if (done.fd !== undefined) close(done.fd, () => {});
    done.fd = undefined;
    this.at++;
    this.pos = this.spans[this.at]?.from ?? 0;
  }

  override _destroy(err: Error | null, cb: (error?: Error | null) => void): void {
    if (!this.reading) this.closeAll(); // else when the read in flight returns
    this.onClose();
    cb(err);
  }

  private closeAll(): void {
    for (const s of this.spans) if (s.fd !== undefined) close(s.fd, () => {});
    for (const s of this.spans) s.fd = undefined;
  }
}

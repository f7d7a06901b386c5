// One open object of an archive: NDJSON lines gzipped (node:zlib, streaming) straight into the
// engine's staging, so an object is never whole in memory; committed by the partition (partition.ts)
// when it rolls, dropped when it fails or the run stops.
import { PassThrough, type Transform } from 'node:stream';
// (zlib's streams take Transform's options, highWaterMark included; its ZlibOptions type does not list them.)
import { createGzip, type ZlibOptions } from 'node:zlib';
import type { AppendRecord, StagedObject } from '../../engine/engine.js';
import type { Objects } from '../../objects/index.js';
import type { Compression } from './options.js';

const NEWLINE = Buffer.from('\n');
/** Bytes written ahead of the compressor before a write waits. */
const WRITE_BUFFER = 1024 * 1024;

export class Roll {
  /** NDJSON bytes (before compression) in the object so far: what rollSize is compared with. */
  bytes = 0;
  records = 0;
  /** The offset after the last record in it: the partition's resume offset once it commits. */
  next: number;
  /** Records that could not be lines, reported in the same commit as the object. */
  readonly errors: AppendRecord[] = [];
  private readonly out: Transform;
  private readonly staged: Promise<StagedObject>;
  private failure?: Error;
  private pending: Buffer[] = [];

  /**
   * `key`: the object's key in the bucket; `first`: its first record's offset; `day`: that record's
   * UTC day; `opened`: the clock reading when it opened.
   */
  constructor(objects: Objects, readonly key: string, readonly first: number, readonly day: number, readonly opened: number, compression: Compression, signal: AbortSignal) {
    this.next = first;
    // A buffer of a few batches: the next batch is read and checked while gzip (on libuv's threads) compresses this one.
    this.out = compression === 'gzip' ? createGzip({ highWaterMark: WRITE_BUFFER } as ZlibOptions) : new PassThrough({ highWaterMark: WRITE_BUFFER });
    this.staged = objects.stage(this.out, { signal });
    this.staged.catch((e: Error) => {
      this.failure = e;
      this.out.destroy();
    });
  }

  /** Adds a record's line (its JSON text, without the newline); written by the next flush. */
  push(line: Buffer, offset: number): void {
    this.pending.push(line, NEWLINE);
    this.bytes += line.length + 1;
    this.records++;
    this.next = offset + 1;
  }

  /** Writes the pushed lines, waiting while the staging is behind; throws what failed the staging. */
  async flush(): Promise<void> {
    if (this.failure) throw this.failure;
    if (this.pending.length === 0) return;
    const chunk = this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending);
    this.pending = [];
    if (this.out.write(chunk)) return;
    await new Promise<void>((resolve, reject) => {
      const done = () => {
        this.out.off('drain', done);
        this.out.off('close', done);
        resolve();
      };
      this.out.on('drain', done).on('close', done);
      this.staged.catch(reject);
    });
    if (this.failure) throw this.failure;
  }

  /** Ends the object: its bytes staged, ready to commit. */
  async finish(): Promise<StagedObject> {
    await this.flush();
    this.out.end();
    return this.staged;
  }

  /** Drops the object (its staged bytes, if any, are discarded). */
  async abandon(discard: (s: StagedObject) => Promise<void>): Promise<void> {
    this.pending = [];
    this.out.destroy();
    const staged = await this.staged.catch(() => undefined);
    if (staged) await discard(staged).catch(() => {});
  }
}

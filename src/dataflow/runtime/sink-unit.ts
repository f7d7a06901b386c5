// A sink unit: reads a pipeline's internal stream for one sink step (`_sluice.<p>.t.<sink>`) and
// hands its rows to the sink in batches (src/connectors/sink.ts). A transactional sink stores its
// offset with its rows and says where to resume; for an idempotent one the unit commits the offset
// in the engine after the write, and writes the batch's range ahead of it, so a write repeated
// after a crash is the same batch with the same ids (decision 020).
import type { AppendRecord, StoredRecord } from '../../engine/engine.js';
import type { RejectedRow, Sink, SinkRow } from '../../connectors/sink.js';
import type { ErrorRecord } from '../dsl.js';
import { errorSinkOf } from '../executor.js';
import { stateKey, tableStream, tableUnit } from './layout.js';
import { Unit, type UnitContext } from './units.js';
import { decode, encode, unpackRows } from './wire.js';

/** The input range an idempotent sink's batch covers, written before the write. */
interface BatchIntent {
  from: number;
  to: number;
  batch: number;
}

const NEVER = new AbortController().signal;

export class SinkUnit extends Unit {
  /** An idempotent sink's interrupted batch: the first batch read after a restart is exactly it. */
  private pending?: BatchIntent;
  /** The input stream's creation time: its generation (sluice replay recreates it). */
  private generation = 0;

  constructor(readonly sinkName: string, private readonly sink: Sink, ctx: UnitContext, private readonly floor?: number) {
    super(tableUnit(sinkName), ctx);
    if (sink.batchMessages) this.readMax = Math.min(this.readMax, sink.batchMessages);
  }

  private get stream(): string {
    return tableStream(this.pipeline, this.sinkName);
  }

  private get intentKey(): string {
    return `${stateKey(this.pipeline, this.id)}/batch`;
  }

  private get signal(): AbortSignal {
    return this.ctx.signal ?? NEVER;
  }

  override async open(fresh: () => Promise<number>): Promise<void> {
    this.generation = (await this.ctx.engine.describeStream(this.stream)).createdAt;
    if (this.sink.delivery === 'transactional') {
      this.offset = (await this.sink.committed(this.pipeline, this.sinkName, 0, this.signal)) ?? (await fresh());
      return;
    }
    await super.open(fresh);
    const intent = await this.ctx.engine.getState(this.intentKey);
    const i = intent && (decode(intent.value) as BatchIntent);
    if (i && i.from === this.offset) this.pending = i;
  }

  protected restore(): void {}

  async step(): Promise<boolean> {
    const { records, next } = await this.readBatch();
    if (records.length === 0) return false;
    const from = this.offset;
    const errors: AppendRecord[] = [];
    const report = (place: string, error: string, value: unknown) =>
      errors.push({ id: `${this.pipeline}/${this.id}/${place}`, value: encode({ source: this.stream, error, value } satisfies ErrorRecord) });
    let rows: SinkRow[] = [];
    let bad = 0;
    for (const r of records) {
      try {
        unpackRows(r.value).forEach(([key, value, deleted], i) => rows.push({ key, value, deleted: deleted === 1, place: `${r.offset}.${i}` }));
      } catch (e) {
        // A message Sluice did not write: reported with its bytes, under an id from its place.
        bad++;
        report(String(r.offset), `message at offset ${r.offset}: ${(e as Error).message}`, Buffer.from(r.value).toString('base64'));
      }
    }
    const read = rows.length;
    const floor = this.floor;
    if (floor !== undefined) rows = rows.filter(({ value }) => !(typeof value.windowStart === 'number' && value.windowStart < floor));
    const transactional = this.sink.delivery === 'transactional';
    if (transactional && errors.length > 0) await this.ctx.engine.append(errorSinkOf(this.pipeline), errors.splice(0));
    if (!transactional && !this.pending) {
      const intent: BatchIntent = { from, to: next, batch: this.readMax };
      await this.ctx.engine.commit({ state: [{ key: this.intentKey, value: encode(intent) }], fences: [this.ctx.lease] });
    }
    let rejected = 0;
    const reject = async (refused: RejectedRow[]) => {
      rejected += refused.length;
      for (const { row, error } of refused) report(row.place, error, row.value);
      // Transactional: stored before the sink's commit, ids from the rows' places (a repeat is dropped).
      if (transactional && errors.length > 0) await this.ctx.engine.append(errorSinkOf(this.pipeline), errors.splice(0));
    };
    // A transactional sink stores the offset even for a batch without rows; an idempotent one has nothing to send.
    if (rows.length > 0 || transactional) await this.sink.write({ pipeline: this.pipeline, sink: this.sinkName, stream: this.stream, partition: 0, from, next, epoch: this.ctx.lease.version, generation: this.generation, rows }, { signal: this.signal, reject });
    this.offset = next;
    this.pending = undefined;
    this.stats.errors += bad + rejected;
    this.stats.records += read;
    if (transactional) this.stats.epochs++;
    else await this.commit(errors.length ? [{ stream: errorSinkOf(this.pipeline), records: errors }] : [], {}, from);
    await this.trimInput(this.stream, 0);
    return true;
  }

  /** The next batch: after a restart, exactly the interrupted batch of an idempotent sink. */
  private async readBatch(): Promise<{ records: StoredRecord[]; next: number }> {
    const p = this.pending;
    const { records, next } = await this.ctx.engine.read(this.stream, 0, this.offset, p?.batch ?? this.readMax);
    if (!p) return { records, next };
    const cut = records.findIndex((r) => r.offset >= p.to);
    if (cut >= 0 || next >= p.to) return { records: cut >= 0 ? records.slice(0, cut) : records, next: p.to };
    this.pending = undefined; // its input is not all there any more (retention): a batch of what is
    return { records, next };
  }
}

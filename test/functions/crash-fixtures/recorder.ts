// The crash test's function. For every batch it first notes each record it was given, durably (one
// line per record appended to $DELIVERIES: the server's pid, the invocation's request id, the
// record's sequence number and id), then applies the batch's side effect idempotently, as Lambda
// users do with a conditional write: in one SQLite transaction ($EFFECTS), a record whose id is not
// in `applied` yet is inserted there and added to its key's total; one already there is only noted
// in `skipped`. Then it holds the batch $HOLD_MS more, so that a kill -9 often lands mid-batch.
import Database from 'better-sqlite3';
import { appendFileSync } from 'node:fs';
import type { KinesisStreamEvent } from '../../../src/functions/streams/index.js';

/** What the producer puts: an id, a key and a number to add to the key's total. */
interface Input {
  id: string;
  k: string;
  n: number;
}

// One connection per worker, reused by warm invocations; writers of other workers wait their turn.
const db = new Database(process.env.EFFECTS!, { timeout: 30_000 });
db.pragma('journal_mode = WAL');
db.exec(`
  CREATE TABLE IF NOT EXISTS applied (id TEXT PRIMARY KEY, k TEXT NOT NULL, pid INTEGER NOT NULL, request_id TEXT NOT NULL);
  CREATE TABLE IF NOT EXISTS skipped (id TEXT NOT NULL, pid INTEGER NOT NULL, request_id TEXT NOT NULL);
  CREATE TABLE IF NOT EXISTS totals (k TEXT PRIMARY KEY, count INTEGER NOT NULL, sum INTEGER NOT NULL);`);
const apply = db.prepare('INSERT INTO applied (id, k, pid, request_id) VALUES (?, ?, ?, ?) ON CONFLICT (id) DO NOTHING');
const skip = db.prepare('INSERT INTO skipped (id, pid, request_id) VALUES (?, ?, ?)');
const add = db.prepare('INSERT INTO totals (k, count, sum) VALUES (?, 1, ?) ON CONFLICT (k) DO UPDATE SET count = count + 1, sum = sum + excluded.sum');
const applyBatch = db.transaction((inputs: Input[], requestId: string) => {
  for (const x of inputs) {
    if (apply.run(x.id, x.k, process.pid, requestId).changes === 1) add.run(x.k, x.n);
    else skip.run(x.id, process.pid, requestId);
  }
});

export const handler = async (event: KinesisStreamEvent, context: { awsRequestId: string }) => {
  const inputs = event.Records.map((r) => JSON.parse(Buffer.from(r.kinesis.data, 'base64').toString()) as Input);
  appendFileSync(process.env.DELIVERIES!, event.Records.map((r, i) => `${process.pid} ${context.awsRequestId} ${r.kinesis.sequenceNumber} ${inputs[i]!.id}\n`).join(''));
  applyBatch(inputs, context.awsRequestId);
  await new Promise((resolve) => setTimeout(resolve, Number(process.env.HOLD_MS ?? 0)));
};

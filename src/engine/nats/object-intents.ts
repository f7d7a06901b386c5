// The write-ahead intent of a nats commit with objects (decision 018): the entries it writes and
// the appends it publishes, as JSON (bytes in base64), so a recovery can finish the unit.
import type { AppendRecord, CommitAppend, EncodedBatch } from '../engine.js';
import type { Entry } from './object-entries.js';

/** One entry write: its KV key, the revision read (0: no entry), the entry or null (delete). */
export interface Op {
  key: string;
  name: string;
  rev: number;
  entry: Entry | null;
}

export interface Intent {
  at: number;
  unit: string;
  ops: Op[];
  appends: CommitAppend[];
}

type Wire = Omit<Intent, 'appends'> & { appends: { stream: string; records: (Omit<AppendRecord, 'value'> & { value: string })[]; batches?: (Omit<EncodedBatch, 'payload'> & { payload: string })[] }[] };

export function encodeIntent(i: Intent): Buffer {
  const wire: Wire = {
    ...i,
    appends: i.appends.map((a) => ({
      stream: a.stream,
      records: a.records.map((r) => ({ ...r, value: Buffer.from(r.value).toString('base64') })),
      ...(a.batches ? { batches: a.batches.map((b) => ({ ...b, payload: b.payload.toString('base64') })) } : {}),
    })),
  };
  return Buffer.from(JSON.stringify(wire));
}

export function decodeIntent(b: Uint8Array): Intent {
  const wire = JSON.parse(Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('utf8')) as Wire;
  return {
    ...wire,
    appends: wire.appends.map((a) => ({
      stream: a.stream,
      records: a.records.map((r) => ({ ...r, value: Buffer.from(r.value, 'base64') })),
      ...(a.batches ? { batches: a.batches.map((x) => ({ ...x, payload: Buffer.from(x.payload, 'base64') })) } : {}),
    })),
  };
}

// Triggered by the `player-events` stream with Lambda's Kinesis event: checks every record, adds
// watch progress, a progress bucket and a device class, and forwards the batch to
// `enriched-events` with PutRecords through an unchanged AWS SDK client (AWS_ENDPOINT_URL, the
// region and the function's own keys come from its environment, as on Lambda).
//
// A batch is forwarded all or nothing. One holding a malformed record fails (MalformedBatchError),
// and bisectBatchOnFunctionError halves it until the malformed record is alone; that one is
// reported in `batchItemFailures`, so after its retries it goes to the onFailure stream with its
// data. Why not report it at once in a batch of 100? Lambda checkpoints at the lowest reported
// sequence number and retries — and at last discards — everything from there on, so the good
// records after it would be sent twice, or end up in the failure stream beside it.
import { KinesisClient, PutRecordsCommand, type PutRecordsRequestEntry } from '@aws-sdk/client-kinesis';
import type { KinesisStreamEvent } from '../../../src/functions/streams/index.js';
import { enrich, validate } from '../events.js';

const OUTPUT_STREAM = process.env.OUTPUT_STREAM ?? 'enriched-events';
const PUT_RECORDS_MAX = 500; // Kinesis' limit per PutRecords call
const PUT_ATTEMPTS = 3; // sends of the records a PutRecords answer says failed (the SDK retries whole calls itself)

// Made once per worker and reused by warm invocations, as on Lambda.
const kinesis = new KinesisClient({});

export class MalformedBatchError extends Error {
  override name = 'MalformedBatchError';
}

export const handler = async (event: KinesisStreamEvent) => {
  const records = event.Records.map((r) => ({ r, checked: validate(Buffer.from(r.kinesis.data, 'base64')) }));
  const bad = records.filter((x) => !x.checked.ok);
  if (bad.length > 0) {
    for (const { r, checked } of bad) console.warn(`malformed record ${r.eventID}: ${checked.ok ? '' : checked.reason}`);
    if (records.length === 1) return { batchItemFailures: [{ itemIdentifier: records[0]!.r.kinesis.sequenceNumber }] };
    throw new MalformedBatchError(`${bad.length} of ${records.length} records are malformed: failing the batch so that it is split until they are alone`);
  }
  const entries: PutRecordsRequestEntry[] = records.map(({ checked }) => {
    const e = enrich((checked as { event: Parameters<typeof enrich>[0] }).event);
    return { PartitionKey: e.sessionId, Data: Buffer.from(JSON.stringify(e)) };
  });
  for (let i = 0; i < entries.length; i += PUT_RECORDS_MAX) await put(entries.slice(i, i + PUT_RECORDS_MAX));
  console.log(`forwarded ${entries.length} enriched events to ${OUTPUT_STREAM}`);
  return { batchItemFailures: [] };
};

/** PutRecords, sending again the records the answer reports as failed; throws if some still fail (the batch is retried). */
async function put(entries: PutRecordsRequestEntry[]): Promise<void> {
  let pending = entries;
  for (let attempt = 1; ; attempt++) {
    const out = await kinesis.send(new PutRecordsCommand({ StreamName: OUTPUT_STREAM, Records: pending }));
    if (!out.FailedRecordCount) return;
    const failed = pending.filter((_, i) => out.Records?.[i]?.ErrorCode);
    const first = out.Records?.find((r) => r.ErrorCode);
    if (attempt === PUT_ATTEMPTS) throw new Error(`PutRecords to ${OUTPUT_STREAM}: ${failed.length} records failed: ${first?.ErrorCode} ${first?.ErrorMessage}`);
    console.warn(`PutRecords to ${OUTPUT_STREAM}: ${failed.length} records failed (${first?.ErrorCode}), sending them again`);
    pending = failed;
  }
}

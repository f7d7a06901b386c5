// Writes one line per invocation it starts — `<pid> <request id> <key> <sequencer>` — to
// $RECORD_FILE (synchronously: the line is on disk before anything else happens), then stays in
// flight HOLD_MS, so a kill -9 may land while it runs.
import { appendFileSync } from 'node:fs';

const HOLD_MS = 50;

export const handler = async (event: { Records: { s3: { object: { key: string; sequencer: string } } }[] }, context: { awsRequestId: string }) => {
  const { key, sequencer } = event.Records[0]!.s3.object;
  appendFileSync(process.env.RECORD_FILE!, `${process.pid} ${context.awsRequestId} ${key} ${sequencer}\n`);
  await new Promise((r) => setTimeout(r, HOLD_MS));
  return 'recorded';
};

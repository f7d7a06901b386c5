// The object-triggered function of bench/objects: its first line takes the time (the system's
// monotonic clock, which every process on the machine shares, and Date.now()), then appends
// `<key> <hrtime ns> <Date.now()>` to $STAMP_FILE synchronously.
import { appendFileSync } from 'node:fs';

export const handler = async (event: { Records: { s3: { object: { key: string } } }[] }) => {
  const ns = process.hrtime.bigint();
  const ms = Date.now();
  appendFileSync(process.env.STAMP_FILE!, `${event.Records[0]!.s3.object.key} ${ns} ${ms}\n`);
  return 'stamped';
};

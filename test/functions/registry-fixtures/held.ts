// Notes every batch it is given ($SEEN: its pid and the records' data, one line a batch). The first
// batch holding $HOLD_AT is held for ever, after its pid is written to $HELD: the test kills it there.
import { appendFileSync, existsSync, writeFileSync } from 'node:fs';

export const handler = async (event: { Records: { kinesis: { data: string } }[] }) => {
  const data = event.Records.map((r) => Buffer.from(r.kinesis.data, 'base64').toString());
  appendFileSync(process.env.SEEN!, `${process.pid} ${data.join(',')}\n`);
  if (data.includes(process.env.HOLD_AT!) && !existsSync(process.env.HELD!)) {
    writeFileSync(process.env.HELD!, String(process.pid));
    await new Promise(() => {});
  }
  return null;
};

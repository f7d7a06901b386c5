// Appends through its context's Sluice client, and through an unchanged AWS SDK KinesisClient (env: AWS_ENDPOINT_URL and its own keys).
import { KinesisClient, PutRecordsCommand } from '@aws-sdk/client-kinesis';

export const handler = async (event: { stream: string; via: 'sluice' | 'sdk' }, context: { sluice: { append(stream: string, records: unknown[]): Promise<unknown> } }) => {
  if (event.via === 'sluice') return context.sluice.append(event.stream, [{ from: 'context' }]);
  const kinesis = new KinesisClient({});
  const out = await kinesis.send(new PutRecordsCommand({ StreamName: event.stream, Records: [{ PartitionKey: 'k', Data: Buffer.from('{"from":"sdk"}') }] }));
  return { failed: out.FailedRecordCount };
};

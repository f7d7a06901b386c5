// The seed's S3 event handler in TypeScript: S3's object-created event → the bucket and key →
// the object read through an unchanged S3Client → a notification `{bucket_name, key_name, size,
// timestamp}` published through an unchanged KinesisClient (the seed published to SNS). The
// endpoint, region and the function's own keys come from its environment, as on Lambda.
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { KinesisClient, PutRecordCommand } from '@aws-sdk/client-kinesis';
import type { S3Event, S3EventRecord } from '../../../src/functions/objects/index.js';

const TOPIC = process.env.NOTIFICATIONS_STREAM ?? 'notifications';

// Made once per worker and reused by warm invocations, as on Lambda. Unchanged: Sluice serves
// buckets path-style (/{bucket}/{key}), which the SDK chooses by itself when AWS_ENDPOINT_URL is
// an IP address, as the one Sluice gives its functions is (a client reaching Sluice by a host
// name needs `forcePathStyle: true`: see upload.ts).
const s3 = new S3Client({});
const kinesis = new KinesisClient({});

/** The bucket and key of an event record; keys arrive URL-encoded, spaces as '+'. */
export function getBucketKey(record: S3EventRecord): { bucket: string; key: string } {
  return { bucket: record.s3.bucket.name, key: decodeURIComponent(record.s3.object.key.replace(/\+/g, ' ')) };
}

export const handler = async (event: S3Event, context: { awsRequestId: string }) => {
  console.log(`${JSON.stringify(event)}-${context.awsRequestId}`);
  for (const record of event.Records) {
    const { bucket, key } = getBucketKey(record);
    const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    const bytes = await object.Body!.transformToByteArray();
    const values = { bucket_name: bucket, key_name: key, size: bytes.length, timestamp: new Date().toISOString() };
    await kinesis.send(new PutRecordCommand({ StreamName: TOPIC, PartitionKey: key, Data: Buffer.from(JSON.stringify(values)) }));
    console.info(`notified ${TOPIC}: ${bucket}/${key} (${bytes.length} bytes)`);
  }
};

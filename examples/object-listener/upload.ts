// `aws s3 cp <file> s3://<bucket>/<key>` with @aws-sdk/client-s3, for machines without the AWS CLI:
// lib-storage's Upload, which, as the CLI, switches to a multipart upload above 8 MiB.
//
//   node --import tsx examples/object-listener/upload.ts report.csv s3://uploads/2026/11/report.csv [--endpoint URL]
import { S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { createReadStream, statSync } from 'node:fs';
import { parseArgs } from 'node:util';

const MULTIPART_THRESHOLD = 8 * 1024 * 1024; // the AWS CLI's multipart_threshold and chunk size

const { values, positionals } = parseArgs({ allowPositionals: true, options: { endpoint: { type: 'string' } } });
const [file, target] = positionals;
const m = target ? /^s3:\/\/([^/]+)\/(.+)$/.exec(target) : null;
if (!file || !m) {
  console.error('usage: upload.ts <file> s3://<bucket>/<key> [--endpoint URL]');
  process.exit(2);
}
const [, bucket, key] = m;
const endpoint = values.endpoint ?? process.env.SLUICE_URL ?? 'http://127.0.0.1:4320';
// Path-style: Sluice serves /{bucket}/{key} and no virtual hosts. Under `sluice dev` any key pair does.
const s3 = new S3Client({
  endpoint, region: process.env.AWS_REGION ?? 'us-east-1', forcePathStyle: true,
  credentials: { accessKeyId: process.env.AWS_ACCESS_KEY_ID ?? 'dev', secretAccessKey: process.env.AWS_SECRET_ACCESS_KEY ?? 'dev' },
});
const size = statSync(file).size;
const upload = new Upload({ client: s3, params: { Bucket: bucket, Key: key, Body: createReadStream(file) }, partSize: MULTIPART_THRESHOLD, queueSize: 2 });
const done = await upload.done();
s3.destroy();
console.log(`upload: ${file} to s3://${bucket}/${key} (${size} bytes${size > MULTIPART_THRESHOLD ? ', multipart' : ''}), ETag ${done.ETag}`);

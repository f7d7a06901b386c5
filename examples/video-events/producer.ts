// Puts player events (and a few malformed records) into `player-events` through the Kinesis API
// with an unchanged AWS SDK KinesisClient, as a producer on AWS would; only `endpoint` points at
// Sluice's gateway. Run: node --import tsx examples/video-events/producer.ts [--endpoint URL]
// [--count N] [--seed S] [--start ISO-time] [--batch N]. Prints one line of totals.
import { KinesisClient, PutRecordsCommand, type PutRecordsRequestEntry } from '@aws-sdk/client-kinesis';
import { parseArgs } from 'node:util';
import { plan } from './events.js';

const STREAM = 'player-events';
const DEFAULT_ENDPOINT = 'http://127.0.0.1:4320';
const PUT_ATTEMPTS = 5; // sends of the records a PutRecords answer says failed

const { values: args } = parseArgs({
  options: {
    endpoint: { type: 'string', default: process.env.SLUICE_URL || DEFAULT_ENDPOINT },
    count: { type: 'string', default: '200' },
    seed: { type: 'string', default: '1' },
    start: { type: 'string' },
    batch: { type: 'string', default: '50' },
  },
});

const count = Number(args.count);
const seed = Number(args.seed);
const batch = Number(args.batch);
const start = args.start === undefined ? Date.now() : Date.parse(args.start);
if (!Number.isInteger(count) || count < 0) fail(`--count: expected a whole number, got '${args.count}'`);
if (!Number.isInteger(seed)) fail(`--seed: expected a whole number, got '${args.seed}'`);
if (!Number.isInteger(batch) || batch < 1 || batch > 500) fail(`--batch: expected 1-500 (Kinesis' PutRecords limit), got '${args.batch}'`);
if (!Number.isFinite(start)) fail(`--start: expected an ISO time, got '${args.start}'`);

// (On Node 20 the AWS SDK prints an end-of-support notice when a client is made; this example does not need it.)
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
// An open gateway accepts any signature; one with keys wants a key pair it knows (AWS_ACCESS_KEY_ID…).
const credentials = process.env.AWS_ACCESS_KEY_ID ? undefined : { accessKeyId: 'AKIDVIDEOEVENTS', secretAccessKey: 'any' };
const kinesis = new KinesisClient({ endpoint: args.endpoint, region: process.env.AWS_REGION ?? 'us-east-1', ...(credentials && { credentials }) });

const records = plan({ count, seed, start });
let calls = 0;
let resent = 0;
try {
  for (let i = 0; i < records.length; i += batch) {
    await put(records.slice(i, i + batch).map((r) => ({ PartitionKey: r.partitionKey, Data: r.data })));
  }
} catch (e) {
  fail(`${(e as Error).name}: ${(e as Error).message} (is sluice dev running at ${args.endpoint}?)`);
} finally {
  kinesis.destroy();
}
const malformed = records.filter((r) => r.malformed).length;
console.log(`put ${records.length} records to ${STREAM} at ${args.endpoint}: ${records.length - malformed} player events, ${malformed} malformed; ${calls} PutRecords calls, ${resent} records sent again`);

/** One PutRecords call, then again with only the records its answer says failed (they were not stored). */
async function put(entries: PutRecordsRequestEntry[]): Promise<void> {
  let pending = entries;
  for (let attempt = 1; ; attempt++) {
    calls++;
    const out = await kinesis.send(new PutRecordsCommand({ StreamName: STREAM, Records: pending }));
    if (!out.FailedRecordCount) return;
    const failed = pending.filter((_, i) => out.Records?.[i]?.ErrorCode);
    if (attempt === PUT_ATTEMPTS) throw new Error(`${failed.length} records still failed after ${attempt} attempts: ${out.Records?.find((r) => r.ErrorCode)?.ErrorMessage}`);
    resent += failed.length;
    pending = failed;
    await new Promise((r) => setTimeout(r, 100 * 2 ** attempt));
  }
}

function fail(message: string): never {
  console.error(`producer: ${message}`);
  process.exit(1);
}

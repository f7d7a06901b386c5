// The video-events example (seed talk 001): player events arrive through the Kinesis API, a
// stream-triggered function checks and enriches them, malformed ones end up in a failure stream
// with their data, and a scheduled function publishes a heartbeat every minute. The enriched
// events are archived by day into the bucket `video-events`, and a pipeline counts each video's
// views per minute into PostgreSQL and alerts a webhook on error rates (pipeline.ts).
import { defineConfig, defineFunction } from '../../src/config/index.js';

export default defineConfig({
  streams: {
    'player-events': { partitions: 4, partitionKeyField: 'sessionId' },
    'enriched-events': { partitions: 4, partitionKeyField: 'sessionId' },
    'player-events-failed': { partitions: 1 },
    heartbeats: { partitions: 1 },
    'video-alerts': { partitions: 1 },
  },
  // What Kinesis Data Firehose does for S3: <yyyy>/<mm>/<dd>/enriched-events-<partition>-<first offset>.ndjson.gz,
  // dated by arrival (UTC). Rolled every 10 s (Firehose waits 300 s by default) so that objects appear soon.
  archives: {
    'enriched-events': { bucket: 'video-events', rollInterval: '10s' },
  },
  dataflow: { pipelines: ['./pipeline.ts'] },
  functions: {
    enrich: defineFunction({
      handler: './functions/enrich.ts',
      timeout: '10s',
      permissions: { 'enriched-events': ['write'] },
      // (On Node 20 the AWS SDK prints an end-of-support notice; it would be the first line of `sluice logs`.)
      environment: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
      triggers: [
        {
          stream: 'player-events',
          startingPosition: 'TRIM_HORIZON', // events put before the function first ran are enriched too
          batchSize: 100,
          functionResponseTypes: ['ReportBatchItemFailures'],
          bisectBatchOnFunctionError: true, // a batch with a malformed record is halved until the record is alone
          maximumRetryAttempts: 2, // then a reported record is tried twice more before it goes to onFailure
          retryBaseDelayMs: 200, // 200 ms, then 400 ms (Lambda waits about 1 s, then 2 s)
          onFailure: 'player-events-failed',
        },
      ],
    }),
    heartbeat: defineFunction({
      handler: './functions/heartbeat.ts',
      permissions: { heartbeats: ['write'] },
      triggers: [{ schedule: 'rate(1 minute)' }],
    }),
  },
});

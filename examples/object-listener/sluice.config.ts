// The object-listener example (seed talk 002): a file lands in the bucket `uploads`, the write's
// object-created event invokes `listener`, which reads the object with the AWS SDK and publishes a
// notification `{bucket_name, key_name, size, timestamp}` to the stream `notifications`.
import { defineConfig, defineFunction } from '../../src/config/index.js';

export default defineConfig({
  buckets: { uploads: {} },
  streams: { notifications: { partitions: 1 } },
  functions: {
    listener: defineFunction({
      handler: './functions/listener.ts',
      timeout: '10s',
      // What its own key pair may do: read the bucket, write the notifications (the seed's IAM policy).
      permissions: { 'bucket:uploads': ['read'], notifications: ['write'] },
      // (On Node 20 the AWS SDK prints an end-of-support notice; it would be the first line of `sluice logs`.)
      environment: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
      triggers: [{ object: { bucket: 'uploads', events: ['ObjectCreated:*'] } }],
      async: { maximumRetryAttempts: 2 }, // Lambda's default for asynchronous events, written out
    }),
  },
});

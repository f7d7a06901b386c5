// `sluice functions describe`'s text for a function of each trigger kind: object triggers (with
// their filters) and destinations are printed beside the stream triggers and schedules.
import { expect, it } from 'vitest';
import { describeText } from '../../src/cli/functions.js';

const base = {
  name: 'onup', arn: 'arn:aws:lambda:us-east-1:000000000000:function:onup', runtime: 'thread', handler: './onup.ts', timeoutMs: 3000, memoryMB: 128, concurrency: 10,
  permissions: { 'bucket:uploads': ['read'] }, logStream: '_sluice.fn.onup.logs',
  metrics: { Invocations: 3, Errors: 0, Throttles: 0, ConcurrentExecutions: 0, DestinationDeliveryFailures: 0, IteratorAge: null, Duration: null },
  workers: { workers: 1, busy: 0, coldStarts: 1, replaced: 0 },
  asyncQueue: { inFlight: 0, retried: 1, failedForGood: 0 },
  mappings: [], schedules: [],
};

it('prints each object trigger with its events and filters, and the destinations', () => {
  const text = describeText({
    ...base,
    triggers: [
      { object: { bucket: 'uploads', events: ['ObjectCreated:*'] } },
      { object: { bucket: 'logs', events: ['ObjectCreated:Put', 'ObjectRemoved:*'], prefix: 'in/', suffix: '.gz' } },
    ],
    destinations: { onFailure: { stream: 'failed' }, onSuccess: { stream: 'done' } },
  }).split('\n');
  expect(text.slice(7)).toEqual([
    'async queue: 0 in flight, 1 retried, 0 failed for good',
    "object trigger: bucket 'uploads', ObjectCreated:*; invoked asynchronously (the async queue above)",
    "object trigger: bucket 'logs', ObjectCreated:Put, ObjectRemoved:*, prefix 'in/', suffix '.gz'; invoked asynchronously (the async queue above)",
    "destinations: onFailure stream 'failed', onSuccess stream 'done'",
    'logs: sluice logs onup (stream _sluice.fn.onup.logs)',
    '',
  ]);
});

it('prints neither without object triggers or destinations', () => {
  const text = describeText({ ...base, triggers: [], destinations: {} });
  expect(text).not.toMatch(/object trigger|destinations/);
});

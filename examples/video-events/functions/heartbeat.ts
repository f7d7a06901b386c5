// Run by the schedule `rate(1 minute)` with EventBridge's scheduled event: appends one heartbeat
// record to the `heartbeats` stream through the context's Sluice client (the function's own key,
// limited to its permissions). Invoked by hand (`sluice invoke heartbeat`), it beats for now.
import type { LambdaContext } from '../../../src/functions/runtime/context.js';

/** The parts of EventBridge's scheduled event this function reads. */
interface ScheduledEvent {
  time?: string;
  resources?: string[];
}

export interface Heartbeat {
  type: 'heartbeat';
  /** The scheduled time (EventBridge's `time`), or the invocation's when invoked by hand. */
  time: string;
  /** The rule's ARN, or 'manual'. */
  rule: string;
  requestId: string;
}

export const HEARTBEAT_STREAM = process.env.HEARTBEAT_STREAM ?? 'heartbeats';

export const handler = async (event: ScheduledEvent, context: LambdaContext): Promise<Heartbeat> => {
  const beat: Heartbeat = {
    type: 'heartbeat',
    time: event.time ?? new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
    rule: event.resources?.[0] ?? 'manual',
    requestId: context.awsRequestId,
  };
  const [result] = await context.sluice.append(HEARTBEAT_STREAM, [beat], { key: 'heartbeat' });
  if (!result || 'error' in result) throw new Error(`appending the heartbeat to ${HEARTBEAT_STREAM} failed: ${result ? result.error.message : 'no result'}`);
  console.log(`heartbeat ${beat.time} stored at ${HEARTBEAT_STREAM} partition ${result.partition} offset ${result.offset}`);
  return beat;
};

// The event a schedule invokes its function with: EventBridge's "Scheduled Event".
import { randomUUID } from 'node:crypto';
import { ACCOUNT } from '../../gateway/kinesis/errors.js';

/** EventBridge's scheduled event, as a handler types it (`ScheduledEvent` of @types/aws-lambda). */
export interface ScheduledEvent<TDetail = Record<string, never>> {
  version: '0';
  id: string;
  'detail-type': 'Scheduled Event';
  source: 'aws.events';
  account: string;
  /** The scheduled time (not when the run began), whole seconds, UTC: '2024-01-01T12:00:00Z'. */
  time: string;
  region: string;
  resources: [string];
  detail: TDetail;
}

/** The ARN of a schedule's rule, as EventBridge names rules. */
export const ruleArnOf = (region: string, rule: string): string => `arn:aws:events:${region}:${ACCOUNT}:rule/${rule}`;

/** EventBridge's time form: ISO 8601 in UTC to the second. */
export const eventTime = (ms: number): string => new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');

export function scheduledEvent(at: number, region: string, ruleArn: string, detail: unknown = {}): ScheduledEvent<unknown> {
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': 'Scheduled Event',
    source: 'aws.events',
    account: ACCOUNT,
    time: eventTime(at),
    region,
    resources: [ruleArn],
    detail,
  };
}

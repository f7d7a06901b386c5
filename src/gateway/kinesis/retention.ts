// IncreaseStreamRetentionPeriod and DecreaseStreamRetentionPeriod, with AWS's bounds and rules: an
// increase may not shorten the retention, a decrease may not lengthen it.
import { invalidArgument } from './errors.js';
import { HOUR_MS, hoursOf, streamNameOf } from './streams.js';
import type { KinesisCall } from './types.js';

export const MIN_RETENTION_HOURS = 24;
export const MAX_RETENTION_HOURS = 8760; // 365 days

async function changeRetention(call: KinesisCall, direction: 'increase' | 'decrease'): Promise<undefined> {
  const name = streamNameOf(call.params);
  call.authorize(name, 'admin');
  const hours = call.params.RetentionPeriodHours as number;
  const current = await call.gw.engine.describeStream(name);
  if (hours < MIN_RETENTION_HOURS) {
    throw invalidArgument(`Minimum allowed retention period is ${MIN_RETENTION_HOURS} hours. Requested retention period (${hours} hours) is too short.`);
  }
  if (hours > MAX_RETENTION_HOURS) {
    throw invalidArgument(`Maximum allowed retention period is ${MAX_RETENTION_HOURS} hours. Requested retention period (${hours} hours) is too long.`);
  }
  const retentionMs = hours * HOUR_MS;
  const had = `existing retention period (${hoursOf(current.retentionMs)} hours)`;
  if (direction === 'increase' && retentionMs < current.retentionMs) {
    throw invalidArgument(`Requested retention period (${hours} hours) for stream ${name} can not be shorter than ${had}. Use DecreaseRetentionPeriod API.`);
  }
  if (direction === 'decrease' && retentionMs > current.retentionMs) {
    throw invalidArgument(`Requested retention period (${hours} hours) for stream ${name} can not be longer than ${had}. Use IncreaseRetentionPeriod API.`);
  }
  await call.gw.engine.updateStream(name, { retentionMs });
  call.gw.forgetStream(name);
  return undefined;
}

/** IncreaseStreamRetentionPeriod: lengthens (or keeps) the retention, within 24–8760 h. */
export const increaseStreamRetentionPeriod = (call: KinesisCall) => changeRetention(call, 'increase');
/** DecreaseStreamRetentionPeriod: shortens (or keeps) the retention, within 24–8760 h. */
export const decreaseStreamRetentionPeriod = (call: KinesisCall) => changeRetention(call, 'decrease');

// Schedule triggers: AWS's rate() and cron() expressions and 5-field cron, invoking a function with
// EventBridge's scheduled event (the registry creates one per `{ schedule: … }` trigger).
export { createSchedule, DEFAULT_MISSED_RUNS, Schedule, type ScheduleOptions, type ScheduleSpec, type ScheduleStats } from './schedule.js';
export { DEFAULT_TIME_ZONE, parseSchedule, type ScheduleExpression } from './expression.js';
export { eventTime, ruleArnOf, scheduledEvent, type ScheduledEvent } from './event.js';
export { InvalidScheduleExpressionError, InvalidScheduleOptionError, isInvalidScheduleExpressionError, isInvalidScheduleOptionError } from './errors.js';

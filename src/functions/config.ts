// A function in sluice.config.ts: `functions: { <name>: defineFunction({ handler, … }) }`, its
// schema (validated with the rest of the config, one line per bad field) and its defaults.
import { z } from 'zod';
import { parseDuration } from '../config/duration.js';
import { InvalidScheduleExpressionError, parseSchedule } from './schedules/index.js';
import { InvalidFilterPatternError, InvalidMappingOptionError } from './streams/errors.js';
import { resolveMappingOptions, type StreamMappingOptions } from './streams/options.js';
import { bucketNameProblem } from '../objects/names.js';
import { MAX_FILTER_LENGTH, OBJECT_EVENT_TYPES, overlap, type ObjectTrigger } from './objects/trigger.js';

export const DEFAULT_TIMEOUT_MS = 3_000; // Lambda's
export const MAX_THREAD_TIMEOUT_MS = 900_000; // Lambda's 15 minutes
export const MAX_PROCESS_TIMEOUT_MS = 24 * 3_600_000; // long jobs in a process of their own
export const DEFAULT_MEMORY_MB = 128;
export const DEFAULT_CONCURRENCY = 10;
export const DEFAULT_ASYNC_RETRIES = 2; // Lambda's
export const DEFAULT_MAX_EVENT_AGE_MS = 6 * 3_600_000; // Lambda's

const duration = z.union([z.number(), z.string()]).transform((v, ctx) => {
  const ms = parseDuration(v);
  if (ms === undefined) ctx.addIssue({ code: 'custom', message: `expected milliseconds or a duration like '30s', got ${JSON.stringify(v)}` });
  return ms ?? 0;
});

/** Lambda's function names: 1-64 letters, digits, '-' or '_'. */
export const FUNCTION_NAME = /^[A-Za-z0-9_-]{1,64}$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** `{ stream, …Lambda's mapping options }`: the options are checked by the mapping itself (streams/options.ts), one issue per bad field. */
const streamTrigger = z
  .object({ stream: z.string().min(1) })
  .catchall(z.unknown())
  .superRefine((t, ctx) => {
    const { stream: _stream, ...options } = t;
    try {
      resolveMappingOptions(options as StreamMappingOptions);
    } catch (e) {
      if (e instanceof InvalidMappingOptionError || e instanceof InvalidFilterPatternError) ctx.addIssue({ code: 'custom', path: [e.field.split('.')[0]!], message: e.message });
      else throw e;
    }
  });

/** Whether Intl knows an IANA time zone name. */
function isTimeZone(v: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: v });
    return true;
  } catch {
    return false;
  }
}
const timeZone = z.string().refine(isTimeZone, "expected an IANA time zone name, e.g. 'UTC' or 'Europe/Paris'");

/** `{ schedule: 'rate(5 minutes)' | 'cron(…)' | '*\/5 * * * *', … }`: EventBridge's scheduled event, queued as an asynchronous invocation. */
const scheduleTrigger = z
  .strictObject({
    schedule: z.string().min(1),
    /** The rule's name: its ARN, and the key its last run is kept under. Default '<function>-schedule' (then '-2', '-3', … for more). */
    name: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'rule names are 1-64 letters, digits, ., - or _').optional(),
    /** Cron fields are read in this time zone. Default UTC, as EventBridge. */
    timezone: timeZone.optional(),
    /** Due times passed while Sluice was stopped: 'once' (default) runs the latest on start, 'skip' none. */
    missedRuns: z.enum(['once', 'skip']).optional(),
    /** The scheduled event's `detail`. Default {}. */
    detail: z.unknown().optional(),
    /** EventBridge's constant input: the function gets this value instead of the scheduled event. */
    input: z.unknown().optional(),
    enabled: z.boolean().optional(),
  })
  .superRefine((t, ctx) => {
    try {
      parseSchedule(t.schedule, t.timezone !== undefined && isTimeZone(t.timezone) ? t.timezone : undefined); // (a bad time zone is its own issue)
    } catch (e) {
      if (e instanceof InvalidScheduleExpressionError) ctx.addIssue({ code: 'custom', path: ['schedule'], message: e.message });
      else throw e;
    }
  });

/** `{ object: { bucket, events, prefix?, suffix?, id? } }`: S3's event notification to Lambda, queued as an asynchronous invocation. */
const objectTrigger = z.strictObject({
  object: z.strictObject({
    /** The bucket (it may be created later: events are matched by name). */
    bucket: z.string().superRefine((b, ctx) => {
      const problem = bucketNameProblem(b);
      if (problem) ctx.addIssue({ code: 'custom', message: `invalid bucket name '${b}': ${problem}` });
    }),
    events: z.array(z.enum(OBJECT_EVENT_TYPES)).min(1),
    prefix: z.string().min(1).max(MAX_FILTER_LENGTH).optional(),
    suffix: z.string().min(1).max(MAX_FILTER_LENGTH).optional(),
    /** S3's configuration Id (the event's s3.configurationId). Default '<function>-object', then '-2', … */
    id: z.string().min(1).max(255).optional(),
  }),
});

const action = z.enum(['read', 'write', 'admin']);

const triggerKinds = z.union([objectTrigger, streamTrigger, scheduleTrigger]);
type TriggerOutput = z.output<typeof triggerKinds>;
const KINDS = { object: objectTrigger, stream: streamTrigger, schedule: scheduleTrigger } as const;

/**
 * A trigger is checked against the kind its key names (`object`, `stream`, `schedule`): a union
 * would answer a bad one with "Invalid input", where each bad field should be a line of its own.
 */
const trigger = z.unknown().transform((v, ctx): TriggerOutput => {
  const kind = v !== null && typeof v === 'object' ? (Object.keys(KINDS) as (keyof typeof KINDS)[]).find((k) => k in v) : undefined;
  if (!kind) {
    ctx.addIssue({ code: 'custom', message: 'a trigger is { stream, … }, { schedule, … } or { object: { bucket, events, … } }' });
    return z.NEVER;
  }
  const r = KINDS[kind].safeParse(v);
  if (r.success) return r.data;
  for (const issue of r.error.issues) ctx.addIssue({ code: 'custom', path: issue.path, message: issue.message });
  return z.NEVER;
});

export const functionSchema = z
  .strictObject({
    /** './functions/listener.ts' (exports `handler`) or './f.ts#exportName', relative to the config file. */
    handler: z.string().min(1),
    timeout: duration.optional(),
    memory: z.number().int().min(128).max(10_240).optional(),
    environment: z.record(z.string().regex(ENV_NAME, 'environment variable names are letters, digits and _'), z.string()).optional(),
    concurrency: z.number().int().min(1).max(1_000).optional(),
    runtime: z.enum(['thread', 'process']).optional(),
    /** Stream patterns → actions, as API key scopes: what the function may do through Sluice (its context client and its own key pair). */
    permissions: z.record(z.string(), z.array(action).min(1)).optional(),
    triggers: z.array(trigger).optional(),
    /** Where asynchronous invocations (Event, schedules) go when they fail for good, or succeed. */
    destinations: z.strictObject({ onFailure: z.strictObject({ stream: z.string().min(1) }).optional(), onSuccess: z.strictObject({ stream: z.string().min(1) }).optional() }).optional(),
    /** Asynchronous invocations: retries (Lambda: 2) and how old an event may get before it is dropped to onFailure (Lambda: 6 h). */
    async: z.strictObject({ maximumRetryAttempts: z.number().int().min(0).max(2).optional(), maximumEventAge: duration.optional() }).optional(),
    /** The function URL /fn/<name>/…: 'key' (default) asks for an API key with invoke permission; 'none' is public. */
    url: z.strictObject({ auth: z.enum(['key', 'none']) }).optional(),
  })
  .superRefine((f, ctx) => {
    const streams = new Set<string>();
    const rules = new Set<string>();
    const objects: [number, ObjectTrigger][] = [];
    const ids = new Set<string>();
    for (const [i, t] of (f.triggers ?? []).entries()) {
      if (isObjectTrigger(t)) {
        // S3 refuses two configurations of one bucket that could match one write; so does a function (an event would reach it twice).
        const other = objects.find(([, o]) => overlap(o, t.object));
        if (other) ctx.addIssue({ code: 'custom', path: ['triggers', i, 'object'], message: `overlaps triggers.${other[0]} (same bucket, a shared event type, overlapping prefix and suffix): one write would invoke the function twice` });
        const id = t.object.id;
        if (id !== undefined && ids.has(id)) ctx.addIssue({ code: 'custom', path: ['triggers', i, 'object', 'id'], message: `two object triggers have the id '${id}'` });
        if (id !== undefined) ids.add(id);
        objects.push([i, t.object]);
      } else if ('stream' in t) {
        // Lambda refuses a second mapping of one function to one stream (both would commit one offset group).
        if (streams.has(t.stream)) ctx.addIssue({ code: 'custom', path: ['triggers', i, 'stream'], message: `the function has a trigger on stream '${t.stream}' already` });
        streams.add(t.stream);
      } else if (t.name !== undefined) {
        if (rules.has(t.name)) ctx.addIssue({ code: 'custom', path: ['triggers', i, 'name'], message: `two schedules are named '${t.name}': give each its own name` });
        rules.add(t.name);
      }
    }
    const max = f.runtime === 'process' ? MAX_PROCESS_TIMEOUT_MS : MAX_THREAD_TIMEOUT_MS;
    if (f.timeout !== undefined && (f.timeout < 1_000 || f.timeout > max)) {
      ctx.addIssue({ code: 'custom', path: ['timeout'], message: `must be from 1 s to ${f.runtime === 'process' ? '24 h' : '900 s'} (runtime '${f.runtime ?? 'thread'}'), got ${f.timeout} ms` });
    }
    if (f.async?.maximumEventAge !== undefined && (f.async.maximumEventAge < 60_000 || f.async.maximumEventAge > DEFAULT_MAX_EVENT_AGE_MS)) {
      ctx.addIssue({ code: 'custom', path: ['async', 'maximumEventAge'], message: 'must be from 60 s to 6 h, as Lambda allows' });
    }
  });

export const functionsSchema = z.record(z.string().regex(FUNCTION_NAME, 'function names are 1-64 letters, digits, - or _'), functionSchema);

/** What a user writes for one function (its triggers typed as the kinds they are). */
export type FunctionConfig = Omit<z.input<typeof functionSchema>, 'triggers'> & { triggers?: z.input<typeof triggerKinds>[] };
/** A function's configuration after validation (durations in ms). */
export type ResolvedFunctionConfig = z.output<typeof functionSchema>;
export type StreamTriggerConfig = { stream: string } & StreamMappingOptions;
export type ScheduleTriggerConfig = z.output<typeof scheduleTrigger>;
export type ObjectTriggerConfig = z.output<typeof objectTrigger>;

/** Whether a validated trigger is an object trigger (its kind is the key it has: the schema picked it by that key). */
export const isObjectTrigger = (t: TriggerOutput): t is ObjectTriggerConfig => 'object' in t && !('stream' in t);

/** The rule name of a function's `index`th schedule trigger without a name of its own (counting those only): '<fn>-schedule', '<fn>-schedule-2', … */
export const scheduleNameOf = (fn: string, index: number): string => `${fn}-schedule${index === 0 ? '' : `-${index + 1}`}`;

/** Types a function's configuration; returns it unchanged. */
export const defineFunction = (f: FunctionConfig): FunctionConfig => f;

/** The module path and export of a handler string ('./f.ts#main' → ['./f.ts', 'main']). */
export function handlerOf(handler: string): { file: string; exportName: string } {
  const at = handler.lastIndexOf('#');
  return at < 0 ? { file: handler, exportName: 'handler' } : { file: handler.slice(0, at), exportName: handler.slice(at + 1) || 'handler' };
}

// `archives: { '<stream>': { bucket, prefix, rollSize, rollInterval, compression, timeField } }` in
// sluice.config.ts, validated like the rest of the file (one line per bad field); run by
// `sluice dev` and `sluice start` (run.ts).
import { z } from 'zod';
import { parseDuration } from '../../config/duration.js';
import { bucketNameProblem } from '../../objects/names.js';
import { MAX_ROLL_INTERVAL_MS, MAX_ROLL_SIZE } from './options.js';

const duration = z.union([z.number(), z.string()]).transform((v, ctx) => {
  const ms = parseDuration(v);
  if (ms === undefined) ctx.addIssue({ code: 'custom', message: `expected milliseconds or a duration like '60s', got ${JSON.stringify(v)}` });
  return ms ?? 0;
});

const archive = z.strictObject({
  bucket: z.string().superRefine((name, ctx) => {
    const problem = bucketNameProblem(name);
    if (problem) ctx.addIssue({ code: 'custom', message: `invalid bucket name '${name}': ${problem}` });
  }),
  prefix: z.string().max(512).optional(),
  /** Bytes of NDJSON (before compression) that roll an object. */
  rollSize: z.number().int().min(1).max(MAX_ROLL_SIZE).optional(),
  rollInterval: duration.pipe(z.number().min(0).max(MAX_ROLL_INTERVAL_MS, `at most 15 minutes (${MAX_ROLL_INTERVAL_MS} ms)`)).optional(),
  compression: z.enum(['gzip', 'none']).optional(),
  timeField: z.string().min(1).optional(),
});

export const archivesSchema = z.record(z.string().regex(/^[A-Za-z0-9_.-]{1,128}$/, 'invalid stream name'), archive);

export type ArchiveConfig = z.output<typeof archivesSchema>[string];

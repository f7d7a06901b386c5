// Stream sinks in sluice.config.ts — `sinks: { <name>: { kind: 'postgres' | 'webhook', stream, … } }`
// — validated like the rest of the file (one line per bad field), and run as one-step pipelines
// named after the sink: source(stream) → the sink, so they get the pipelines' units, lease,
// exactly-once offsets, errors stream (`<name>-errors`), metrics and dashboard.
import { z } from 'zod';
import { parseDuration } from '../config/duration.js';
import { pipeline, type Pipeline } from '../dataflow/dsl.js';

const duration = z.union([z.number(), z.string()]).transform((v, ctx) => {
  const ms = parseDuration(v);
  if (ms === undefined) ctx.addIssue({ code: 'custom', message: `expected milliseconds or a duration like '10s', got ${JSON.stringify(v)}` });
  return ms ?? 0;
});
const ident = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;
const table = z.string().refine((t) => t.split('.').length <= 2 && t.split('.').every((p) => ident.test(p)), "use 'name' or 'schema.name' of letters, digits and _ (at most 63 each)");
const stream = z.string().regex(/^[A-Za-z0-9_.-]{1,128}$/, 'invalid stream name');
const fields = z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]);

const postgres = z.strictObject({
  kind: z.literal('postgres'),
  /** The stream whose records (JSON objects) become rows. */
  stream,
  table,
  /** The primary key's fields. */
  key: fields,
  /** A connection string or node-postgres' client configuration. */
  connection: z.union([z.string().min(1), z.record(z.string(), z.unknown())]),
  columns: z.record(z.string(), z.string().regex(/^[A-Za-z][A-Za-z0-9_ ()[\],]*$/, 'expected a SQL type name')).optional(),
  createTable: z.boolean().optional(),
  rowsPerStatement: z.number().int().min(1).max(65_535).optional(),
  /** Per-attempt deadline of a batch's transaction. */
  timeout: duration.optional(),
});

const webhook = z.strictObject({
  kind: z.literal('webhook'),
  stream,
  url: z.url({ protocol: /^https?$/ }),
  headers: z.record(z.string(), z.string()).optional(),
  signing: z.strictObject({ secret: z.string().min(16), header: z.string().min(1).optional() }).optional(),
  batchSize: z.number().int().min(1).max(10_000).optional(),
  /** Per-attempt deadline of one POST. */
  timeout: duration.optional(),
});

export const sinksSchema = z.record(z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'use 1-64 letters, digits, _ or -'), z.discriminatedUnion('kind', [postgres, webhook]));

export type StreamSinkConfig = z.output<typeof sinksSchema>[string];

/** The one-step pipeline that runs a configured stream sink. */
export function streamSinkPipeline(name: string, s: StreamSinkConfig): Pipeline {
  const p = pipeline(name);
  const records = p.source<Record<string, unknown>>(s.stream);
  const policy = s.timeout === undefined ? undefined : { timeout: { timeoutMs: s.timeout } };
  if (s.kind === 'postgres') {
    const { connection, columns, createTable, rowsPerStatement } = s;
    records.toPostgres(s.table, { connection: connection as never, key: typeof s.key === 'string' ? [s.key] : s.key, columns, createTable, rowsPerStatement, policy });
  } else {
    records.toWebhook(name, { url: s.url, headers: s.headers, signing: s.signing, batchSize: s.batchSize, policy });
  }
  return p;
}

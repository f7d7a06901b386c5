// The project configuration, `sluice.config.ts`: typed with defineConfig(), validated once with a
// message naming each bad field (e.g. `gateway.port: expected a number`).
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { importModule } from '../load-module.js';
import { z } from 'zod';
import { parseDuration } from './duration.js';
import { ConfigError } from './errors.js';
import { functionsSchema } from '../functions/config.js';
import { bucketNameProblem } from '../objects/names.js';
import { sinksSchema } from '../connectors/config.js';
import { archivesSchema } from '../connectors/archive/config.js';

const duration = z.union([z.number(), z.string()]).transform((v, ctx) => {
  const ms = parseDuration(v);
  if (ms === undefined) ctx.addIssue({ code: 'custom', message: `expected milliseconds or a duration like '7d', got ${JSON.stringify(v)}` });
  return ms ?? 0;
});

const action = z.enum(['read', 'write', 'admin', 'invoke']);

const principal = z.strictObject({
  id: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'use 1-64 letters, digits, _ or -'),
  apiKeyHash: z.string().regex(/^sha256:[0-9a-f]{64}$/, "expected 'sha256:' and 64 hex digits (from `sluice keys create`)").optional(),
  accessKeyId: z.string().min(1).optional(),
  secretAccessKey: z.string().min(1).optional(),
  scopes: z.record(z.string(), z.array(action).min(1)),
});

const stream = z.strictObject({
  partitions: z.number().int().min(1).max(1024).optional(),
  retention: duration.optional(),
  partitionKeyField: z.string().min(1).optional(),
  dedupWindow: duration.optional(),
});

const ms = z.number().int().min(0);
const positiveInt = z.number().int().min(1);
const share = z.number().gt(0).max(1);
/**
 * A dependency's policies as plain data (decision 016): the options of src/resilience by their
 * names there, each part `false` to leave it out; what is left unset keeps its default.
 */
const policySchema = z.strictObject({
  timeout: z.union([z.literal(false), z.strictObject({ timeoutMs: positiveInt, resolutionMs: ms.optional() })]).optional(),
  retry: z.union([z.literal(false), z.strictObject({ maxAttempts: positiveInt.max(100).optional(), baseDelayMs: ms.optional(), maxDelayMs: ms.optional(), maxRetryAfterMs: ms.optional() })]).optional(),
  breaker: z
    .union([
      z.literal(false),
      z.strictObject({
        failureRateThreshold: share.optional(),
        slowCallRateThreshold: share.optional(),
        slowCallDurationMs: positiveInt.optional(),
        window: z.discriminatedUnion('kind', [z.strictObject({ kind: z.literal('count'), size: positiveInt }), z.strictObject({ kind: z.literal('time'), durationMs: positiveInt })]).optional(),
        minimumCalls: positiveInt.optional(),
        openMs: positiveInt.optional(),
        halfOpenCalls: positiveInt.optional(),
      }),
    ])
    .optional(),
  bulkhead: z.union([z.literal(false), z.strictObject({ maxConcurrent: positiveInt.optional(), maxQueued: z.number().int().min(0).optional() })]).optional(),
  budget: z.union([z.literal(false), z.strictObject({ ttlMs: positiveInt.optional(), minRetriesPerSec: z.number().min(0).optional(), percentCanRetry: z.number().min(0).max(1).optional() })]).optional(),
});

const schema = z.strictObject({
  engine: z
    .discriminatedUnion('kind', [
      z.strictObject({
        kind: z.literal('sqlite'),
        dataDir: z.string().min(1).optional(),
        durability: z.enum(['process', 'fsync']).optional(),
      }),
      z.strictObject({
        kind: z.literal('nats'),
        servers: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]),
        replicas: z.number().int().min(1).max(5).optional(),
        prefix: z.string().regex(/^[A-Za-z0-9_-]{1,32}$/, 'use 1-32 letters, digits, _ or -').optional(),
        user: z.string().optional(),
        pass: z.string().optional(),
        token: z.string().optional(),
        nkeySeed: z.string().optional(),
        credsFile: z.string().optional(),
        tls: z.strictObject({ caFile: z.string().optional(), certFile: z.string().optional(), keyFile: z.string().optional() }).optional(),
        requestTimeout: duration.optional(),
        policy: policySchema.optional(),
      }),
    ])
    .optional(),
  gateway: z
    .strictObject({
      host: z.string().min(1).optional(),
      port: z.number().int().min(0).max(65535).optional(),
      maxRecordBytes: z.number().int().positive().optional(),
      maxBodyBytes: z.number().int().positive().optional(),
      maxRecordsPerRequest: z.number().int().positive().optional(),
      maxInflightBytes: z.number().int().positive().optional(),
      maxPendingAppends: z.number().int().positive().optional(),
      bodyTimeout: duration.optional(),
      drainTimeout: duration.optional(),
      headersTimeout: duration.optional(),
      idleTimeout: duration.optional(),
      maxConnections: z.number().int().positive().optional(),
      maxConnectionsPerClient: z.number().int().positive().optional(),
      rateLimit: z.strictObject({ recordsPerSecond: z.number().positive(), burst: z.number().positive().optional() }).optional(),
      region: z.string().min(1).optional(),
    })
    .optional(),
  auth: z
    .strictObject({
      principals: z.array(principal).superRefine((principals, ctx) => {
        // One principal per id and per access key: a second would silently take the first's place
        // (its key then refused), and ids fn-* are functions' own principals.
        const seen = { id: new Map<string, number>(), accessKeyId: new Map<string, number>() };
        principals.forEach((p, i) => {
          if (p.id.startsWith('fn-')) ctx.addIssue({ code: 'custom', path: [i, 'id'], message: `'${p.id}': ids starting with fn- are functions' own principals` });
          for (const field of ['id', 'accessKeyId'] as const) {
            const v = p[field];
            if (v === undefined) continue;
            const first = seen[field].get(v);
            if (first !== undefined) ctx.addIssue({ code: 'custom', path: [i, field], message: `'${v}' is principal ${first}'s ${field} too` });
            else seen[field].set(v, i);
          }
        });
      }),
    })
    .optional(),
  /** Pipelines that dev/start run (files relative to the config file). */
  dataflow: z
    .strictObject({
      pipelines: z.array(z.string().min(1)).min(1),
      workers: z.number().int().min(0).max(64).optional(),
      keyGroups: z.number().int().min(1).max(1024).optional(),
      tables: z.string().min(1).optional(),
      batch: z.number().int().min(1).max(100_000).optional(),
      /** Watermark alignment: how far a source partition may run ahead (event time) of the slowest one; 0: no limit. */
      maxDrift: duration.optional(),
      /** Values of a keyed step's state kept in memory per key group; the rest spill to disk. */
      stateKeysInMemory: z.number().int().min(1).optional(),
      /** A module `dev --demo` runs beside the pipelines (default export: (ctx) => Promise<void>). */
      demo: z.string().min(1).optional(),
    })
    .optional(),
  /** Lambda-compatible functions (src/functions/config.ts). */
  functions: functionsSchema.optional(),
  /** Stream sinks: a stream's records upserted into PostgreSQL or POSTed to a webhook (src/connectors/config.ts). */
  sinks: sinksSchema.optional(),
  /** Streams archived as NDJSON objects in a bucket, rolled by size and time (src/connectors/archive/). */
  archives: archivesSchema.optional(),
  /** Streams created at start when missing. */
  streams: z.record(z.string().regex(/^[A-Za-z0-9_.-]{1,128}$/, 'invalid stream name'), stream).optional(),
  /** S3 buckets created at start when missing (no options yet). */
  buckets: z.record(z.string(), z.strictObject({})).superRefine((buckets, ctx) => {
    for (const name of Object.keys(buckets)) {
      const problem = bucketNameProblem(name);
      if (problem) ctx.addIssue({ code: 'custom', path: [name], message: `invalid bucket name '${name}': ${problem}` });
    }
  }).optional(),
});

/** What a user writes in sluice.config.ts. */
export type SluiceConfig = z.input<typeof schema>;
/** The configuration after validation (durations in ms). */
export type ResolvedConfig = z.output<typeof schema>;

/** Types a configuration; returns it unchanged. */
export const defineConfig = (config: SluiceConfig): SluiceConfig => config;
export { defineFunction, type FunctionConfig } from '../functions/config.js';
export { ConfigError } from './errors.js';

/** Validates a configuration value; ConfigError lists every bad field by its path. */
export function validateConfig(value: unknown, source = 'configuration'): ResolvedConfig {
  const result = schema.safeParse(value ?? {});
  if (result.success) return result.data;
  throw new ConfigError(source, result.error.issues.flatMap((i) => lines(i, [])));
}

/**
 * One line per bad field. A union's issue ("Invalid input") is replaced by the issues of the one
 * branch whose type the value had (`false` or an object: the object's bad fields), or else says
 * what each branch expected.
 */
function lines(issue: z.core.$ZodIssue, base: PropertyKey[]): string[] {
  const path = [...base, ...issue.path];
  if (issue.code === 'invalid_union' && issue.errors.length > 0) {
    const typed = issue.errors.filter((branch) => branch.every((i) => i.path.length > 0));
    if (typed.length === 1) return typed[0]!.flatMap((i) => lines(i, path));
    const expected = [...new Set(issue.errors.flatMap((branch) => branch.filter((i) => i.path.length === 0).map((i) => i.message.replace(/^Invalid input: /, ''))))];
    if (expected.length > 0) return [`${label(path)}: Invalid input: ${expected.join(', or ')}`];
  }
  return [`${label(path)}: ${issue.message}`];
}

const label = (path: PropertyKey[]) => (path.length ? path.map(String).join('.') : '(root)');

export const CONFIG_FILES = ['sluice.config.ts', 'sluice.config.mts', 'sluice.config.js', 'sluice.config.mjs'];

/** Loads and validates the config file (explicit path, else the first of CONFIG_FILES in cwd). */
export async function loadConfig(path?: string, cwd = process.cwd()): Promise<{ config: ResolvedConfig; source?: string }> {
  const file = path ? resolve(cwd, path) : CONFIG_FILES.map((f) => resolve(cwd, f)).find((f) => existsSync(f));
  if (!file) return { config: validateConfig({}) };
  if (!existsSync(file)) throw new ConfigError(file, ['the file does not exist']);
  let mod: { default?: unknown };
  try {
    mod = await importModule(file);
  } catch (e) {
    throw new ConfigError(file, [`cannot be loaded: ${(e as Error).message}`]);
  }
  let value = mod.default;
  // A .ts file outside an ESM package loads as CommonJS, which wraps the default export once more.
  if (isObject(value) && 'default' in value && Object.keys(value).every((k) => k === 'default' || k === '__esModule')) value = value.default;
  if (value === undefined) throw new ConfigError(file, ['has no default export (export default defineConfig({...}))']);
  return { config: validateConfig(value, file), source: file };
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;

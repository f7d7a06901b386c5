// Limits and defaults shared by the runtimes, the check of a RuntimeSpec, and the names Lambda
// gives a worker (its log stream).
import { randomBytes } from 'node:crypto';
import { isAbsolute } from 'node:path';
import { InvalidRuntimeSpecError } from './errors.js';
import type { RuntimeSpec } from './types.js';

/** Longest timeout on a thread: Lambda's 15 minutes. */
export const THREAD_MAX_TIMEOUT_MS = 15 * 60 * 1000;
/** Longest timeout in a child process: 24 hours (long jobs). */
export const PROCESS_MAX_TIMEOUT_MS = 24 * 60 * 60 * 1000;
/** Longest a module may take to load (Lambda's init phase: 10 s); past it the worker is ended. */
export const INIT_TIMEOUT_MS = 10_000;
export const MIN_MEMORY_MB = 16;
/** Lambda's largest function. */
export const MAX_MEMORY_MB = 10_240;
export const MAX_CONCURRENCY = 1000;
/**
 * Most log text kept per invocation (and again for what is written between two invocations): by the
 * in-worker capture of console and process.stdout/stderr, and again by the pool for raw output the
 * capture cannot see (native writes to fd 1 and 2, child processes sharing them).
 */
export const LOG_LIMIT_BYTES = 256 * 1024;
/** V8's default stack for a worker thread. */
export const STACK_SIZE_MB = 4;

/**
 * V8 young generation for a memory limit: about 1/16 of it, 4–64 MB. Short-lived garbage (events,
 * results) dies there in cheap scavenges; the old generation keeps the rest of the limit.
 */
export const youngGenerationMb = (memoryMB: number): number => Math.min(64, Math.max(4, Math.round(memoryMB / 16)));

/** Checks `spec` against the runtime's limits; throws InvalidRuntimeSpecError naming the field. */
export function checkSpec(spec: RuntimeSpec, maxTimeoutMs: number): RuntimeSpec {
  const fail = (field: string, message: string) => {
    throw new InvalidRuntimeSpecError(field, message);
  };
  if (!spec.name) fail('name', 'must not be empty');
  if (!isAbsolute(spec.file)) fail('file', `must be an absolute path, got '${spec.file}'`);
  const whole = (field: string, v: number, min: number, max: number) => {
    if (!Number.isInteger(v) || v < min || v > max) fail(field, `must be a whole number from ${min} to ${max}, got ${v}`);
  };
  whole('timeoutMs', spec.timeoutMs, 1, maxTimeoutMs);
  whole('memoryMB', spec.memoryMB, MIN_MEMORY_MB, MAX_MEMORY_MB);
  whole('concurrency', spec.concurrency, 1, MAX_CONCURRENCY);
  if (typeof spec.environment !== 'object' || spec.environment === null) fail('environment', 'must be an object of strings');
  for (const [k, v] of Object.entries(spec.environment)) if (typeof v !== 'string') fail(`environment.${k}`, `must be a string, got ${typeof v}`);
  return { ...spec, exportName: spec.exportName || 'handler' };
}

/** A worker's log stream, in Lambda's form: `2025/01/31/[$LATEST]<32 hex>` (the UTC date it started). */
export function logStreamName(now = new Date()): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${now.getUTCFullYear()}/${pad(now.getUTCMonth() + 1)}/${pad(now.getUTCDate())}/[$LATEST]${randomBytes(16).toString('hex')}`;
}

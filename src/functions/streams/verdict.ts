// What an invocation's outcome means for its batch, by Lambda's rules for Kinesis: a function error
// fails the whole batch; with ReportBatchItemFailures the result's `batchItemFailures` checkpoints at
// the lowest failed sequence number, an empty or null list (or an empty or null response) is
// success, and an entry with an empty, null or misnamed `itemIdentifier`, or one naming a record
// not in the batch, fails the whole batch.
import type { InvokeOutcome } from '../runtime/types.js';

export type Verdict =
  | { kind: 'success' }
  /** Records before `index` succeeded; the rest are retried. */
  | { kind: 'partial'; index: number }
  /** The whole batch failed: `functionError` is Lambda's X-Amz-Function-Error when the function errored. */
  | { kind: 'failure'; functionError?: 'Unhandled'; reason: string };

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Judges an outcome; `sequenceNumbers` are the batch's, in order. */
export function judge(outcome: InvokeOutcome, sequenceNumbers: readonly string[], reportBatchItemFailures: boolean): Verdict {
  if (!outcome.ok) return { kind: 'failure', functionError: 'Unhandled', reason: `${outcome.error.errorType}: ${outcome.error.errorMessage}` };
  if (!reportBatchItemFailures) return { kind: 'success' };
  let result: unknown;
  try {
    result = JSON.parse(outcome.result);
  } catch {
    return { kind: 'failure', reason: 'the response is not JSON' };
  }
  // A response that is not an object carries no batchItemFailures: Lambda reads it as an empty EventResponse.
  if (!isObject(result)) return { kind: 'success' };
  const failures = result.batchItemFailures;
  if (failures === undefined || failures === null) return { kind: 'success' };
  if (!Array.isArray(failures)) return { kind: 'failure', reason: 'batchItemFailures is not a list' };
  if (failures.length === 0) return { kind: 'success' };
  const index = new Map<string, number>();
  sequenceNumbers.forEach((s, i) => index.set(s, i));
  let lowest = Infinity;
  for (const f of failures) {
    const id = isObject(f) ? f.itemIdentifier : undefined;
    if (typeof id !== 'string' || id === '') {
      return { kind: 'failure', reason: `a batchItemFailures entry has an empty, null or missing itemIdentifier: ${JSON.stringify(f)}` };
    }
    const i = index.get(id);
    if (i === undefined) return { kind: 'failure', reason: `batchItemFailures names ${id}, which is not in the batch` };
    lowest = Math.min(lowest, i);
  }
  return { kind: 'partial', index: lowest };
}

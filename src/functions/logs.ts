// Function logs as Lambda writes them — `START RequestId: … Version: $LATEST`, each line
// `<time>\t<requestId>\t<LEVEL>\t<message>`, `END RequestId: …`, `REPORT RequestId: …\tDuration:
// … ms\tBilled Duration: … ms\tMemory Size: … MB\tMax Memory Used: … MB[\tInit Duration: … ms]` —
// kept in a retained internal stream per function, one record per invocation.
import type { InvokeOutcome } from './runtime/types.js';

/** The stream a function's logs are kept in (1 partition, 7 days). */
export const logStreamOf = (fn: string) => `_sluice.fn.${fn}.logs`;
export const LOG_RETENTION_MS = 7 * 24 * 3_600_000;
/** Lambda's log tail (X-Amz-Log-Result): the last 4 KB of an invocation's log. */
export const LOG_TAIL_BYTES = 4 * 1024;

/** One invocation's log, as stored. */
export interface InvocationLog {
  requestId: string;
  /** Epoch ms the invocation started. */
  time: number;
  lines: string[];
}

const ms = (n: number) => n.toFixed(2);

/** An invocation's lines in Lambda's format. `initMs`: the worker's start, on a cold start. */
export function lambdaLines(requestId: string, started: number, memoryMB: number, outcome: InvokeOutcome, initMs?: number): string[] {
  const lines = [`START RequestId: ${requestId} Version: $LATEST`];
  for (const l of outcome.logs) lines.push(`${new Date(l.time).toISOString()}\t${requestId}\t${l.level}\t${l.message}`);
  if (!outcome.ok && outcome.kind === 'Timeout') lines.push(`${new Date(started + outcome.durationMs).toISOString()} ${requestId} ${outcome.error.errorMessage}`);
  else if (!outcome.ok) {
    lines.push(`${new Date(started + outcome.durationMs).toISOString()}\t${requestId}\tERROR\t${JSON.stringify({ errorType: outcome.error.errorType, errorMessage: outcome.error.errorMessage, stack: outcome.error.trace })}`);
  }
  lines.push(`END RequestId: ${requestId}`);
  const report = [
    `REPORT RequestId: ${requestId}`,
    `Duration: ${ms(outcome.durationMs)} ms`,
    `Billed Duration: ${Math.max(1, Math.ceil(outcome.durationMs))} ms`,
    `Memory Size: ${memoryMB} MB`,
    `Max Memory Used: ${Math.max(1, Math.round(outcome.maxMemoryMB))} MB`,
  ];
  if (outcome.coldStart && initMs !== undefined) report.push(`Init Duration: ${ms(initMs)} ms`);
  lines.push(report.join('\t'));
  return lines;
}

/** The last LOG_TAIL_BYTES of an invocation's log, base64 (what X-Amz-Log-Result carries). */
export function logTail(lines: string[]): string {
  const text = Buffer.from(lines.join('\n') + '\n');
  return text.subarray(Math.max(0, text.length - LOG_TAIL_BYTES)).toString('base64');
}

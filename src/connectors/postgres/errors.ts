// How the PostgreSQL sink judges node-postgres' errors. The shared classification (resilience/
// classify.ts) knows SQLSTATEs and socket codes; three cases it leaves to us (decision 016):
// pg's own "Connection terminated unexpectedly" (no code), 57014 query_canceled (our statement
// timeout, or a cancel: the same call may succeed), and ENOTFOUND (a database host that does not
// resolve *yet* while containers start). And which errors belong to one row rather than the batch.
import { ConflictError } from '../../engine/errors.js';
import { SluiceError } from '../../errors.js';
import { classify } from '../../resilience/index.js';

/** Messages node-postgres throws without a code when the connection is gone. */
const CONNECTION_LOST = /Connection terminated|connection error|Client was closed|Client has already been connected|timeout expired|Connection refused|server closed the connection/i;

/** A call to PostgreSQL failed: `retriable` when trying the same call again may succeed. */
export class PostgresSinkError extends SluiceError {
  readonly code = 'PostgresSink';
  override readonly retriable: boolean;
  /** The SQLSTATE, when PostgreSQL answered one. */
  readonly sqlState: string | undefined;

  constructor(message: string, retriable: boolean, options: { cause: unknown; sqlState?: string }) {
    super(message, { cause: options.cause });
    this.retriable = retriable;
    this.sqlState = options.sqlState;
  }
}

/**
 * A batch of an older run than the one whose epoch the sink's offsets row carries (decision 020):
 * a ConflictError, so a pipeline run stops on it as on any lost lease. Its message also names the
 * other cause — the engine's data reset while the database was kept, the epochs starting again
 * below the row's — and the row to delete then. Not retriable.
 */
export class SinkFencedError extends ConflictError {
  constructor(table: string, readonly pipeline: string, readonly sink: string, readonly partition: number, epoch: number, owner: number, deleteRow: string) {
    super(`${table} (${pipeline}, ${sink}, ${partition}) epoch`, epoch, owner);
    this.message =
      `postgres: ${table}'s row of pipeline '${pipeline}', sink '${sink}', partition ${partition} belongs to run epoch ${owner}, and this run is epoch ${epoch}: ` +
      `a newer run took over, or — if this engine's data was reset while this database was kept — the row is stale: delete it (${deleteRow})`;
  }
}

export const isSinkFencedError = (e: unknown): e is SinkFencedError => e instanceof SinkFencedError;

/** Whether an error of a pg call is worth retrying: the shared classification plus the sink's three cases. */
export function isRetriablePgError(e: unknown): boolean {
  const code = (e as { code?: unknown } | null)?.code;
  if (code === '57014' || code === 'ENOTFOUND') return true;
  if (typeof code !== 'string' && e instanceof Error && CONNECTION_LOST.test(e.message)) return true;
  return classify(e) === 'retriable';
}

/** A pg error as the sink throws it: its message, SQLSTATE and verdict. */
export function pgError(e: unknown, doing: string): PostgresSinkError {
  if (e instanceof PostgresSinkError) return e;
  const code = (e as { code?: unknown } | null)?.code;
  const sqlState = typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
  const message = e instanceof Error ? e.message : String(e);
  return new PostgresSinkError(`postgres: ${doing}: ${message}${sqlState ? ` (SQLSTATE ${sqlState})` : ''}`, isRetriablePgError(e), { cause: e, sqlState });
}

/**
 * Errors that one row can cause and the others not: data exceptions (class 22: a value of the wrong
 * type, too long, out of range), integrity violations (23: null key, check), 54000 (a value too
 * large for an index) and 54011 (too many columns: the fields of a row would take the table past
 * PostgreSQL's 1,600). The sink isolates such a row; any other error fails the batch.
 */
export function isRowError(e: unknown): boolean {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === 'string' && (code.startsWith('22') || code.startsWith('23') || code === '54000' || code === '54011');
}

// Who may do what: a principal holds scopes, each a stream pattern ('*', 'prefix-*' or an exact
// name) with actions. 'admin' (create, delete) implies 'read' and 'write'. Streams Sluice keeps
// for itself (`_sluice.*`: pipelines' shuffles and tables) are never written, created or deleted
// by clients, whatever their scopes: a record there would be taken as a pipeline's own.

/** `invoke` applies to functions (`function:<name pattern>`); `admin` implies every action. */
export type Action = 'read' | 'write' | 'admin' | 'invoke';

export interface Principal {
  /** Names the client in logs and limits; letters, digits, '_' and '-'. */
  id: string;
  /** SHA-256 of the API key's secret, as 'sha256:<hex>' (`sluice keys create` prints it). */
  apiKeyHash?: string;
  /** A Kinesis (SigV4) key pair; the secret must be known to verify signatures. */
  accessKeyId?: string;
  secretAccessKey?: string;
  /** Stream pattern → allowed actions. */
  scopes: Record<string, Action[]>;
}

/** The principal of an open gateway (no keys configured): everything is allowed. */
export const OPEN_PRINCIPAL: Principal = { id: 'anonymous', scopes: { '*': ['admin'] } };

const matches = (pattern: string, stream: string) =>
  pattern === '*' || pattern === stream || (pattern.endsWith('*') && stream.startsWith(pattern.slice(0, -1)));

export function can(principal: Principal, stream: string, action: Action): boolean {
  for (const [pattern, actions] of Object.entries(principal.scopes)) {
    if (matches(pattern, stream) && (actions.includes(action) || actions.includes('admin'))) return true;
  }
  return false;
}

/**
 * What a principal may do with a function (decision 023). `read` (its configuration, environment
 * included, and every invocation's logs) comes only from a `function:<pattern>` scope: a stream
 * pattern such as `*` or `f*` with `read` is about streams and hands out no function's secrets.
 * `invoke` and `admin` count from any pattern that matches `function:<name>`, as before.
 */
export function canFunction(principal: Principal, name: string, action: 'read' | 'invoke'): boolean {
  const resource = `function:${name}`;
  for (const [pattern, actions] of Object.entries(principal.scopes)) {
    if (!matches(pattern, resource)) continue;
    if (actions.includes('admin')) return true;
    if (actions.includes(action) && (action === 'invoke' || pattern.startsWith('function:'))) return true;
  }
  return false;
}

/** The scope that lets a key read metrics, the observe API and the pipelines (`'$metrics': ['read']`); `admin` on `*` does too. */
export const METRICS_SCOPE = '$metrics';

/** Whether the principal may read /metrics, /v1/observe and /v1/pipelines. */
export function canReadMetrics(principal: Principal): boolean {
  return (principal.scopes[METRICS_SCOPE] ?? []).length > 0 || (principal.scopes['*'] ?? []).includes('admin');
}

/** True when the principal may see the stream at all (any action). */
export const canSee = (principal: Principal, stream: string): boolean =>
  Object.keys(principal.scopes).some((p) => matches(p, stream));

/** Names of streams pipelines keep for themselves (decision 008). */
export const INTERNAL_STREAM_PREFIX = '_sluice.';

/** Why no client may do `action` on `stream`, when it is an internal stream and the action is not a read. */
export function internalRefusal(stream: string, action: Action): string | undefined {
  if (!stream.startsWith(INTERNAL_STREAM_PREFIX) || action === 'read') return undefined;
  return `stream '${stream}' is internal to Sluice (pipelines write it): clients may not ${action === 'write' ? 'write' : 'create, change or delete'} it`;
}

// Lambda's FunctionConfiguration of a Sluice function (ListFunctions, GetFunction).
import type { FunctionEntry } from '../../functions/functions.js';
import { LambdaError } from './errors.js';

/** A function's name and qualifier (version or alias) from what the API accepts: a name, an ARN, or a partial ARN. */
export function nameOf(given: string): { name: string; qualifier?: string } {
  const m = /^(?:arn:aws[a-z-]*:lambda:[^:]*:\d{12}:function:|\d{12}:function:)?([A-Za-z0-9_-]{1,64})(?::(\$LATEST|[A-Za-z0-9_-]{1,128}))?$/.exec(given);
  if (!m) throw new LambdaError('ValidationException', `1 validation error detected: Value '${given}' at 'functionName' failed to satisfy constraint: Member must satisfy regular expression pattern: (arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{2}(-gov)?-[a-z]+-\\d{1}:)?(\\d{12}:)?(function:)?([a-zA-Z0-9-_\\.]+)(:(\\$LATEST|[a-zA-Z0-9-_]+))?`);
  return m[2] === undefined ? { name: m[1]! } : { name: m[1]!, qualifier: m[2] };
}

/** Keys of a function's environment that are its secrets: not shown. */
const SECRET = new Set(['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'SLUICE_API_KEY']);

export function functionConfiguration(e: FunctionEntry) {
  const env = Object.fromEntries(Object.entries(e.config.environment ?? {}).filter(([k]) => !SECRET.has(k)));
  return {
    FunctionName: e.name,
    FunctionArn: e.arn,
    Runtime: 'nodejs20.x',
    Role: `arn:aws:iam::000000000000:role/sluice-${e.name}`,
    Handler: e.config.handler,
    Timeout: Math.round(e.spec.timeoutMs / 1000),
    MemorySize: e.spec.memoryMB,
    LastModified: new Date(e.started).toISOString().replace('Z', '+0000'),
    Version: '$LATEST',
    Environment: { Variables: env },
    State: 'Active',
    LastUpdateStatus: 'Successful',
    PackageType: 'Zip',
    Architectures: [process.arch === 'arm64' ? 'arm64' : 'x86_64'],
  };
}

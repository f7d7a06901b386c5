// `sluice keys create <id> --scope stream=actions`: makes an API key and prints the principal
// entry for sluice.config.ts (only the hash is stored; the key is shown once).
import { createApiKey } from '../gateway/auth/api-keys.js';
import { CliError } from './client.js';

export function createKey(id: string, scopes: string[]): void {
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(id)) throw new CliError(`key id '${id}': use 1-64 letters, digits, _ or -`, 2);
  if (id.startsWith('fn-')) throw new CliError(`key id '${id}': ids starting with fn- are functions' own principals`, 2);
  const parsed: Record<string, string[]> = {};
  if (scopes.length === 0) throw new CliError("--scope is required: say what the key may do, e.g. --scope 'events=write' (or '*=admin' for everything)", 2);
  for (const s of scopes) {
    const m = /^([^=]+)=((?:read|write|admin|invoke)(?:,(?:read|write|admin|invoke))*)$/.exec(s);
    if (!m) throw new CliError(`--scope '${s}': expected <pattern>=<read|write|admin|invoke>[,...], e.g. 'events=write' or 'function:*=invoke,read'`, 2);
    parsed[m[1]!] = m[2]!.split(',');
  }
  const { key, hash } = createApiKey(id);
  process.stdout.write(`API key (shown once; send as "Authorization: Bearer <key>"):\n  ${key}\n\n`);
  process.stdout.write(`Add to auth.principals in sluice.config.ts:\n  ${JSON.stringify({ id, apiKeyHash: hash, scopes: parsed })}\n`);
}

// The HTTP client the CLI commands use: the gateway URL and API key from flags or environment,
// JSON errors turned into readable messages, and 429/503 honoured by waiting Retry-After.
import { SluiceError } from '../errors.js';
import { setTimeout as sleep } from 'node:timers/promises';

export const DEFAULT_URL = 'http://127.0.0.1:4320';
export const DEFAULT_MAX_ATTEMPTS = 20;

export interface ClientOptions {
  url?: string;
  apiKey?: string;
}

/** What a command tells its user on failure, with the exit code (1: the command failed; 2: it was used wrongly). */
export class CliError extends SluiceError {
  readonly code = 'CliError';
  constructor(message: string, readonly exitCode = 1) {
    super(message);
  }
}

export class GatewayClient {
  readonly url: string;
  private readonly headers: Record<string, string>;

  /** The credentials' headers (for requests the client does not send itself). */
  get authHeaders(): Record<string, string> {
    return { ...this.headers };
  }

  constructor(o: ClientOptions) {
    this.url = (o.url ?? process.env.SLUICE_URL ?? DEFAULT_URL).replace(/\/$/, '');
    const key = o.apiKey ?? process.env.SLUICE_API_KEY;
    this.headers = key ? { authorization: `Bearer ${key}` } : {};
  }

  /** Sends a request; retries 429 and 503 after Retry-After (the body must be re-sendable). */
  async request(method: string, path: string, body?: string, headers: Record<string, string> = {}, onWait?: (s: number) => void): Promise<any> {
    for (let attempt = 1; ; attempt++) {
      let res: Response;
      try {
        res = await fetch(this.url + path, { method, body, headers: { ...this.headers, ...headers } });
      } catch (e) {
        throw new CliError(`cannot reach the gateway at ${this.url}: ${(e as Error).cause ?? (e as Error).message}`);
      }
      const text = await res.text();
      if ((res.status === 429 || res.status === 503) && attempt < DEFAULT_MAX_ATTEMPTS) {
        const wait = Number(res.headers.get('retry-after') ?? '1') || 1;
        onWait?.(wait);
        await sleep(wait * 1000 * (0.5 + Math.random())); // jitter so retrying clients spread out
        continue;
      }
      const json = text ? (JSON.parse(text) as any) : undefined;
      if (res.status >= 400) {
        const err = json?.error;
        throw new CliError(err ? `${res.status} ${err.code}: ${err.message}` : `${res.status} ${res.statusText}`);
      }
      return json;
    }
  }
}

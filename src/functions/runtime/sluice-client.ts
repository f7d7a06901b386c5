// context.sluice: appends records to Sluice streams through the gateway's native HTTP API, with the
// function's own key (SLUICE_URL and SLUICE_API_KEY in its environment, set by the registry), so a
// handler can do no more than the function's permissions allow.
import { PermissionDeniedError, SluiceRequestError } from './errors.js';

/** One record's result, in request order (the gateway's native append answer). */
export type AppendRecordResult =
  | { partition: number; offset: number; duplicate?: true }
  | { error: { code: string; message: string } };

export interface AppendOptions {
  /** Partition key of every record of this call (the gateway's `?key=`). */
  key?: string;
  signal?: AbortSignal;
}

export interface SluiceClient {
  /**
   * Appends `records` (JSON values) to `stream`; resolves with one result per record — check for
   * `error` ones. Rejects with PermissionDeniedError when the function may not write the stream.
   */
  append(stream: string, records: unknown[], options?: AppendOptions): Promise<AppendRecordResult[]>;
}

interface GatewayAnswer {
  results?: AppendRecordResult[];
  error?: { code?: string; message?: string; stream?: string; action?: string };
}

/** A client for the gateway named by `env` (read when a call is made, so a handler may set them itself). */
export function sluiceClient(env: NodeJS.ProcessEnv): SluiceClient {
  return {
    async append(stream, records, options = {}) {
      const base = env.SLUICE_URL;
      if (!base) throw new Error('SLUICE_URL is not set: the function has no Sluice gateway to write to');
      if (records.length === 0) return [];
      const url = new URL(`/v1/streams/${encodeURIComponent(stream)}/records`, base);
      if (options.key !== undefined) url.searchParams.set('key', options.key);
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if (env.SLUICE_API_KEY) headers.authorization = `Bearer ${env.SLUICE_API_KEY}`;
      const res = await fetch(url, { method: 'POST', headers, body: JSON.stringify(records), signal: options.signal });
      const text = await res.text();
      let body: GatewayAnswer = {};
      try {
        body = JSON.parse(text) as GatewayAnswer;
      } catch {
        // not JSON: reported below by status
      }
      // Every record refused answers 400/413 with the results: they say which and why.
      if (Array.isArray(body.results)) return body.results;
      const message = body.error?.message ?? `${res.status} ${res.statusText}`;
      if (res.status === 403) throw new PermissionDeniedError(message, body.error?.stream ?? stream, body.error?.action ?? 'write');
      throw new SluiceRequestError(res.status, body.error?.code ?? 'HttpError', message);
    },
  };
}

// Requests to the gateway's API (same origin): the session's key on every request, the key form
// on a 401 or 403, errors in the gateway's JSON shape turned into ApiError.
import { askForKey, currentKey, type Refusal } from './auth.js';

export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(readonly status: number, readonly code: string, message: string) {
    super(message);
  }
}

async function refusalOf(res: Response): Promise<Refusal> {
  const body = (await res.json().catch(() => undefined)) as { error?: { code?: string; message?: string } } | undefined;
  return { status: res.status, code: body?.error?.code ?? `HTTP${res.status}`, message: body?.error?.message ?? res.statusText };
}

export interface FetchOptions extends RequestInit {
  /** When false, a 401/403 is an ApiError instead of the key form: for extras (rates, charts) a key may lack the scope for. */
  prompt?: boolean;
}

/** A fetch with the key; a 401/403 asks for a key and tries again with it (or throws when the form is cancelled). */
export async function apiFetch(path: string, { prompt = true, ...init }: FetchOptions = {}): Promise<Response> {
  for (;;) {
    const key = currentKey();
    const headers = new Headers(init.headers);
    if (key) headers.set('authorization', `Bearer ${key}`);
    const res = await fetch(path, { ...init, headers, cache: 'no-store' });
    if (res.status !== 401 && res.status !== 403) return res;
    const refusal = await refusalOf(res);
    if (currentKey() !== key) continue; // a new key was entered while this request was out
    if (!prompt) throw new ApiError(refusal.status, refusal.code, refusal.message);
    await askForKey(refusal, key);
  }
}

/** GETs JSON; a status other than 2xx throws ApiError with the gateway's code and message. */
export async function getJson<T>(path: string, signal?: AbortSignal, prompt = true): Promise<T> {
  const res = await apiFetch(path, { signal, prompt });
  if (!res.ok) {
    const r = await refusalOf(res);
    throw new ApiError(r.status, r.code, r.message);
  }
  return (await res.json()) as T;
}

/** `/v1/streams/<name>` with the name encoded. */
export const streamPath = (name: string, rest = ''): string => `/v1/streams/${encodeURIComponent(name)}${rest}`;

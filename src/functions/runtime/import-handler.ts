// Inside a worker: imports a handler's module — TypeScript through tsx, registered once per worker
// (a standby worker registers it before it has a function, so a cold start does not wait for it),
// JavaScript natively.
import { pathToFileURL } from 'node:url';

type ScopedImport = (url: string) => Promise<Record<string, unknown>>;

const TYPESCRIPT = /\.(c|m)?ts$/;
let tsx: Promise<ScopedImport> | undefined;

/** Whether `file` needs tsx. */
export const isTypeScript = (file: string): boolean => TYPESCRIPT.test(file);

/** Loads tsx and registers its hooks (a loader thread of their own), once. */
export function preloadTypeScript(): Promise<ScopedImport> {
  tsx ??= import('tsx/esm/api').then((api) => {
    const scoped = api.register({ namespace: 'sluice-function' });
    return (url: string) => scoped.import(url, url) as Promise<Record<string, unknown>>;
  });
  return tsx;
}

/** The module at `file`. */
export async function importHandlerModule(file: string): Promise<Record<string, unknown>> {
  const url = pathToFileURL(file).href;
  if (isTypeScript(file)) return (await preloadTypeScript())(url);
  return (await import(url)) as Record<string, unknown>;
}

// Where a worker's script is: the built JavaScript beside this file, or — running from TypeScript
// sources — the .ts file, loaded through tsx (as the dataflow runner starts its workers).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export type Entry = { kind: 'js'; path: string } | { kind: 'ts'; path: string; url: string };

/** The script `name` (without extension) of this folder. */
export function entryScript(name: 'thread-entry' | 'process-entry'): Entry {
  const js = fileURLToPath(new URL(`./${name}.js`, import.meta.url));
  if (existsSync(js)) return { kind: 'js', path: js };
  const url = new URL(`./${name}.ts`, import.meta.url);
  return { kind: 'ts', path: fileURLToPath(url), url: url.href };
}

/** tsx's module, as a URL a worker can import from anywhere. */
export const tsxUrl = (specifier: 'tsx/esm/api' | 'tsx/esm'): string => import.meta.resolve(specifier);

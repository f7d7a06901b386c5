// Inside a worker: imports the handler's module (.ts through tsx, .js/.mjs natively) and finds the
// export, failing with Lambda's init errors: Runtime.ImportModuleError (missing module),
// Runtime.UserCodeSyntaxError, Runtime.HandlerNotFound, or the module's own error when it throws.
import { existsSync } from 'node:fs';
import { basename, extname } from 'node:path';
import { importHandlerModule } from './import-handler.js';
import { handlerNotFound, importModuleError, userCodeSyntaxError } from './lambda-errors.js';

export type Handler = (event: unknown, context: unknown, callback?: unknown) => unknown;

const MODULE_NOT_FOUND = new Set(['MODULE_NOT_FOUND', 'ERR_MODULE_NOT_FOUND']);

/** The handler function `exportName` (a dotted path, as in Lambda: `handlers.orders`) of `file`. */
export async function loadHandler(file: string, exportName: string): Promise<Handler> {
  if (!existsSync(file)) throw importModuleError(new Error(`Cannot find module '${file}'`));
  let mod: Record<string, unknown>;
  try {
    mod = await importHandlerModule(file);
  } catch (e) {
    const name = (e as { name?: unknown })?.name;
    if (e instanceof SyntaxError || name === 'SyntaxError' || name === 'TransformError') throw userCodeSyntaxError(e);
    if (MODULE_NOT_FOUND.has((e as { code?: string })?.code ?? '')) throw importModuleError(e);
    throw e;
  }
  // A CommonJS module's exports may only be on `default` when Node cannot detect them by name.
  const fn = resolvePath(mod, exportName) ?? resolvePath(mod.default, exportName);
  const handler = `${basename(file, extname(file))}.${exportName}`;
  if (!fn) throw handlerNotFound(handler, true);
  if (typeof fn !== 'function') throw handlerNotFound(handler, false);
  return fn as Handler;
}

function resolvePath(from: unknown, path: string): unknown {
  let at = from;
  for (const key of path.split('.')) at = at == null ? undefined : (at as Record<string, unknown>)[key];
  return at;
}

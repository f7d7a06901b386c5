// Loads the pipelines a module exports (default export and named exports that are pipelines).
import { importModule } from '../../load-module.js';
import { Pipeline } from '../dsl.js';

export async function loadPipelines(file: string): Promise<Pipeline[]> {
  const mod = await importModule(file);
  const found = new Set<Pipeline>();
  for (const v of Object.values(mod)) if (isPipeline(v)) found.add(v);
  if (isPipeline((mod.default as Record<string, unknown> | undefined)?.default)) found.add((mod.default as { default: Pipeline }).default);
  return [...found];
}

/** Duck-typed: the module may load its own copy of sluice/dataflow. */
export function isPipeline(v: unknown): v is Pipeline {
  return v instanceof Pipeline || (typeof v === 'object' && v !== null && typeof (v as Pipeline).name === 'string' && Array.isArray((v as Pipeline).nodes) && 'sinks' in v);
}

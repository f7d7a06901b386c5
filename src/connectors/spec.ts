// What a pipeline's sink step says about where its rows go (plan data, in the DSL's sink node):
// the runtime opens the sink it names in each thread that runs its unit (sinks.ts).
import type { PostgresSinkOptions } from './postgres/options.js';
import type { WebhookSinkOptions } from './webhook/options.js';

export type SinkSpec =
  | { kind: 'sqlite' }
  | ({ kind: 'postgres' } & PostgresSinkOptions)
  | ({ kind: 'webhook' } & WebhookSinkOptions);

/** The sink names a pipeline's sink steps get: they name its unit (`t.<name>`) and internal stream. */
export const sinkName = {
  sqlite: (table: string) => table,
  postgres: (table: string) => `pg.${table}`,
  webhook: (name: string) => `webhook.${name}`,
};

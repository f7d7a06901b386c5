// `sluice dev` and `sluice start`: open the engine, create the configured streams, serve the
// gateway, and on SIGTERM/SIGINT drain in-flight requests and close the engine cleanly.
import { loadConfig, type ResolvedConfig } from '../config/index.js';
import type { Engine } from '../engine/engine.js';
import { StreamExistsError } from '../engine/errors.js';
import { DEFAULT_DATA_DIR, openEngine, type EngineConfig } from '../engine/open.js';
import { Gateway } from '../gateway/gateway.js';
import type { GatewayOptions } from '../gateway/options.js';
import { CliError } from './client.js';
import { runDemo } from './demo/index.js';

export interface ServeFlags {
  config?: string;
  host?: string;
  port?: number;
  dataDir?: string;
  insecure?: boolean;
  demo?: boolean;
}

export async function serve(mode: 'dev' | 'start', flags: ServeFlags): Promise<void> {
  const { config, source } = await loadConfig(flags.config);
  const principals = config.auth?.principals ?? [];
  if (mode === 'start' && principals.length === 0 && !flags.insecure) {
    throw new CliError('sluice start refuses to run without API keys: add auth.principals to sluice.config.ts (see `sluice keys create`), or pass --insecure', 2);
  }
  const engineConfig: EngineConfig = { kind: 'sqlite', ...config.engine, ...(flags.dataDir ? { dataDir: flags.dataDir } : {}) };
  const engine = await openEngine(engineConfig);
  await ensureStreams(engine, config);
  const gateway = new Gateway(engine, gatewayOptions(mode, config, flags));
  const { host, port } = await gateway.listen();
  const auth = principals.length ? `${principals.length} principals` : 'open (no keys)';
  log(`sluice ${mode}: listening on ${gateway.url} (host ${host}, port ${port})`);
  log(`engine sqlite at ${engineConfig.dataDir ?? DEFAULT_DATA_DIR}, durability ${engineConfig.durability ?? 'process'}; auth ${auth}${source ? `; config ${source}` : ''}`);
  const demo = flags.demo ? runDemo(gateway) : undefined;
  await new Promise<void>((resolve) => {
    const stop = async (signal: string) => {
      process.off('SIGTERM', onTerm);
      process.off('SIGINT', onInt);
      log(`${signal}: draining in-flight requests`);
      await demo?.stop();
      await gateway.close();
      await engine.close();
      log('stopped');
      resolve();
    };
    const onTerm = () => void stop('SIGTERM');
    const onInt = () => void stop('SIGINT');
    process.on('SIGTERM', onTerm);
    process.on('SIGINT', onInt);
  });
}

function gatewayOptions(mode: 'dev' | 'start', config: ResolvedConfig, flags: ServeFlags): GatewayOptions {
  const { bodyTimeout, drainTimeout, ...rest } = config.gateway ?? {};
  return {
    ...rest,
    ...(bodyTimeout !== undefined ? { bodyTimeoutMs: bodyTimeout } : {}),
    ...(drainTimeout !== undefined ? { drainTimeoutMs: drainTimeout } : {}),
    host: flags.host ?? (mode === 'dev' ? '127.0.0.1' : (config.gateway?.host ?? '0.0.0.0')),
    ...(flags.port !== undefined ? { port: flags.port } : {}),
    principals: config.auth?.principals ?? [],
  };
}

async function ensureStreams(engine: Engine, config: ResolvedConfig): Promise<void> {
  for (const [name, s] of Object.entries(config.streams ?? {})) {
    try {
      await engine.createStream(name, {
        ...(s.partitions !== undefined ? { partitions: s.partitions } : {}),
        ...(s.retention !== undefined ? { retentionMs: s.retention } : {}),
        ...(s.dedupWindow !== undefined ? { dedupWindowMs: s.dedupWindow } : {}),
        ...(s.partitionKeyField !== undefined ? { partitionKeyField: s.partitionKeyField } : {}),
      });
      log(`created stream '${name}'`);
    } catch (e) {
      if (!(e instanceof StreamExistsError)) throw e;
    }
  }
}

const log = (line: string) => process.stderr.write(`${line}\n`);

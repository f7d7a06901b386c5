// `sluice dev` and `sluice start`: open the engine, create the configured streams and buckets, serve the
// gateway, and on SIGTERM/SIGINT drain in-flight requests and close the engine cleanly.
import { loadConfig, type ResolvedConfig } from '../config/index.js';
import type { Engine } from '../engine/engine.js';
import { StreamExistsError } from '../engine/errors.js';
import { BucketExistsError } from '../objects/errors.js';
import { maintainRetention } from '../engine/maintenance.js';
import { DEFAULT_DATA_DIR, openEngine, type EngineConfig } from '../engine/open.js';
import { Gateway } from '../gateway/gateway.js';
import type { GatewayOptions } from '../gateway/options.js';
import { CliError } from './client.js';
import { runDemo, runModuleDemo } from './demo/index.js';
import { createLogger, type Logger } from '../observe/log.js';
import { Metrics } from '../observe/metrics.js';
import { Observer } from '../observe/observer.js';
import { VERSION } from './version.js';
import { dirname } from 'node:path';
import { systemClock } from '../clock.js';
import { Functions } from '../functions/functions.js';
import { FunctionInitError } from '../functions/errors.js';
import { processRuntime } from '../functions/runtime/process.js';
import { threadRuntime } from '../functions/runtime/thread.js';
import { configuredPipelines, runOptions, startPipelines } from './pipelines.js';
import { ArchiveRun } from '../connectors/archive/index.js';
import { Objects } from '../objects/index.js';
import { prepareObjectTriggers } from '../functions/objects/index.js';
import { Dependencies } from '../resilience/index.js';

export interface ServeFlags {
  config?: string;
  /** 'sqlite', or a NATS URL list 'nats://host:4222,nats://other:4222'. */
  engine?: string;
  host?: string;
  port?: number;
  dataDir?: string;
  insecure?: boolean;
  demo?: boolean;
  /** Default: $LOG_LEVEL, else info (warn with --demo, whose view is the terminal). */
  logLevel?: string;
}

export async function serve(mode: 'dev' | 'start', flags: ServeFlags): Promise<void> {
  const { config, source } = await loadConfig(flags.config);
  const principals = config.auth?.principals ?? [];
  if (mode === 'start' && principals.length === 0 && !flags.insecure) {
    throw new CliError('sluice start refuses to run without API keys: add auth.principals to sluice.config.ts (see `sluice keys create`), or pass --insecure', 2);
  }
  const rootLog = createLogger({ level: flags.logLevel ?? process.env.LOG_LEVEL ?? (flags.demo ? 'warn' : undefined), pretty: logFormatOf(process.env.SLUICE_LOG_FORMAT, mode) === 'pretty' });
  const log = rootLog.child({ component: 'sluice' });
  const engineConfig = engineConfigOf(config, flags);
  const loaded = await configuredPipelines(config, source);
  // (Retention runs here rather than on the engine's own timer, on every engine, its failures logged.)
  const engineLog = rootLog.child({ component: 'engine' });
  // This thread's resilience dependencies (the engine's 'nats'), with the server-wide retry budget; /metrics and `sluice dependencies` read them.
  const dependencies = new Dependencies();
  const engine = await openEngine(engineConfig.kind === 'sqlite' ? { ...engineConfig, retentionIntervalMs: 0 } : engineConfig, undefined, engineLog, { dependencies });
  const housekeeping = new AbortController();
  const retention = maintainRetention(engine, { clock: systemClock, log: engineLog, signal: housekeeping.signal });
  await ensureStreams(engine, config, log);
  // SLUICE_METRICS=off: metrics that count nothing (what benchmarks measure metrics' cost against).
  const metrics = process.env.SLUICE_METRICS === 'off' ? Metrics.off() : new Metrics({ process: true });
  const observer = new Observer({ metrics, log: rootLog.child({ component: 'gateway' }), version: VERSION });
  observer.watchDependencies(() => dependencies.stats());
  const gateway = new Gateway(engine, gatewayOptions(mode, config, flags), undefined, observer);
  gateway.dependencies = dependencies;
  // Before the gateway takes a write: every write a trigger matches commits its event into the function's queue (decision 021).
  const announce = await prepareObjectTriggers(engine, config.functions ?? {}, { region: gateway.options.region, clock: systemClock });
  if (announce) gateway.objects = new Objects(engine, { clock: systemClock, announce });
  await ensureBuckets(gateway, config, log);
  const { host, port } = await gateway.listen().catch(async (e: NodeJS.ErrnoException) => {
    housekeeping.abort();
    await engine.close();
    if (e.code === 'EADDRINUSE') throw new CliError(`port ${gateway.options.port} on ${gateway.options.host} is in use (another sluice?): choose another with --port`, 1);
    if (e.code === 'EACCES') throw new CliError(`may not listen on port ${gateway.options.port}: choose one above 1023 with --port`, 1);
    throw e;
  });
  const auth = principals.length ? `${principals.length} principals` : 'open (no keys)';
  log.info(`engine ${describeEngine(engineConfig)}; auth ${auth}${source ? `; config ${source}` : ''}`);
  const options = { ...runOptions(config, engineConfig, source, pipelineLog(rootLog)), metrics: observer.metrics };
  const runs = await startPipelines(engine, loaded, options);
  observer.watch(runs);
  const functions = await startFunctions(config, source, engine, gateway, observer, mode, dependencies);
  // Through the gateway's object store: an archive's objects announce to object triggers as the S3 API's do.
  const archives = await startArchives(engine, gateway, config, rootLog);
  // (Printed whatever the level, once everything runs: it is how a user, and a script, learns where to go.)
  process.stderr.write(`sluice ${mode}: listening on ${gateway.url} (host ${host}, port ${port}); dashboard ${gateway.url}/ui\n`);
  const threads = options.workers ? `${options.workers} worker thread${options.workers > 1 ? 's' : ''}` : 'the main thread';
  for (const r of runs) log.info(`pipeline '${r.pipeline.name}': ${r.prepared.units.length} units on ${threads}`);
  const demo = !flags.demo ? undefined : config.dataflow?.demo ? runModuleDemo(config.dataflow.demo, source, { url: gateway.url, tablesPath: options.tablesPath!, runs }) : runDemo(gateway);
  await new Promise<void>((resolve) => {
    let stopping = false;
    const stop = async (signal: string) => {
      if (stopping) return;
      stopping = true;
      process.off('SIGTERM', onTerm);
      process.off('SIGINT', onInt);
      log.info(`${signal}: draining in-flight requests`);
      await demo?.stop();
      await gateway.close();
      await functions?.close();
      for (const r of runs) await r.stop();
      await archives?.stop();
      housekeeping.abort();
      await retention;
      await engine.close();
      dependencies.dispose();
      log.info('stopped');
      resolve();
    };
    for (const r of runs) {
      r.done.catch((e: Error) => {
        log.error(`pipeline '${r.pipeline.name}' stopped: ${e.message}`);
        process.exitCode = 1;
        void stop('pipeline failure');
      });
    }
    archives?.done.catch((e: Error) => {
      log.error(`archives stopped: ${e.message}`);
      process.exitCode = 1;
      void stop('archive failure');
    });
    const onTerm = () => void stop('SIGTERM');
    const onInt = () => void stop('SIGINT');
    process.on('SIGTERM', onTerm);
    process.on('SIGINT', onInt);
  });
}

/** The engine from --engine (a NATS URL list or 'sqlite'), else the config file, else sqlite. */
export function engineConfigOf(config: ResolvedConfig, flags: ServeFlags): EngineConfig {
  if (flags.engine !== undefined && flags.engine !== 'sqlite') {
    const servers = flags.engine.split(',').map((s) => s.trim());
    if (servers.some((s) => !/^(nats|tls):\/\/[^\s/]+$/.test(s))) {
      throw new CliError(`--engine: expected 'sqlite' or nats://host:port[,nats://…], got '${flags.engine}'`, 2);
    }
    const fromFile = config.engine?.kind === 'nats' ? config.engine : undefined;
    return toEngineConfig({ ...fromFile, kind: 'nats', servers });
  }
  const base = flags.engine === 'sqlite' || config.engine === undefined ? { kind: 'sqlite' as const } : config.engine;
  const resolved = toEngineConfig(base);
  if (flags.dataDir && resolved.kind === 'sqlite') resolved.dataDir = flags.dataDir;
  return resolved;
}

function toEngineConfig(e: NonNullable<ResolvedConfig['engine']>): EngineConfig {
  if (e.kind === 'sqlite') return { ...e };
  const { requestTimeout, policy, ...rest } = e;
  return { ...rest, ...(requestTimeout !== undefined ? { requestTimeoutMs: requestTimeout } : {}), ...(policy !== undefined ? { policies: policy } : {}) };
}

function describeEngine(e: EngineConfig): string {
  if (e.kind === 'sqlite') return `sqlite at ${e.dataDir ?? DEFAULT_DATA_DIR}, durability ${e.durability ?? 'process'}`;
  return `nats at ${[e.servers].flat().join(',')}, replicas ${e.replicas ?? 1}`;
}

function gatewayOptions(mode: 'dev' | 'start', config: ResolvedConfig, flags: ServeFlags): GatewayOptions {
  const { bodyTimeout, drainTimeout, headersTimeout, idleTimeout, ...rest } = config.gateway ?? {};
  return {
    ...rest,
    ...(bodyTimeout !== undefined ? { bodyTimeoutMs: bodyTimeout } : {}),
    ...(drainTimeout !== undefined ? { drainTimeoutMs: drainTimeout } : {}),
    ...(headersTimeout !== undefined ? { headersTimeoutMs: headersTimeout } : {}),
    ...(idleTimeout !== undefined ? { idleTimeoutMs: idleTimeout } : {}),
    host: flags.host ?? (mode === 'dev' ? '127.0.0.1' : (config.gateway?.host ?? '0.0.0.0')),
    ...(flags.port !== undefined ? { port: flags.port } : {}),
    principals: config.auth?.principals ?? [],
  };
}

async function ensureStreams(engine: Engine, config: ResolvedConfig, log: Logger): Promise<void> {
  for (const [name, s] of Object.entries(config.streams ?? {})) {
    try {
      await engine.createStream(name, {
        ...(s.partitions !== undefined ? { partitions: s.partitions } : {}),
        ...(s.retention !== undefined ? { retentionMs: s.retention } : {}),
        ...(s.dedupWindow !== undefined ? { dedupWindowMs: s.dedupWindow } : {}),
        ...(s.partitionKeyField !== undefined ? { partitionKeyField: s.partitionKeyField } : {}),
      });
      log.info(`created stream '${name}'`);
    } catch (e) {
      if (!(e instanceof StreamExistsError)) throw e;
    }
  }
}

async function ensureBuckets(gateway: Gateway, config: ResolvedConfig, log: Logger): Promise<void> {
  for (const name of Object.keys(config.buckets ?? {})) {
    try {
      await gateway.objects.createBucket(name);
      log.info(`created bucket '${name}'`);
    } catch (e) {
      if (!(e instanceof BucketExistsError)) throw e;
    }
  }
}

/** Starts the configured functions (after the gateway listens: they call back to it) and hands them to the gateway. */
async function startFunctions(config: ResolvedConfig, source: string | undefined, engine: Engine, gateway: Gateway, observer: Observer, mode: 'dev' | 'start', dependencies: Dependencies): Promise<Functions | undefined> {
  if (!config.functions || Object.keys(config.functions).length === 0) return undefined;
  const functions = await Functions.start({
    engine, functions: config.functions, baseDir: source ? dirname(source) : process.cwd(), gatewayUrl: gateway.url, region: gateway.options.region,
    observer, clock: systemClock, runtimes: { thread: threadRuntime, process: processRuntime }, addPrincipal: (p) => gateway.addPrincipal(p), watch: mode === 'dev', dependencies,
  }).catch((e: Error) => {
    throw new CliError(e.message, e instanceof FunctionInitError ? 2 : 1);
  });
  gateway.functions = functions;
  const log = observer.log.child({ component: 'functions' });
  for (const name of functions.names()) log.info(`function '${name}': ${functions.get(name).spec.concurrency} at once on ${functions.get(name).config.runtime ?? 'thread'}s; invoke at ${gateway.url}/2015-03-31/functions/${name}/invocations`);
  return functions;
}

/** Runs the configured archives (`archives:`), their lines logged under component 'archive'. */
async function startArchives(engine: Engine, gateway: Gateway, config: ResolvedConfig, root: Logger): Promise<ArchiveRun | undefined> {
  const archives = config.archives ?? {};
  if (Object.keys(archives).length === 0) return undefined;
  const log = root.child({ component: 'archive' });
  const run = await ArchiveRun.start(engine, gateway.objects, archives, { log: (line, level = 'warn') => log[level](line) });
  for (const [stream, a] of Object.entries(archives)) log.info(`archive '${stream}': to ${a.bucket}/${a.prefix ? `${a.prefix}/` : ''}`);
  return run;
}

/** Pipelines' lines (units failing and recovering, input gone, trims) into the log, each at its level. */
export function pipelineLog(root: Logger): (line: string, level?: 'info' | 'warn') => void {
  const log = root.child({ component: 'dataflow' });
  return (line, level = 'warn') => log[level](line);
}

/** SLUICE_LOG_FORMAT: 'pretty' (readable lines; sluice dev's default) or 'json' (one object a line; sluice start's). */
function logFormatOf(given: string | undefined, mode: 'dev' | 'start'): 'pretty' | 'json' {
  if (given === undefined || given === '') return mode === 'dev' ? 'pretty' : 'json';
  if (given !== 'pretty' && given !== 'json') throw new CliError(`SLUICE_LOG_FORMAT must be 'pretty' or 'json', got '${given}'`, 2);
  return given;
}

// `sluice replay <pipeline> --from <earliest|time>`: forget the pipeline's state, recompute from
// retained input until caught up, and exit. Table rows come out identical on every rerun.
import { loadConfig } from '../config/index.js';
import { openEngine } from '../engine/open.js';
import { PipelineRun } from '../dataflow/runtime/runner.js';
import { CliError } from './client.js';
import { configuredPipelines, parseFrom, resetPipeline, runOptions } from './pipelines.js';
import { engineConfigOf, pipelineLog } from './serve.js';
import { createLogger } from '../observe/log.js';

export async function replay(name: string, flags: { from: string; config?: string; dataDir?: string; engine?: string; logLevel?: string }): Promise<void> {
  const from = parseFrom(flags.from);
  const { config, source } = await loadConfig(flags.config);
  const loaded = await configuredPipelines(config, source);
  const found = loaded.find((l) => l.pipeline.name === name);
  if (!found) throw new CliError(`no pipeline '${name}' in dataflow.pipelines${loaded.length ? ` (there are: ${loaded.map((l) => l.pipeline.name).join(', ')})` : ''}`, 2);
  const engineConfig = engineConfigOf(config, flags);
  const engine = await openEngine(engineConfig);
  const root = createLogger({ level: flags.logLevel, pretty: true });
  const log = pipelineLog(root);
  try {
    const options = runOptions(config, engineConfig, source, log);
    await resetPipeline(engine, found.pipeline, options.tablesPath!, from);
    const started = Date.now();
    const run = await PipelineRun.start(engine, found.pipeline, { ...options, workers: 0, from });
    // Caught up: several rounds in a row without work (the pipeline's own internal streams included).
    let quiet = 0;
    while (quiet < 5) {
      await Promise.race([new Promise((r) => setTimeout(r, 50)), run.done]);
      quiet = run.idle ? quiet + 1 : 0;
    }
    await run.stop();
    await run.done;
    const stats = run.unitStats();
    const records = stats.filter((s) => s.unit.startsWith('s.')).reduce((n, s) => n + s.records, 0);
    const rows = stats.filter((s) => s.unit.startsWith('t.')).reduce((n, s) => n + s.records, 0);
    root.info(`replayed '${name}' from ${flags.from}: ${records} input records, ${rows} table row updates in ${Date.now() - started} ms`);
  } finally {
    await engine.close();
  }
}

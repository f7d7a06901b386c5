// Runs the pipelines a configuration declares (dev/start), and `sluice replay`.
import { availableParallelism } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import type { ResolvedConfig } from '../config/index.js';
import type { Engine } from '../engine/engine.js';
import { StreamNotFoundError } from '../engine/errors.js';
import { DEFAULT_DATA_DIR, type EngineConfig } from '../engine/open.js';
import type { Pipeline } from '../dataflow/dsl.js';
import { metaKey, shuffleStream, stateUnitsPrefix, tableStream, Layout } from '../dataflow/runtime/layout.js';
import { decode, encode } from '../dataflow/runtime/wire.js';
import { loadPipelines } from '../dataflow/runtime/load.js';
import { PipelineRun, type RunOptions } from '../dataflow/runtime/runner.js';
import { SinkSet } from '../connectors/sinks.js';
import { streamSinkPipeline } from '../connectors/config.js';
import { CliError } from './client.js';

export interface LoadedPipeline {
  pipeline: Pipeline;
  /** The module exporting it (worker threads load it); none for a configured stream sink, which runs in the main thread. */
  file?: string;
}

/** The pipelines of the configuration's dataflow.pipelines files, and one per stream sink (`sinks`). */
export async function configuredPipelines(config: ResolvedConfig, source: string | undefined): Promise<LoadedPipeline[]> {
  const base = source ? dirname(source) : process.cwd();
  const out: LoadedPipeline[] = [];
  for (const f of config.dataflow?.pipelines ?? []) {
    const file = resolve(base, f);
    let found: Pipeline[];
    try {
      found = await loadPipelines(file);
    } catch (e) {
      throw new CliError(`dataflow.pipelines: cannot load ${file}: ${(e as Error).message}`, 2);
    }
    if (found.length === 0) throw new CliError(`dataflow.pipelines: ${file} exports no pipeline (export default pipeline('name')…)`, 2);
    for (const pipeline of found) {
      if (out.some((o) => o.pipeline.name === pipeline.name)) throw new CliError(`dataflow.pipelines: two pipelines are named '${pipeline.name}'`, 2);
      out.push({ pipeline, file });
    }
  }
  for (const [name, sink] of Object.entries(config.sinks ?? {})) {
    if (out.some((o) => o.pipeline.name === name)) throw new CliError(`sinks.${name}: a pipeline is named '${name}' too (a stream sink runs as a pipeline of its name)`, 2);
    out.push({ pipeline: streamSinkPipeline(name, sink) });
  }
  return out;
}

/** Where table sinks live: dataflow.tables, else next to the embedded engine's data. */
export function tablesPathOf(config: ResolvedConfig, engineConfig: EngineConfig, source: string | undefined): string {
  if (config.dataflow?.tables) return resolve(source ? dirname(source) : process.cwd(), config.dataflow.tables);
  return join(engineConfig.kind === 'sqlite' ? (engineConfig.dataDir ?? DEFAULT_DATA_DIR) : '.sluice', 'tables.db');
}

export function runOptions(config: ResolvedConfig, engineConfig: EngineConfig, source: string | undefined, log: (l: string) => void): RunOptions {
  const d = config.dataflow;
  return {
    workers: d?.workers ?? (availableParallelism() >= 2 ? 2 : 0),
    keyGroups: d?.keyGroups,
    batch: d?.batch,
    maxDrift: d?.maxDrift,
    stateKeysInMemory: d?.stateKeysInMemory,
    tablesPath: tablesPathOf(config, engineConfig, source),
    engineConfig,
    log,
  };
}

export async function startPipelines(engine: Engine, loaded: LoadedPipeline[], options: RunOptions): Promise<PipelineRun[]> {
  const runs: PipelineRun[] = [];
  for (const { pipeline, file } of loaded) runs.push(await PipelineRun.start(engine, pipeline, { ...options, module: file, workers: file ? options.workers : 0 }));
  return runs;
}

/** Parses --from: 'earliest', an ISO time, or milliseconds since the epoch. */
export function parseFrom(v: string): 'earliest' | { timestamp: number } {
  if (v === 'earliest') return 'earliest';
  const t = /^\d+$/.test(v) ? Number(v) : Date.parse(v);
  if (!Number.isFinite(t)) throw new CliError(`--from: expected 'earliest', an ISO time or epoch milliseconds, got '${v}'`, 2);
  return { timestamp: t };
}

/**
 * Forgets a pipeline's state and internal streams and the table rows it will recompute, so the
 * next run starts from `from` (the lease moves on: a running copy of the pipeline is fenced out).
 */
export async function resetPipeline(engine: Engine, p: Pipeline, tablesPath: string, from: 'earliest' | { timestamp: number }): Promise<void> {
  const units = await engine.listState(stateUnitsPrefix(p.name));
  if (units.size) await engine.commit({ state: [...units.keys()].map((key) => ({ key, value: null })) });
  // Windows that start before a replay's --from time would be recomputed from part of their
  // records: their rows are frozen (the table sink skips them) until a replay from earliest.
  const meta = await engine.getState(metaKey(p.name));
  if (meta) {
    const m = decode(meta.value) as { keyGroups: number; floor?: number };
    const floor = from === 'earliest' ? undefined : from.timestamp;
    await engine.commit({ state: [{ key: metaKey(p.name), value: encode({ keyGroups: m.keyGroups, ...(floor === undefined ? {} : { floor }) }), expectedVersion: meta.version }] });
  }
  const layout = new Layout(p, 1);
  for (const name of [...layout.keyed.map((n) => shuffleStream(p.name, n.id)), ...layout.tables.map((t) => tableStream(p.name, t))]) {
    try {
      await engine.deleteStream(name);
    } catch (e) {
      if (!(e instanceof StreamNotFoundError)) throw e;
    }
  }
  if (layout.tables.length) {
    const sinks = new SinkSet({ tablesPath });
    try {
      for (const t of layout.tables) await sinks.get(t, layout.sinkSpecs.get(t)!).reset(p.name, t, from === 'earliest' ? undefined : from.timestamp);
    } finally {
      await sinks.close();
    }
  }
}

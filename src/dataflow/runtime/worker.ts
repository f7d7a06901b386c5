// A pipeline worker thread: opens its own engine connection, loads the pipeline module, and steps
// the units it was given until told to stop.
import { parentPort, workerData } from 'node:worker_threads';
import { openEngine, type EngineConfig } from '../../engine/open.js';
import { loadPipelines } from './load.js';
import { Layout } from './layout.js';
import { openUnits, UnitLoop, type Prepared, type RunOptions } from './runner.js';
import { DEFAULT_TABLES_PATH, TablesDb } from './table-sink.js';

interface Data {
  module: string;
  pipeline: string;
  engineConfig: EngineConfig;
  prepared: { lease: Prepared['lease']; keyGroups: number; partitions: [string, number][]; units: string[]; floor?: number };
  ids: string[];
  options: RunOptions;
}

const d = workerData as Data;
const pipelines = await loadPipelines(d.module);
const p = pipelines.find((x) => x.name === d.pipeline)!;
// Retention is the main process' job.
const engine = await openEngine(d.engineConfig.kind === 'sqlite' ? { ...d.engineConfig, retentionIntervalMs: 0 } : d.engineConfig);
const prepared: Prepared = { layout: new Layout(p, d.prepared.keyGroups), lease: d.prepared.lease, partitions: new Map(d.prepared.partitions), units: d.prepared.units, floor: d.prepared.floor };
const tables = d.ids.some((id) => id.startsWith('t.')) ? new TablesDb(d.options.tablesPath ?? DEFAULT_TABLES_PATH) : undefined;
const log = (line: string) => parentPort!.postMessage({ log: line });
const loop = new UnitLoop(await openUnits(engine, prepared, d.ids, d.options, tables), { ...d.options, log });
let wasIdle = false;
const report = setInterval(() => {
  parentPort!.postMessage({ stats: loop.units.map((u) => u.stats) });
  if (loop.idle !== wasIdle) parentPort!.postMessage({ idle: (wasIdle = loop.idle) });
}, 50);
parentPort!.on('message', (m) => {
  if (m === 'stop') void loop.stop();
});
try {
  await loop.done;
} finally {
  clearInterval(report);
  parentPort!.postMessage({ stats: loop.units.map((u) => u.stats), idle: true });
  tables?.close();
  await engine.close();
  parentPort!.close();
}

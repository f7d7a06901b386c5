// A pipeline worker thread: opens its own engine connection, loads the pipeline module, and steps
// the units it was given until told to stop.
import { parentPort, workerData } from 'node:worker_threads';
import { openEngine } from '../../engine/open.js';
import { loadPipelines } from './load.js';
import { startUnits, type WorkerData, type WorkerMessage } from './runner.js';
import { SinkSet } from '../../connectors/sinks.js';
import { Dependencies } from '../../resilience/index.js';

const d = workerData as WorkerData;
const post = (m: WorkerMessage) => parentPort!.postMessage(m);
const p = (await loadPipelines(d.module)).find((x) => x.name === d.pipeline)!;
// The thread's dependencies (its engine's 'nats', its sinks'), with the thread's server-wide retry budget.
const dependencies = new Dependencies();
// Retention and WAL checkpoints are the main thread's job (its engine has the same data open).
const engine = await openEngine(d.engineConfig.kind === 'sqlite' ? { ...d.engineConfig, retentionIntervalMs: 0, checkpoints: false } : d.engineConfig, undefined, undefined, { dependencies });
const log = (line: string, level?: 'info' | 'warn') => post({ log: line, level });
const sinks = d.units.some((u) => u.kind === 'table') ? new SinkSet({ tablesPath: d.options.tablesPath, log, dependencies }) : undefined;
let commits: number[] = [];
const loop = await startUnits(engine, p, d.prepared, d.units, { ...d.options, log, onCommit: (s) => commits.push(s) }, sinks);
post({ ready: true });
/** The units' counters, and the commit times since the last report. */
const report = (idle?: boolean) => {
  post({ stats: loop.units.map((u) => u.stats), commits, dependencies: dependencies.stats(), ...(idle === undefined ? {} : { idle }) });
  commits = [];
};
const ticker = setInterval(() => report(), 50);
// Turning idle is reported at once, with the counters it was reached at.
loop.onIdleChange = (idle) => report(idle);
parentPort!.on('message', (m) => {
  if (m === 'stop') void loop.stop();
});
try {
  await loop.done;
} finally {
  clearInterval(ticker);
  report(true);
  await sinks?.close();
  await engine.close();
  dependencies.dispose();
  parentPort!.close();
}

// Pipelines in /metrics: their units' counters, read from the units' latest stats when scraped
// (units in worker threads report them every 50 ms), so nothing is counted twice or per record.
import type { Counter, Gauge } from 'prom-client';
import type { PipelineRun } from '../dataflow/runtime/runner.js';
import type { UnitStats } from '../dataflow/runtime/units.js';
import type { Metrics } from './metrics.js';

type UnitLabels = 'pipeline' | 'unit';

/** Registers the pipeline metrics; `runs()` gives the runs to read at each scrape. */
export function pipelineMetrics(m: Metrics, runs: () => readonly PipelineRun[]): void {
  const each = (f: (run: PipelineRun, s: UnitStats) => void) => {
    for (const run of runs()) for (const s of run.unitStats()) f(run, s);
  };
  /** A counter set to the units' totals at each scrape (they count themselves). */
  const fromStats = (name: string, help: string, value: (s: UnitStats) => number) =>
    m.counter<UnitLabels>(name, help, ['pipeline', 'unit'], (c: Counter<UnitLabels>) => {
      c.reset();
      each((run, s) => {
        const v = value(s);
        if (v > 0) c.inc({ pipeline: run.pipeline.name, unit: s.unit }, v);
      });
    });
  const gaugeFromStats = (name: string, help: string, value: (s: UnitStats) => number | null) =>
    m.gauge<UnitLabels>(name, help, ['pipeline', 'unit'], (g: Gauge<UnitLabels>) => {
      g.reset();
      each((run, s) => {
        const v = value(s);
        if (v !== null) g.set({ pipeline: run.pipeline.name, unit: s.unit }, v);
      });
    });
  fromStats('sluice_pipeline_records_total', 'Input records a unit processed (a shuffle partial counts one)', (s) => s.records);
  fromStats('sluice_pipeline_epochs_total', 'Epochs a unit committed', (s) => s.epochs);
  fromStats('sluice_pipeline_late_records_total', 'Records later than allowed lateness, sent to the late stream', (s) => s.late);
  fromStats('sluice_pipeline_clamped_records_total', 'Records stamped too far in the future, clamped', (s) => s.clampedFuture);
  fromStats('sluice_pipeline_error_records_total', 'Records sent to the errors stream (not JSON, a function threw, a bad row)', (s) => s.errors);
  fromStats('sluice_pipeline_alignment_pauses_total', 'Steps a source unit sat out, maxDrift ahead of a peer', (s) => s.paused);
  fromStats('sluice_pipeline_failed_epochs_total', 'Epochs that failed and were redone from the last commit', (s) => s.failures);
  gaugeFromStats('sluice_pipeline_state_keys', 'Keys a keyed unit holds in state', (s) => s.stateKeys);
  gaugeFromStats('sluice_pipeline_state_values_in_memory', 'State values a keyed unit holds in memory (the rest are spilled to disk)', (s) => s.inMemory);
  gaugeFromStats('sluice_pipeline_state_values_spilled', 'State values a keyed unit spilled to disk', (s) => s.spilled);
  gaugeFromStats('sluice_pipeline_watermark_seconds', 'A unit\'s watermark (event time, seconds since the epoch)', (s) => (s.watermark === null ? null : s.watermark / 1000));
  gaugeFromStats('sluice_pipeline_watermark_lag_seconds', 'How far a unit\'s watermark is behind the wall clock', (s) => (s.watermark === null ? null : Math.max(0, (Date.now() - s.watermark) / 1000)));
  gaugeFromStats('sluice_pipeline_source_lag_records', 'Records of its partition a source unit has not read yet', (s) => s.lagRecords ?? null);
  m.counter<'pipeline' | 'node'>('sluice_pipeline_step_records_total', 'Records a plan step emitted (the rate on each of its outgoing edges)', ['pipeline', 'node'], (steps) => {
    steps.reset();
    for (const run of runs()) for (const [node, n] of emittedBy(run)) steps.inc({ pipeline: run.pipeline.name, node: String(node) }, n);
  });
  m.counter<'pipeline' | 'node'>('sluice_pipeline_step_late_records_total', 'Records too late for a keyed plan step (windows, joins), wherever they were judged', ['pipeline', 'node'], (steps) => {
    steps.reset();
    for (const run of runs()) for (const [node, n] of lateAtBy(run)) steps.inc({ pipeline: run.pipeline.name, node: String(node) }, n);
  });
  m.gauge<'pipeline' | 'health'>('sluice_pipeline_up', 'Whether a pipeline runs (1) with the health it is in', ['pipeline', 'health'], (g) => {
    g.reset();
    for (const run of runs()) g.set({ pipeline: run.pipeline.name, health: run.health().health }, 1);
  });
}

/** Records each plan node emitted, over every unit of a run. */
export const emittedBy = (run: PipelineRun) => byNode(run, 'emitted');
/** Records too late for each keyed plan node, over every unit of a run. */
export const lateAtBy = (run: PipelineRun) => byNode(run, 'lateAt');

function byNode(run: PipelineRun, field: 'emitted' | 'lateAt'): Map<number, number> {
  const out = new Map<number, number>();
  for (const s of run.unitStats()) s[field].forEach((n, node) => n && out.set(node, (out.get(node) ?? 0) + n));
  return out;
}

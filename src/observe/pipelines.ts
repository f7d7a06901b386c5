// What the dashboard and the observe API show of a running pipeline (decision 017): its plan as a
// graph with the rate on each edge, its keyed steps' watermarks, its units' counters and lag.
import { inputsOf, isKeyed, type PlanNode } from '../dataflow/dsl.js';
import { errorSinkOf, lateSinkOf } from '../dataflow/executor.js';
import type { PipelineRun } from '../dataflow/runtime/runner.js';
import type { UnitStats } from '../dataflow/runtime/units.js';
import type { Engine } from '../engine/engine.js';
import { emittedBy, lateAtBy } from './pipeline-metrics.js';
import type { Series } from './series.js';

const duration = (ms: number) => (ms === 0 ? '0' : ms % 3_600_000 === 0 ? `${ms / 3_600_000}h` : ms % 60_000 === 0 ? `${ms / 60_000}m` : ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`);

/** A plan node's label: what it is, with its stream, table, window or bounds. */
export function labelOf(n: PlanNode): string {
  switch (n.kind) {
    case 'source':
      return n.stream;
    case 'window':
      return n.spec.kind === 'tumbling' ? `tumbling ${duration(n.spec.size)}` : n.spec.kind === 'sliding' ? `sliding ${duration(n.spec.size)} / ${duration(n.spec.slide)}` : `session ${duration(n.spec.gap)}`;
    case 'join':
      return n.join.mode === 'interval'
        ? `${n.outer ? 'left ' : ''}interval join ${duration(n.join.lower)}..${duration(n.join.upper)}`
        : `${n.outer ? 'left ' : ''}window join ${n.join.spec.kind === 'session' ? 'session' : duration(n.join.spec.size)}`;
    case 'lookup':
      return `${n.outer ? 'left ' : ''}table lookup`;
    case 'sink':
      return n.table ? `table ${n.name}` : `stream ${n.name}`;
    case 'late':
      return 'late records';
    default:
      return n.kind;
  }
}

const rate = (series: Series, name: string) => series.latest(name) ?? 0;

/** GET /v1/pipelines/{name}. */
export async function pipelineView(run: PipelineRun, series: Series, engine: Engine, now: number) {
  const p = run.pipeline;
  const stats = run.unitStats();
  const emitted = emittedBy(run);
  const lateAt = lateAtBy(run);
  const nodes = p.nodes.map((n) => ({
    id: n.id, kind: n.kind, label: labelOf(n), keyed: isKeyed(n),
    ...(n.kind === 'source' ? { stream: n.stream } : {}),
    ...(n.kind === 'sink' && n.table ? { table: n.name } : n.kind === 'sink' ? { stream: n.name } : {}),
  }));
  const edges = p.nodes.flatMap((n) => inputsOf(n).map((from) => ({ from, to: n.id, records: emitted.get(from) ?? 0, recordsPerSec: rate(series, `pipeline.${p.name}.node.${from}`) })));
  const steps = p.nodes.filter(isKeyed).map((n) => {
    const mine = stats.filter((s) => s.unit.startsWith(`k${n.id}.`));
    const marks = mine.map((s) => s.watermark).filter((w): w is number => w !== null);
    const watermark = marks.length === mine.length && marks.length > 0 ? Math.min(...marks) : null;
    return {
      node: n.id, watermark, watermarkLagS: watermark === null ? null : Math.max(0, (now - watermark) / 1000),
      late: lateAt.get(n.id) ?? 0, records: mine.reduce((k, s) => k + s.records, 0),
      recordsPerSec: rate(series, `pipeline.${p.name}.node.${n.id}`),
    };
  });
  const units = await Promise.all(stats.map((s) => unitView(run, s, engine, series)));
  const { health, lastError } = run.health();
  return {
    name: p.name, health, lastError, keyGroups: run.prepared.keyGroups, workers: run.workerCount,
    lateStream: lateSinkOf(p.name), errorStream: errorSinkOf(p.name),
    late: stats.reduce((k, s) => k + s.late, 0), errors: stats.reduce((k, s) => k + s.errors, 0),
    graph: { nodes, edges }, steps, units, commits: run.commitStats(),
  };
}

/** A unit's counters and records per second; a source unit's read position and how many records it has left to read. */
async function unitView(run: PipelineRun, s: UnitStats, engine: Engine, series: Series) {
  const spec = run.prepared.units.find((u) => unitId(u) === s.unit);
  const base = {
    unit: s.unit, kind: spec?.kind ?? 'keyed', records: s.records, recordsPerSec: rate(series, unitSeries(run.pipeline.name, s.unit)), epochs: s.epochs, late: s.late, clampedFuture: s.clampedFuture,
    paused: s.paused, stateKeys: s.stateKeys, inMemory: s.inMemory, spilled: s.spilled, errors: s.errors, failures: s.failures, watermark: s.watermark,
  };
  if (spec?.kind === 'keyed') return { ...base, node: spec.node, group: spec.group };
  if (spec?.kind !== 'source') return base;
  const out: Record<string, unknown> = { ...base, stream: spec.stream, partition: spec.partition };
  if (s.offset !== undefined) {
    out.offset = s.offset;
    out.lagRecords = await sourceLag(engine, spec.stream, spec.partition, s.offset).then((l) => l.records, () => null);
  }
  return out;
}

/** The series of a unit's records per second (sampled by the observer). */
export const unitSeries = (pipeline: string, unit: string) => `pipeline.${pipeline}.unit.${unit}`;

const unitId = (u: PipelineRun['prepared']['units'][number]) => (u.kind === 'source' ? `s.${u.stream}.${u.partition}` : u.kind === 'keyed' ? `k${u.node}.${u.group}` : `t.${u.table}`);

/**
 * How far a reader at `offset` is behind a partition's end: records left (null on engines whose
 * offsets are not contiguous, nats: counting them would read them), and the age of the oldest
 * unread record in seconds (0 when caught up).
 */
export async function sourceLag(engine: Engine, stream: string, partition: number, offset: number, now = Date.now()): Promise<{ records: number | null; seconds: number }> {
  const info = (await engine.describeStream(stream)).partitionInfo[partition]!;
  if (offset >= info.next) return { records: 0, seconds: 0 };
  const { records } = await engine.read(stream, partition, Math.max(offset, info.earliest), 1);
  const oldest = records[0];
  if (!oldest) return { records: 0, seconds: 0 };
  return { records: engine.kind === 'sqlite' ? info.next - oldest.offset : null, seconds: Math.max(0, (now - oldest.timestamp) / 1000) };
}

/** The pipelines reading a stream, and per partition where they are (GET /v1/streams/{name}'s `consumers`). */
export async function consumersOf(runs: readonly PipelineRun[], engine: Engine, stream: string) {
  const out = [];
  for (const run of runs) {
    const sources = run.unitStats().filter((s) => s.unit.startsWith(`s.${stream}.`) && s.offset !== undefined);
    if (sources.length === 0) continue;
    const partitions = await Promise.all(sources.map(async (s) => {
      const partition = Number(s.unit.slice(s.unit.lastIndexOf('.') + 1));
      const lag = await sourceLag(engine, stream, partition, s.offset!);
      return { partition, offset: s.offset!, lagRecords: lag.records, lagSeconds: Math.round(lag.seconds * 10) / 10 };
    }));
    out.push({ group: `pipeline:${run.pipeline.name}`, partitions: partitions.sort((a, b) => a.partition - b.partition) });
  }
  return out;
}

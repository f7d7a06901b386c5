// One pipeline: health, the operator graph with live rates, watermarks of keyed steps, late and
// error counts (linked to their streams), throughput per key group, epochs and commits.
import { getJson } from '../api.js';
import { SeriesFeed } from '../chart.js';
import { fill, h } from '../dom.js';
import { fmtInt, fmtNum, fmtRate, fmtSeconds, fmtTime, plural } from '../format.js';
import { REFRESH_MS } from '../refresh.js';
import type { PageContext } from '../router.js';
import type { GraphNode, Overview, PipelineDetail, StepStats, UnitInfo } from '../types.js';
import { card, healthBadge, link, pageHeader, Slot, Stat, stats, streamHref, Table } from '../widgets.js';
import { nodeClass, PipelineGraph } from './graph.js';
import { SkewPanel, stepName } from './skew.js';

export async function pipelinePage(ctx: PageContext): Promise<void> {
  const name = ctx.params[0]!;
  const feed = new SeriesFeed(ctx.signal);
  const badge = h('span', { class: 'health-slot' });
  const threads = h('span', { class: 'muted', 'data-workers': '' });
  const banner = h('div', { class: 'banner-slot' });
  const rate = new Stat('Records in', 'recordsPerSec');
  const lag = new Stat('Watermark lag', 'watermarkLag');
  const late = new Stat('Late', 'late');
  const errors = new Stat('Errors', 'errors');
  const epochs = new Stat('Epochs', 'epochs');
  const commits = new Stat('Commit time', 'commits');
  const shape = new Stat('Units', 'units');
  const graphLegend = h('div', { class: 'graph-legend' });
  const graphCard = h('section', { class: 'card graph-card' }, h('div', { class: 'card-head' }, h('h3', { class: 'card-title' }, 'Operator graph'), graphLegend));
  let graph: PipelineGraph | undefined;
  const nodeName = new Map<number, GraphNode>();
  const steps = new Table<StepStats>([
    { label: 'Keyed step', key: 'step', cell: (st) => { const n = nodeName.get(st.node); return n ? stepName(n) : `node ${st.node}`; } },
    { label: 'Watermark', key: 'watermark', num: true, cell: (st) => fmtTime(st.watermark) },
    { label: 'Lag', key: 'watermarkLag', num: true, cell: (st) => fmtSeconds(st.watermarkLagS) },
    { label: 'Records', key: 'records', num: true, cell: (st) => fmtInt(st.records) },
    { label: 'Records/s', key: 'recordsPerSec', num: true, cell: (st) => fmtRate(st.recordsPerSec) },
    { label: 'Late', key: 'late', num: true, cell: (st) => fmtInt(st.late) },
  ], (st) => String(st.node), 'steps');
  const skew = new SkewPanel();
  const units = new Table<UnitInfo>([
    { label: 'Unit', key: 'unit', cell: (u) => h('code', {}, u.unit) },
    { label: 'Kind', key: 'kind', cell: (u) => u.kind },
    { label: 'Records', key: 'records', num: true, cell: (u) => fmtInt(u.records) },
    { label: 'Records/s', key: 'recordsPerSec', num: true, cell: (u) => fmtRate(u.recordsPerSec) },
    { label: 'Epochs', key: 'epochs', num: true, cell: (u) => fmtInt(u.epochs) },
    { label: 'Late', key: 'late', num: true, cell: (u) => fmtInt(u.late) },
    { label: 'Errors', key: 'errors', num: true, cell: (u) => (u.errors === undefined ? '' : fmtInt(u.errors)) },
    { label: 'Clamped', key: 'clampedFuture', num: true, cell: (u) => fmtInt(u.clampedFuture) },
    { label: 'Paused', key: 'paused', num: true, cell: (u) => fmtInt(u.paused) },
    { label: 'State keys', key: 'stateKeys', num: true, cell: (u) => fmtInt(u.stateKeys) },
    { label: 'In memory', key: 'inMemory', num: true, cell: (u) => fmtInt(u.inMemory) },
    { label: 'Spilled', key: 'spilled', num: true, cell: (u) => fmtInt(u.spilled) },
    { label: 'Watermark', key: 'watermark', num: true, cell: (u) => fmtTime(u.watermark, false) },
    { label: 'Behind', key: 'lagRecords', num: true, cell: (u) => (typeof u.lagRecords === 'number' ? fmtInt(u.lagRecords) : '') },
  ], (u) => u.unit, 'units');
  const p = `pipeline.${name}`;
  const charts = [
    feed.chart({ title: 'Source records', unit: 'perSec', lines: [{ name: `${p}.records`, label: 'records', color: '--c1' }] }),
    feed.chart({ title: 'Late and errors', unit: 'perSec', lines: [{ name: `${p}.late`, label: 'late', color: '--c-warn' }, { name: `${p}.errors`, label: 'errors', color: '--c-bad' }] }),
    feed.chart({ title: 'Watermark lag', unit: 'seconds', lines: [{ name: `${p}.watermarkLag`, label: 'lag', color: '--c2' }] }),
  ];
  const slot = new Slot();
  slot.el.append(
    banner,
    stats(rate, lag, late, errors, epochs, commits, shape),
    graphCard,
    h('div', { class: 'grid charts' }, ...charts.map((c) => c.el)),
    card('Keyed steps', steps.el),
    skew.el,
    h('details', { class: 'card' }, h('summary', { class: 'card-title' }, 'Units'), units.el),
  );
  ctx.root.append(pageHeader(name, [['Pipelines', '#/pipelines']], badge, threads), slot.el);

  ctx.poll(async () => {
    try {
      const [d, overview] = await Promise.all([
        getJson<PipelineDetail>(`/v1/pipelines/${encodeURIComponent(name)}`, ctx.signal),
        getJson<Overview>('/v1/observe/overview', ctx.signal).catch(() => undefined),
      ]);
      slot.clear();
      const live = overview?.pipelines.find((x) => x.name === name);
      fill(badge, healthBadge(d.health));
      fill(banner, d.lastError ? h('div', { class: 'note error', role: 'alert' }, `A unit's last epoch failed: ${d.lastError}`) : null);
      for (const n of d.graph.nodes) nodeName.set(n.id, n);
      const sourceRate = d.units.filter((u) => u.kind === 'source').reduce((n, u) => n + (u.recordsPerSec ?? 0), 0);
      rate.set(fmtRate(live?.recordsPerSec ?? sourceRate), `${fmtInt(d.units.filter((u) => u.kind === 'source').reduce((n, u) => n + u.records, 0))} read`);
      const worst = d.steps.reduce<number | null>((m, st) => (st.watermarkLagS === null ? m : Math.max(m ?? 0, st.watermarkLagS)), null);
      lag.set(fmtSeconds(live?.watermarkLagS ?? worst), 'slowest keyed step');
      const lateCount = d.late ?? live?.late ?? d.steps.reduce((n, st) => n + st.late, 0);
      late.set(link(streamHref(d.lateStream), fmtInt(lateCount), { 'data-link': 'late' }), link(streamHref(d.lateStream), 'late stream →', { title: d.lateStream }));
      late.tone(lateCount > 0 ? 'warn' : null);
      const errorCount = d.errors ?? live?.errors ?? (d.units.every((u) => u.errors !== undefined) ? d.units.reduce((n, u) => n + u.errors!, 0) : undefined);
      errors.set(link(streamHref(d.errorStream), errorCount === undefined ? '—' : fmtInt(errorCount), { 'data-link': 'errors' }), link(streamHref(d.errorStream), 'error stream →', { title: d.errorStream }));
      errors.tone(errorCount ? 'bad' : null);
      epochs.set(fmtInt(d.units.reduce((n, u) => n + u.epochs, 0)), `${fmtInt(d.commits.count)} commits`);
      commits.set(`${fmtNum(d.commits.p50Ms)} ms`, `p50 · p99 ${fmtNum(d.commits.p99Ms)} ms`);
      shape.set(fmtInt(d.units.length), plural(d.keyGroups, 'key group'));
      fill(threads, d.workers > 0 ? `on ${plural(d.workers, 'worker thread')}` : 'on the main thread');
      if (!graph || !graph.sameShape(d)) {
        graph?.el.remove();
        graph = new PipelineGraph(d, d.lateStream);
        graphCard.append(graph.el);
        fill(graphLegend, ...legend(d.graph.nodes));
      } else graph.update(d);
      steps.rows(d.steps, 'no keyed steps');
      skew.update(d.graph.nodes, d.units);
      units.rows(d.units, 'no units');
    } catch (e) {
      if (!ctx.signal.aborted) slot.error(e, `Pipeline ${name}`);
      throw e;
    } finally {
      await feed.refresh(ctx.signal).catch(() => {});
    }
  }, REFRESH_MS);
}

/** The kinds of node the graph holds, in its colours. */
function legend(nodes: GraphNode[]): HTMLElement[] {
  const present = new Set(nodes.map(nodeClass));
  const item = (cls: string, text: string) => h('span', { class: 'legend-item' }, h('span', { class: `swatch ${cls}` }), text);
  return ([['n-source', 'source'], ['n-step', 'step'], ['n-keyed', 'keyed step'], ['n-sink', 'sink'], ['n-late', 'late records']] as const)
    .filter(([cls]) => present.has(cls)).map(([cls, text]) => item(cls, text));
}

// The operator graph of a pipeline's plan as SVG: sources → steps → keyed steps → sinks, left to
// right, each edge labelled with the records per second its `from` node emits, keyed steps with
// their watermark and lag. Laid out once; refreshes change the numbers only.
import { h, s, setText } from '../dom.js';
import { fmtInt, fmtRate, fmtSeconds, fmtTime } from '../format.js';
import { labelPoint, layoutGraph, NODE_H, NODE_W, routePath } from '../graph-layout.js';

/** Steps without state (filter, map, union…) are drawn narrower: their label is mostly their kind. */
const STEP_W = 104;
/** The graph shrinks to fit its card down to this scale; below it, the card scrolls. */
const MIN_SCALE = 0.7;
import type { GraphEdge, GraphNode, PipelineDetail, StepStats, UnitInfo } from '../types.js';
import { streamHref } from '../widgets.js';

/** About how wide a label character is (13px system sans, semibold). */
const LABEL_CHAR_W = 7.4;

export function nodeClass(n: GraphNode): string {
  if (n.kind === 'source') return 'n-source';
  if (n.kind === 'sink') return 'n-sink';
  if (n.kind === 'late') return 'n-late';
  return n.keyed ? 'n-keyed' : 'n-step';
}

const isStep = (n: GraphNode) => !n.keyed && n.kind !== 'source' && n.kind !== 'sink' && n.kind !== 'late';
const kindText = (n: GraphNode) => (n.keyed ? `${n.kind} · keyed` : n.kind);
const clip = (t: string, max: number) => (t.length > max ? `${t.slice(0, max - 1)}…` : t);
const edgeKey = (e: { from: number; to: number }) => `${e.from}-${e.to}`;

export class PipelineGraph {
  readonly el: HTMLElement;
  private readonly edgeLabels = new Map<string, { text: SVGTextElement; pill: SVGRectElement; path: SVGPathElement; x: number }>();
  private readonly nodeLines = new Map<number, SVGTextElement>();
  private readonly shape: string;
  private units: UnitInfo[] = [];

  constructor(private readonly detail: PipelineDetail, private readonly lateStream: string) {
    const { nodes, edges } = detail.graph;
    this.shape = JSON.stringify([nodes.map((n) => [n.id, n.kind, n.label]), edges.map(edgeKey)]);
    const layout = layoutGraph(nodes.map((n) => ({ id: n.id, kind: n.kind, width: isStep(n) ? STEP_W : NODE_W })), edges);
    const svg = s('svg', { class: 'graph', viewBox: `0 0 ${layout.width} ${layout.height}`, width: layout.width, height: layout.height, role: 'img', 'aria-label': `operator graph of ${detail.name}` });
    svg.style.minWidth = `${Math.round(layout.width * MIN_SCALE)}px`;
    svg.append(s('defs', {}, s('marker', { id: 'arrow', viewBox: '0 0 10 10', refX: 9, refY: 5, markerWidth: 8, markerHeight: 8, markerUnits: 'userSpaceOnUse', orient: 'auto-start-reverse' }, s('path', { d: 'M 0 0 L 10 5 L 0 10 z', class: 'arrow-head' }))));
    const edgeLayer = s('g', { class: 'edges' });
    const labelLayer = s('g', { class: 'edge-labels' });
    edges.forEach((e, i) => {
      const route = layout.routes[i]!;
      if (route.length < 2) return;
      const path = s('path', { d: routePath(route), class: 'edge', 'marker-end': 'url(#arrow)', 'data-edge': edgeKey(e) });
      edgeLayer.append(path);
      const [mx, my] = labelPoint(route);
      const pill = s('rect', { class: 'edge-pill', x: mx - 24, y: my - 9, width: 48, height: 18, rx: 9 });
      const text = s('text', { class: 'edge-rate', x: mx, y: my + 4, 'text-anchor': 'middle', 'data-edge-rate': edgeKey(e) });
      labelLayer.append(s('g', {}, pill, text));
      this.edgeLabels.set(edgeKey(e), { text, pill, path, x: mx });
    });
    const nodeLayer = s('g', { class: 'nodes' });
    for (const n of nodes) {
      const at = layout.nodes.get(n.id)!;
      const line = s('text', { class: 'node-metric', x: 13, y: 52 });
      this.nodeLines.set(n.id, line);
      const step = isStep(n);
      const g = s('g', { class: `node ${nodeClass(n)}`, transform: `translate(${at.x} ${at.y})`, 'data-node': n.id, 'data-kind': n.kind },
        s('title', {}, `${kindText(n)}: ${n.label}`),
        s('rect', { class: 'node-box', width: at.width, height: NODE_H, rx: 8 }),
        s('rect', { class: 'node-band', width: 5, height: NODE_H, rx: 2 }),
        s('text', { class: 'node-kind', x: 13, y: step ? 25 : 18 }, kindText(n).toUpperCase()),
        s('text', { class: 'node-label', x: 13, y: step ? 44 : 35 }, clip(n.label, Math.floor((at.width - 22) / LABEL_CHAR_W))),
        step ? null : line);
      const target = n.stream ?? (n.kind === 'late' ? lateStream : undefined);
      nodeLayer.append(target ? s('a', { href: streamHref(target), class: 'node-link' }, g) : g);
    }
    svg.append(edgeLayer, labelLayer, nodeLayer);
    this.el = h('div', { class: 'graph-wrap', 'data-graph': detail.name }, svg);
    this.update(detail);
  }

  /** Whether a new description has the same plan (else the page draws the graph again). */
  sameShape(d: PipelineDetail): boolean {
    return JSON.stringify([d.graph.nodes.map((n) => [n.id, n.kind, n.label]), d.graph.edges.map(edgeKey)]) === this.shape;
  }

  update(d: PipelineDetail): void {
    this.units = d.units;
    const max = Math.max(0, ...d.graph.edges.map((e) => e.recordsPerSec));
    for (const e of d.graph.edges) this.updateEdge(e, max);
    const steps = new Map<number, StepStats>(d.steps.map((st) => [st.node, st]));
    for (const n of d.graph.nodes) {
      const line = this.nodeLines.get(n.id);
      if (line) setText(line, this.metric(n, steps.get(n.id)));
    }
  }

  private updateEdge(e: GraphEdge, max: number): void {
    const l = this.edgeLabels.get(edgeKey(e));
    if (!l) return;
    const text = fmtRate(e.recordsPerSec);
    setText(l.text, text);
    const w = Math.max(40, text.length * 6.6 + 12);
    l.pill.setAttribute('x', String(l.x - w / 2));
    l.pill.setAttribute('width', String(w));
    l.path.setAttribute('data-records', String(e.records));
    const weight = max > 0 ? Math.log1p(e.recordsPerSec) / Math.log1p(max) : 0;
    l.path.setAttribute('stroke-width', (1.25 + 3 * weight).toFixed(2));
    l.path.classList.toggle('active', e.recordsPerSec > 0);
  }

  /** A source's partitions and how far its units are behind the partitions' ends. */
  private sourceLine(n: GraphNode): string {
    const units = this.units.filter((u) => u.kind === 'source' && u.stream === (n.stream ?? n.label));
    if (units.length === 0) return `stream ${n.stream ?? n.label}`;
    const parts = `${fmtInt(units.length)} partition${units.length === 1 ? '' : 's'}`;
    if (!units.every((u) => typeof u.lagRecords === 'number')) return parts;
    const behind = units.reduce((t, u) => t + u.lagRecords!, 0);
    return `${parts} · ${behind ? `${fmtInt(behind)} behind` : 'caught up'}`;
  }

  private metric(n: GraphNode, st: StepStats | undefined): string {
    if (n.keyed) return st ? `wm ${st.watermark === null ? '—' : fmtTime(st.watermark, false).slice(11)} · lag ${fmtSeconds(st.watermarkLagS)}` : 'no watermark yet';
    if (n.kind === 'source') return this.sourceLine(n);
    if (n.kind === 'sink') return n.table ? 'SQLite table' : 'stream: open records';
    if (n.kind === 'late') return 'records past allowed lateness';
    return '';
  }
}

// Throughput per unit: one bar per key group of a keyed step (or per partition of a source), so
// a hot key group stands out at a glance; the figure beside it is max ÷ mean.
import { fill, h } from '../dom.js';
import { fmtInt, fmtNum, fmtRate } from '../format.js';
import type { GraphNode, UnitInfo } from '../types.js';

export type SkewMeasure = 'recordsPerSec' | 'records';

export interface BarGroup {
  /** e.g. `join interval -10m..0` or `stream ad-views`. */
  title: string;
  id: string;
  units: UnitInfo[];
  /** What a bar stands for: `group 3` or `partition 1`. */
  label(u: UnitInfo): string;
}

/** A keyed step as people read it: `interval join -10m..0`, `window tumbling 1m`. */
export const stepName = (n: GraphNode): string => (n.label.includes(n.kind) ? n.label : `${n.kind} ${n.label}`);

/** Units grouped for bars: each keyed step's key groups, each source stream's partitions. */
export function barGroups(nodes: GraphNode[], units: UnitInfo[]): BarGroup[] {
  const groups: BarGroup[] = [];
  for (const n of nodes.filter((x) => x.keyed)) {
    const us = units.filter((u) => u.kind === 'keyed' && u.node === n.id).sort((a, b) => (a.group ?? 0) - (b.group ?? 0));
    if (us.length) groups.push({ title: stepName(n), id: `node-${n.id}`, units: us, label: (u) => `group ${u.group}` });
  }
  const streams = [...new Set(units.filter((u) => u.kind === 'source').map((u) => u.stream ?? ''))];
  for (const st of streams) {
    const us = units.filter((u) => u.kind === 'source' && (u.stream ?? '') === st).sort((a, b) => (a.partition ?? 0) - (b.partition ?? 0));
    groups.push({ title: `source ${st}`, id: `source-${st}`, units: us, label: (u) => `partition ${u.partition}` });
  }
  return groups;
}

/** max ÷ mean of the values (1 when even, 0 when there is nothing). */
export function skew(values: number[]): number {
  const total = values.reduce((a, b) => a + b, 0);
  if (values.length === 0 || total === 0) return 0;
  return Math.max(...values) / (total / values.length);
}

export function skewView(group: BarGroup, measure: SkewMeasure): HTMLElement {
  const values = group.units.map((u) => u[measure] ?? 0);
  const max = Math.max(0, ...values);
  const k = skew(values);
  const fmt = measure === 'records' ? fmtInt : fmtRate;
  const bars = group.units.map((u, i) => {
    const v = values[i]!;
    const bar = h('div', { class: v === max && k >= 1.5 ? 'bar hot' : 'bar' });
    bar.style.height = `${max > 0 ? Math.max(1.5, (v / max) * 100) : 0}%`;
    const tip = `${group.label(u)}: ${fmt(v)} · ${fmtInt(u.records)} records · ${fmtInt(u.epochs)} epochs${u.kind === 'keyed' ? ` · ${fmtInt(u.stateKeys)} keys` : ''}${typeof u.lagRecords === 'number' ? ` · ${fmtInt(u.lagRecords)} behind` : ''}`;
    return h('div', { class: 'bar-slot', title: tip, 'data-unit': u.unit, 'data-value': v }, bar, h('div', { class: 'bar-label' }, String(u.group ?? u.partition ?? i)));
  });
  const tone = k >= 3 ? 'bad' : k >= 1.5 ? 'warn' : 'ok';
  return h('div', { class: 'skew', 'data-skew': group.id },
    h('div', { class: 'skew-head' },
      h('span', { class: 'skew-title' }, group.title),
      h('span', { class: 'muted' }, `${fmtInt(group.units.length)} ${group.units[0]?.kind === 'source' ? 'partitions' : 'key groups'} · total ${fmt(values.reduce((a, b) => a + b, 0))}`),
      h('span', { class: `badge ${k === 0 ? 'muted' : tone}`, title: 'busiest ÷ mean' }, k === 0 ? 'idle' : `skew ${fmtNum(k)}×`)),
    h('div', { class: 'bars' }, ...bars));
}

export class SkewPanel {
  readonly el: HTMLElement;
  private measure: SkewMeasure = 'recordsPerSec';
  private readonly body = h('div', { class: 'skews' });
  private last?: { nodes: GraphNode[]; units: UnitInfo[] };

  private readonly seg: HTMLElement;
  private readonly rateButton: HTMLButtonElement;

  constructor() {
    const choose = (m: SkewMeasure, label: string) => {
      const b = h('button', { class: 'seg', type: 'button', 'aria-pressed': String(m === this.measure), 'data-measure': m }, label);
      b.addEventListener('click', () => {
        this.select(m);
        if (this.last) this.update(this.last.nodes, this.last.units);
      });
      return b;
    };
    this.rateButton = choose('recordsPerSec', 'records/s');
    const seg = h('div', { class: 'segmented' }, this.rateButton, choose('records', 'total'));
    this.seg = seg;
    this.el = h('section', { class: 'card' }, h('div', { class: 'card-head' }, h('h3', { class: 'card-title' }, 'Throughput per key group and partition'), seg), this.body);
  }

  private select(m: SkewMeasure): void {
    this.measure = m;
    for (const x of this.seg.children) x.setAttribute('aria-pressed', String((x as HTMLElement).dataset.measure === m));
  }

  update(nodes: GraphNode[], units: UnitInfo[]): void {
    this.last = { nodes, units };
    // A gateway that reports no rates per unit: totals only.
    const rates = units.every((u) => typeof u.recordsPerSec === 'number');
    this.rateButton.disabled = !rates;
    if (!rates && this.measure === 'recordsPerSec') this.select('records');
    const groups = barGroups(nodes, units);
    if (groups.length === 0) return fill(this.body, h('p', { class: 'muted' }, 'No units are running.'));
    fill(this.body, ...groups.map((g) => skewView(g, this.measure)));
  }
}

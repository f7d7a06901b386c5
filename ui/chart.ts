// Time-series charts of the last 15 minutes (uPlot), fed from /v1/observe/series: one request
// per refresh for every chart of a page. Colours come from the theme and follow it.
import uPlot from 'uplot';
import { getJson } from './api.js';
import { h, setText } from './dom.js';
import { fmtBytes, fmtInt, fmtNum, fmtSeconds, fmtTime } from './format.js';
import { cssColor, withAlpha } from './theme.js';
import type { SeriesAnswer } from './types.js';

/** The window the server keeps: 180 samples of 5 s. */
export const WINDOW_S = 15 * 60;
export const CHART_HEIGHT = 160;

export type ChartUnit = 'perSec' | 'bytesPerSec' | 'seconds';

export interface ChartLine {
  /** Series name, e.g. `ingest.records`. */
  name: string;
  label: string;
  /** A colour variable of the theme, e.g. `--c1`. */
  color: string;
}

export interface ChartSpec {
  title: string;
  unit: ChartUnit;
  lines: ChartLine[];
}

const formatter = (unit: ChartUnit) => (v: number) =>
  unit === 'bytesPerSec' ? `${fmtBytes(v)}/s` : unit === 'seconds' ? fmtSeconds(v) : `${fmtNum(v)}/s`;

const axisValue = (unit: ChartUnit) => (v: number) =>
  unit === 'bytesPerSec' ? fmtBytes(v) : unit === 'seconds' ? fmtSeconds(v) : Number.isInteger(v) ? fmtInt(v) : fmtNum(v);

/** Points of several series on one x axis (seconds), oldest first; a missing point is null. */
export function align(answer: SeriesAnswer, names: string[]): uPlot.AlignedData {
  const xs = new Set<number>();
  for (const n of names) for (const [t] of answer.series[n] ?? []) xs.add(t);
  const x = [...xs].sort((a, b) => a - b);
  const index = new Map(x.map((t, i) => [t, i]));
  const ys = names.map((n) => {
    const y: (number | null)[] = new Array(x.length).fill(null);
    for (const [t, v] of answer.series[n] ?? []) y[index.get(t)!] = v;
    return y;
  });
  return [x.map((t) => t / 1000), ...ys] as uPlot.AlignedData;
}

export class TimeChart {
  readonly el: HTMLElement;
  private readonly body: HTMLElement;
  private readonly note: HTMLElement;
  private plot?: uPlot;
  private data?: uPlot.AlignedData;
  private readonly resize = new ResizeObserver(() => this.layout());
  private readonly retheme = () => this.rebuild();

  constructor(readonly spec: ChartSpec) {
    this.body = h('div', { class: 'chart-body' });
    this.note = h('div', { class: 'chart-note' }, 'waiting for samples…');
    this.el = h('section', { class: 'card chart', 'data-chart': spec.lines.map((l) => l.name).join(',') },
      h('h3', { class: 'card-title' }, spec.title), this.body, this.note);
    this.resize.observe(this.body);
    addEventListener('sluice:theme', this.retheme);
  }

  get names(): string[] {
    return this.spec.lines.map((l) => l.name);
  }

  update(answer: SeriesAnswer): void {
    this.data = align(answer, this.names);
    const points = this.data[0].length;
    setText(this.note, points === 0 ? 'no samples yet (one every 5 s)' : '');
    this.note.classList.toggle('error', false);
    if (this.plot) this.plot.setData(this.data);
    else this.layout();
    this.latestInLegend();
  }

  /** Away from the cursor, the legend shows the latest values. */
  private latestInLegend(): void {
    const n = this.data?.[0].length ?? 0;
    if (this.plot && n > 0 && this.plot.cursor.left !== undefined && this.plot.cursor.left < 0) this.plot.setLegend({ idx: n - 1 });
  }

  showError(message: string): void {
    setText(this.note, message);
    this.note.classList.add('error');
  }

  destroy(): void {
    this.resize.disconnect();
    removeEventListener('sluice:theme', this.retheme);
    this.plot?.destroy();
  }

  private layout(): void {
    const width = this.body.clientWidth;
    if (!this.data || width === 0) return;
    if (!this.plot) {
      this.plot = new uPlot(this.options(width), this.data, this.body);
      this.latestInLegend();
    } else if (Math.abs(this.plot.width - width) > 1) this.plot.setSize({ width, height: CHART_HEIGHT });
  }

  private rebuild(): void {
    this.plot?.destroy();
    this.plot = undefined;
    this.layout();
  }

  private options(width: number): uPlot.Options {
    const fmt = formatter(this.spec.unit);
    const axisFmt = axisValue(this.spec.unit);
    const text = cssColor('--text-2');
    const grid = cssColor('--grid');
    const axis = { stroke: text, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 }, font: '11px system-ui, sans-serif' };
    return {
      width,
      height: CHART_HEIGHT,
      padding: [10, 12, 0, 0],
      cursor: { drag: { x: false, y: false } },
      hooks: { setCursor: [(u) => u.cursor.left !== undefined && u.cursor.left < 0 && u.data[0].length > 0 && u.cursor.idx !== u.data[0].length - 1 && queueMicrotask(() => u.setLegend({ idx: u.data[0].length - 1 }))] },
      legend: { show: true, live: true },
      scales: {
        x: { time: true, range: () => [Date.now() / 1000 - WINDOW_S, Date.now() / 1000] },
        y: { range: (_u, _min, max) => [0, max > 0 ? max * 1.15 : 1] },
      },
      axes: [
        { ...axis, space: 70, values: (_u, ticks) => ticks.map((t) => fmtTime(t * 1000, false).slice(11, 16)) },
        { ...axis, size: 60, values: (_u, vals) => vals.map((v) => axisFmt(v)) },
      ],
      series: [
        { value: (_u, v) => (v === null ? '—' : fmtTime(v * 1000, false)) },
        ...this.spec.lines.map((l) => {
          const c = cssColor(l.color);
          return { label: l.label, stroke: c, width: 1.5, fill: withAlpha(c, 0.1), points: { show: false }, spanGaps: false, value: (_u: uPlot, v: number | null) => (v === null ? '—' : fmt(v)) };
        }),
      ],
    };
  }
}

/** The charts of one page, refreshed together with one series request. */
export class SeriesFeed {
  private readonly charts: TimeChart[] = [];

  /** `prompt`: whether a refusal brings the key form (pages about metrics) or only shows on the charts. */
  constructor(signal: AbortSignal, private readonly prompt = true) {
    signal.addEventListener('abort', () => this.charts.forEach((c) => c.destroy()), { once: true });
  }

  chart(spec: ChartSpec): TimeChart {
    const c = new TimeChart(spec);
    this.charts.push(c);
    return c;
  }

  async refresh(signal: AbortSignal): Promise<void> {
    const names = [...new Set(this.charts.flatMap((c) => c.names))];
    if (names.length === 0) return;
    try {
      const answer = await getJson<SeriesAnswer>(`/v1/observe/series?names=${encodeURIComponent(names.join(','))}`, signal, this.prompt);
      for (const c of this.charts) c.update(answer);
    } catch (e) {
      if (signal.aborted) return;
      for (const c of this.charts) c.showError(`no series: ${(e as Error).message}`);
      throw e;
    }
  }
}

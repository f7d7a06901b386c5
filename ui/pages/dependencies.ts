// Dependencies: every remote system Sluice calls (the NATS engine, PostgreSQL, webhooks, function
// destinations) with its breaker's state, calls, attempts, retries, the budget's refusals,
// timeouts and rejections, charts of attempts, retries and failures, and the server-wide budget.
import { getJson } from '../api.js';
import { SeriesFeed, type TimeChart } from '../chart.js';
import { h } from '../dom.js';
import { fmtInt, fmtNum } from '../format.js';
import { REFRESH_MS } from '../refresh.js';
import type { PageContext } from '../router.js';
import type { BreakerState, DependenciesView, DependencyView } from '../types.js';
import { card, pageHeader, Slot, Stat, stats, Table } from '../widgets.js';

/** Dependencies charted (each is three series). */
const MAX_CHARTED = 8;

export function breakerBadge(state: BreakerState): HTMLElement {
  const tone = state === 'closed' ? 'ok' : state === 'open' ? 'bad' : 'muted';
  return h('span', { class: `badge ${tone}`, 'data-breaker': state }, state === 'none' ? 'no breaker' : state);
}

/** Retries per call: what retrying adds to a dependency's load (the budget keeps it near 0.2 when it fails for good). */
export const retryRatio = (d: DependencyView): string => (d.calls === 0 ? '—' : fmtNum(d.retries / d.calls));

export async function dependenciesPage(ctx: PageContext): Promise<void> {
  const feed = new SeriesFeed(ctx.signal);
  const count = new Stat('Dependencies', 'count');
  const open = new Stat('Breakers open', 'open');
  const budget = new Stat('Server retry budget', 'serverBudget');
  const table = new Table<DependencyView>([
    { label: 'Dependency', key: 'name', cell: (d) => h('code', {}, d.name) },
    { label: 'Breaker', key: 'breaker', cell: (d) => breakerBadge(d.breakerState), title: (d) => Object.entries(d.breakerStates).map(([s, n]) => `${n} ${s}`).join(', ') },
    { label: 'Calls', key: 'calls', num: true, cell: (d) => fmtInt(d.calls) },
    { label: 'Failures', key: 'failures', num: true, cell: (d) => (d.failures ? h('span', { class: 'error-text' }, fmtInt(d.failures)) : '0') },
    { label: 'Attempts', key: 'attempts', num: true, cell: (d) => fmtInt(d.attempts) },
    { label: 'Retries', key: 'retries', num: true, cell: (d) => fmtInt(d.retries) },
    { label: 'Retries per call', key: 'ratio', num: true, cell: retryRatio },
    { label: 'Budget refusals', key: 'budgetRefusals', num: true, cell: (d) => fmtInt(d.budgetRefusals) },
    { label: 'Timeouts', key: 'timeouts', num: true, cell: (d) => fmtInt(d.timeouts) },
    { label: 'Refused open', key: 'breakerRejections', num: true, cell: (d) => fmtInt(d.breakerRejections) },
    { label: 'Bulkhead full', key: 'bulkheadRejections', num: true, cell: (d) => fmtInt(d.bulkheadRejections) },
    { label: 'Opened / half-open / closed', key: 'transitions', num: true, cell: (d) => `${fmtInt(d.breakerTransitions.open)} / ${fmtInt(d.breakerTransitions['half-open'])} / ${fmtInt(d.breakerTransitions.closed)}` },
    { label: 'Threads', key: 'threads', num: true, cell: (d) => fmtInt(d.threads) },
  ], (d) => d.name, 'dependencies');
  const chartsEl = h('div', { class: 'grid charts', 'data-charts': '' });
  const charts = new Map<string, TimeChart>();
  const slot = new Slot();
  slot.el.append(stats(count, open, budget), card(null, table.el), chartsEl);
  ctx.root.append(pageHeader('Dependencies', []), slot.el);
  ctx.poll(async () => {
    try {
      const v = await getJson<DependenciesView>('/v1/observe/dependencies', ctx.signal);
      slot.clear();
      count.set(fmtInt(v.dependencies.length), 'remote systems called');
      const opened = v.dependencies.filter((d) => d.breakerState === 'open');
      open.set(fmtInt(opened.length), opened.map((d) => d.name).join(', '));
      open.tone(opened.length ? 'bad' : 'ok');
      budget.set(v.serverBudget ? fmtInt(Math.floor(v.serverBudget.balance)) : '—', v.serverBudget ? 'retries allowed now, over every dependency' : 'none');
      table.rows(v.dependencies, 'no dependencies: Sluice calls none (a NATS engine, sinks and function destinations are)');
      for (const d of v.dependencies.slice(0, MAX_CHARTED)) {
        if (charts.has(d.name)) continue;
        const s = `dependency.${d.name}`;
        const c = feed.chart({ title: d.name, unit: 'perSec', lines: [{ name: `${s}.attempts`, label: 'attempts', color: '--c1' }, { name: `${s}.retries`, label: 'retries', color: '--c-warn' }, { name: `${s}.failures`, label: 'failures', color: '--c-bad' }] });
        c.el.dataset.chart = d.name;
        charts.set(d.name, c);
        chartsEl.append(c.el);
      }
    } catch (e) {
      if (!ctx.signal.aborted) slot.error(e, 'Dependencies');
      throw e;
    } finally {
      await feed.refresh(ctx.signal).catch(() => {});
    }
  }, REFRESH_MS);
}

// Functions: every function the key may read, with its triggers, invocations, errors, throttles,
// duration, concurrency and how far its stream triggers are behind.
import { getJson } from '../api.js';
import { h } from '../dom.js';
import { fmtInt, fmtNum, fmtRate, fmtSeconds } from '../format.js';
import { REFRESH_MS } from '../refresh.js';
import type { PageContext } from '../router.js';
import type { FunctionDescription, SeriesAnswer } from '../types.js';
import { card, functionHref, link, pageHeader, Slot, Table } from '../widgets.js';

interface Row {
  f: FunctionDescription;
  rate?: number;
}

/** What starts a function, in a word per trigger: `stream ad-views`, `schedule rate(1 minute)`, `bucket uploads`. */
export function triggerText(t: Record<string, unknown>): string {
  if (typeof t.stream === 'string') return `stream ${t.stream}`;
  if (typeof t.schedule === 'string') return `schedule ${t.schedule}`;
  if (t.schedule && typeof t.schedule === 'object') return `schedule ${String((t.schedule as { expression?: unknown }).expression ?? '')}`;
  if (t.object && typeof t.object === 'object') return `bucket ${String((t.object as { bucket?: unknown }).bucket ?? '')}`;
  if (t.url !== undefined) return 'function URL';
  return Object.keys(t)[0] ?? 'trigger';
}

export async function functionsPage(ctx: PageContext): Promise<void> {
  const table = new Table<Row>([
    { label: 'Function', key: 'name', cell: (r) => link(functionHref(r.f.name), r.f.name) },
    { label: 'Runtime', key: 'runtime', cell: (r) => r.f.runtime },
    { label: 'Triggers', key: 'triggers', cell: (r) => (r.f.triggers.length ? r.f.triggers.map(triggerText).join(', ') : h('span', { class: 'muted' }, 'invoked only')) },
    { label: 'Invocations', key: 'invocations', num: true, cell: (r) => fmtInt(r.f.metrics.Invocations) },
    { label: 'Invocations/s', key: 'rate', num: true, cell: (r) => fmtRate(r.rate) },
    { label: 'Errors', key: 'errors', num: true, cell: (r) => errorCell(r.f.metrics.Errors) },
    { label: 'Throttles', key: 'throttles', num: true, cell: (r) => fmtInt(r.f.metrics.Throttles) },
    { label: 'Duration p50 / p99', key: 'duration', num: true, cell: (r) => (r.f.metrics.Duration ? `${fmtNum(r.f.metrics.Duration.p50Ms)} / ${fmtNum(r.f.metrics.Duration.p99Ms)} ms` : '—') },
    { label: 'Running', key: 'concurrent', num: true, cell: (r) => `${fmtInt(r.f.metrics.ConcurrentExecutions)} of ${fmtInt(r.f.concurrency)}` },
    { label: 'Iterator age', key: 'iteratorAge', num: true, cell: (r) => (r.f.metrics.IteratorAge === null ? '—' : fmtSeconds(r.f.metrics.IteratorAge / 1000)) },
  ], (r) => r.f.name, 'functions');
  const slot = new Slot();
  slot.el.append(card(null, table.el));
  ctx.root.append(pageHeader('Functions', []), slot.el);
  ctx.poll(async () => {
    try {
      const { functions } = await getJson<{ functions: FunctionDescription[] }>('/v1/functions', ctx.signal);
      const rates = await invocationRates(functions.map((f) => f.name), ctx.signal);
      slot.clear();
      table.rows(functions.sort((a, b) => a.name.localeCompare(b.name)).map((f) => ({ f, rate: rates.get(f.name) })), 'no functions: declare them in sluice.config.ts (functions)');
    } catch (e) {
      if (!ctx.signal.aborted) slot.error(e, 'Functions');
      throw e;
    }
  }, REFRESH_MS);
}

const errorCell = (n: number) => (n > 0 ? h('span', { class: 'error-text' }, fmtInt(n)) : fmtInt(n));

/** The latest invocations per second of each function, from the series (empty when the key may not read them). */
async function invocationRates(names: string[], signal: AbortSignal): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  if (names.length === 0) return out;
  try {
    const q = names.map((n) => `function.${n}.invocations`).join(',');
    const a = await getJson<SeriesAnswer>(`/v1/observe/series?names=${encodeURIComponent(q)}`, signal, false);
    for (const n of names) {
      const last = a.series[`function.${n}.invocations`]?.at(-1);
      if (last) out.set(n, last[1]);
    }
  } catch {
    // rates are extra
  }
  return out;
}

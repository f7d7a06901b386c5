// One function: its configuration, Lambda's metrics (invocations, errors, throttles, duration,
// concurrency, iterator age), charts, its stream triggers per partition, schedules, the async
// queue and workers, and its latest invocation logs.
import { getJson } from '../api.js';
import { SeriesFeed } from '../chart.js';
import { fill, h } from '../dom.js';
import { fmtInt, fmtMs, fmtNum, fmtSeconds, fmtTime } from '../format.js';
import { REFRESH_MS } from '../refresh.js';
import type { PageContext } from '../router.js';
import type { FunctionDescription, FunctionMapping, FunctionSchedule, InvocationLog, MappingPartition } from '../types.js';
import { bucketHref, card, link, pageHeader, Slot, Stat, stats, streamHref, Table } from '../widgets.js';
import { triggerText } from './functions.js';

/** Invocation logs shown. */
const LOGS = 10;

export async function functionPage(ctx: PageContext): Promise<void> {
  const name = ctx.params[0]!;
  const feed = new SeriesFeed(ctx.signal, false);
  const invocations = new Stat('Invocations', 'invocations');
  const errors = new Stat('Errors', 'errors');
  const throttles = new Stat('Throttles', 'throttles');
  const duration = new Stat('Duration', 'duration');
  const running = new Stat('Running', 'concurrent');
  const age = new Stat('Iterator age', 'iteratorAge');
  const queue = new Stat('Async queue', 'asyncQueue');
  const config = h('dl', { class: 'kv', 'data-config': '' });
  const triggers = h('div', { 'data-triggers': '' });
  const mappings = h('div', { 'data-mappings': '' });
  const schedules = new Table<FunctionSchedule>([
    { label: 'Schedule', key: 'expression', cell: (s) => h('code', {}, s.expression) },
    { label: 'State', key: 'state', cell: (s) => s.state },
    { label: 'Next run', key: 'next', num: true, cell: (s) => (s.nextRuns[0] ? fmtTime(Date.parse(s.nextRuns[0]), false) : '—') },
    { label: 'Last run', key: 'last', num: true, cell: (s) => (s.lastRun ? fmtTime(Date.parse(s.lastRun), false) : '—') },
    { label: 'Last result', key: 'result', cell: (s) => s.lastResult ?? '—' },
    { label: 'Runs', key: 'runs', num: true, cell: (s) => fmtInt(s.runs) },
    { label: 'Failures', key: 'failures', num: true, cell: (s) => fmtInt(s.failures) },
    { label: 'Skipped', key: 'skipped', num: true, cell: (s) => fmtInt(s.skipped) },
  ], (s) => s.name, 'schedules');
  const logs = h('div', { class: 'log-list', 'data-logs': '' });
  const f = `function.${name}`;
  const charts = [
    feed.chart({ title: 'Invocations', unit: 'perSec', lines: [{ name: `${f}.invocations`, label: 'invocations', color: '--c1' }] }),
    feed.chart({ title: 'Errors and throttles', unit: 'perSec', lines: [{ name: `${f}.errors`, label: 'errors', color: '--c-bad' }, { name: `${f}.throttles`, label: 'throttles', color: '--c-warn' }] }),
  ];
  const slot = new Slot();
  const schedulesCard = card('Schedules', schedules.el);
  slot.el.append(
    stats(invocations, errors, throttles, duration, running, age, queue),
    h('div', { class: 'grid charts' }, ...charts.map((c) => c.el)),
    h('div', { class: 'grid two' }, card('Configuration', config), card('Triggers', triggers)),
    mappings,
    schedulesCard,
    card('Latest invocations', logs),
  );
  ctx.root.append(pageHeader(name, [['Functions', '#/functions']]), slot.el);

  ctx.poll(async () => {
    try {
      const enc = encodeURIComponent(name);
      const [d, l] = await Promise.all([
        getJson<FunctionDescription>(`/v1/functions/${enc}`, ctx.signal),
        getJson<{ logs: InvocationLog[] }>(`/v1/functions/${enc}/logs?limit=${LOGS}`, ctx.signal),
      ]);
      slot.clear();
      const m = d.metrics;
      invocations.set(fmtInt(m.Invocations), `${fmtInt(d.workers.coldStarts)} cold starts`);
      errors.set(fmtInt(m.Errors), m.DestinationDeliveryFailures ? `${fmtInt(m.DestinationDeliveryFailures)} destination failures` : '');
      errors.tone(m.Errors > 0 ? 'bad' : null);
      throttles.set(fmtInt(m.Throttles));
      throttles.tone(m.Throttles > 0 ? 'warn' : null);
      duration.set(m.Duration ? `${fmtNum(m.Duration.p50Ms)} ms` : '—', m.Duration ? `p50 · p99 ${fmtNum(m.Duration.p99Ms)} ms · max ${fmtNum(m.Duration.maxMs)} ms` : 'no invocations yet');
      running.set(`${fmtInt(m.ConcurrentExecutions)} of ${fmtInt(d.concurrency)}`, `${fmtInt(d.workers.workers)} workers, ${fmtInt(d.workers.replaced)} replaced`);
      age.set(m.IteratorAge === null ? '—' : fmtSeconds(m.IteratorAge / 1000), m.IteratorAge === null ? 'no stream trigger' : 'oldest partition');
      queue.set(fmtInt(d.asyncQueue.inFlight), `${fmtInt(d.asyncQueue.retried)} retried · ${fmtInt(d.asyncQueue.failedForGood)} failed for good`);
      queue.tone(d.asyncQueue.failedForGood > 0 ? 'bad' : null);
      fill(config, ...kv([
        ['handler', d.handler], ['runtime', d.runtime], ['timeout', fmtMs(d.timeoutMs)], ['memory', `${fmtInt(d.memoryMB)} MB`],
        ['concurrency', fmtInt(d.concurrency)], ['arn', d.arn],
        ['permissions', Object.entries(d.permissions).map(([scope, actions]) => `${scope}: ${actions.join(', ')}`).join('; ') || 'none'],
        ['destinations', Object.entries(d.destinations).map(([k, v]) => `${k}: ${typeof v === 'string' ? v : JSON.stringify(v)}`).join('; ') || 'none'],
        ['log stream', link(streamHref(d.logStream), d.logStream)],
      ]));
      fill(triggers, d.triggers.length ? h('ul', {}, ...d.triggers.map((t) => h('li', { 'data-trigger': triggerText(t) }, triggerLink(t)))) : h('p', { class: 'muted' }, 'No triggers: invoked through the Lambda API or its URL only.'));
      fill(mappings, ...d.mappings.map(mappingCard));
      schedulesCard.hidden = d.schedules.length === 0;
      schedules.rows(d.schedules);
      fill(logs, ...(l.logs.length ? l.logs.slice().reverse().map(logEntry) : [h('p', { class: 'muted' }, 'No invocations yet.')]));
    } catch (e) {
      if (!ctx.signal.aborted) slot.error(e, `Function ${name}`);
      throw e;
    } finally {
      await feed.refresh(ctx.signal).catch(() => {});
    }
  }, REFRESH_MS);
}

function kv(pairs: [string, string | Node][]): HTMLElement[] {
  return pairs.flatMap(([k, v]) => [h('dt', {}, k), h('dd', { 'data-field': k }, v)]);
}

/** A trigger, linked to what it reads. */
function triggerLink(t: Record<string, unknown>): Node | string {
  const text = triggerText(t);
  if (typeof t.stream === 'string') return link(streamHref(t.stream), text);
  const bucket = (t.object as { bucket?: unknown } | undefined)?.bucket;
  if (typeof bucket === 'string') {
    const o = t.object as { events?: string[]; prefix?: string; suffix?: string };
    const filter = [o.prefix && `prefix ${o.prefix}`, o.suffix && `suffix ${o.suffix}`].filter(Boolean).join(', ');
    return h('span', {}, link(bucketHref(bucket), text), ` · ${(o.events ?? []).join(', ')}${filter ? ` · ${filter}` : ''}`);
  }
  return text;
}

function mappingCard(m: FunctionMapping): HTMLElement {
  const table = new Table<MappingPartition>([
    { label: 'Partition', key: 'partition', num: true, cell: (p) => String(p.partition) },
    { label: 'State', key: 'state', cell: (p) => p.state },
    { label: 'Committed', key: 'committed', num: true, cell: (p) => fmtInt(p.committedOffset) },
    { label: 'Latest', key: 'latest', num: true, cell: (p) => (p.latestOffset === undefined ? '—' : fmtInt(p.latestOffset)) },
    { label: 'Behind', key: 'lag', num: true, cell: (p) => (p.lag === undefined ? '—' : fmtInt(p.lag)) },
    { label: 'In flight', key: 'inFlight', num: true, cell: (p) => fmtInt(p.batchesInFlight) },
    { label: 'Invocations', key: 'invocations', num: true, cell: (p) => fmtInt(p.invocations) },
    { label: 'Errors', key: 'errors', num: true, cell: (p) => fmtInt(p.functionErrors) },
    { label: 'Delivered', key: 'delivered', num: true, cell: (p) => fmtInt(p.recordsDelivered) },
    { label: 'Discarded', key: 'discarded', num: true, cell: (p) => fmtInt(p.recordsDiscarded) },
    { label: 'Iterator age', key: 'iteratorAge', num: true, cell: (p) => fmtSeconds(p.iteratorAgeMs / 1000) },
    { label: 'Last result', key: 'result', cell: (p) => p.lastProcessingResult },
  ], (p) => String(p.partition), `mapping:${m.stream}`);
  table.rows(m.partitions, 'no partitions');
  const el = card(null, h('div', { class: 'card-head' }, h('h3', { class: 'card-title' }, 'Stream trigger '), link(streamHref(m.stream), m.stream), h('span', { class: 'muted' }, ` · ${m.state} · ${m.lag === undefined ? '' : `${fmtInt(m.lag)} behind`}`)), table.el);
  el.dataset.mapping = m.stream;
  return el;
}

function logEntry(l: InvocationLog): HTMLElement {
  const pre = h('pre', {});
  for (const line of l.lines) pre.append(/\tERROR\t|Task timed out/.test(line) ? h('span', { class: 'log-error' }, line) : line, '\n');
  return h('article', { class: 'log-entry', 'data-request-id': l.requestId }, h('header', {}, h('span', {}, fmtTime(l.time)), h('code', {}, l.requestId)), pre);
}

// Overview: ingest, refusals, the engine and how long the gateway has run, and every pipeline's health.
import { getJson } from '../api.js';
import { SeriesFeed } from '../chart.js';
import { h } from '../dom.js';
import { fmtBytes, fmtInt, fmtRate, fmtSeconds, fmtTime, plural } from '../format.js';
import type { PageContext } from '../router.js';
import type { Overview, PipelineHealth } from '../types.js';
import { REFRESH_MS } from '../refresh.js';
import { healthBadge, link, pageHeader, pipelineHref, Slot, Stat, stats, Table } from '../widgets.js';

export async function overviewPage(ctx: PageContext): Promise<void> {
  const feed = new SeriesFeed(ctx.signal);
  const ingest = new Stat('Ingest', 'ingest');
  const bytes = new Stat('Ingest bytes', 'bytes');
  const rejected = new Stat('Rejected', 'rejected');
  const throttled = new Stat('Throttled', 'throttled');
  const engine = new Stat('Engine', 'engine');
  const uptime = new Stat('Uptime', 'uptime');
  const version = new Stat('Version', 'version');
  const streams = new Stat('Streams', 'streams');
  const pipelines = new Table<PipelineHealth>([
    { label: 'Pipeline', key: 'name', cell: (p) => link(pipelineHref(p.name), p.name) },
    { label: 'Health', key: 'health', cell: (p) => healthBadge(p.health) },
    { label: 'Records/s', key: 'recordsPerSec', num: true, cell: (p) => fmtRate(p.recordsPerSec) },
    { label: 'Watermark lag', key: 'watermarkLag', num: true, cell: (p) => fmtSeconds(p.watermarkLagS), title: (p) => `watermark ${fmtTime(p.watermark)}` },
    { label: 'Late', key: 'late', num: true, cell: (p) => fmtInt(p.late) },
    { label: 'Errors', key: 'errors', num: true, cell: (p) => fmtInt(p.errors) },
    { label: 'Units', key: 'units', num: true, cell: (p) => fmtInt(p.units) },
    { label: 'Last error', key: 'lastError', cell: (p) => (p.lastError ? h('span', { class: 'error-text' }, p.lastError) : h('span', { class: 'muted' }, '—')) },
  ], (p) => p.name, 'pipelines');
  const slot = new Slot();
  const records = feed.chart({ title: 'Ingest', unit: 'perSec', lines: [{ name: 'ingest.records', label: 'records', color: '--c1' }] });
  const bytesChart = feed.chart({ title: 'Ingest bytes', unit: 'bytesPerSec', lines: [{ name: 'ingest.bytes', label: 'bytes', color: '--c2' }] });
  const refusals = feed.chart({ title: 'Refused requests', unit: 'perSec', lines: [
    { name: 'ingest.rejected', label: 'rejected', color: '--c-bad' },
    { name: 'ingest.throttled', label: 'throttled', color: '--c-warn' },
  ] });
  slot.el.append(
    stats(ingest, bytes, rejected, throttled),
    h('div', { class: 'grid charts' }, records.el, bytesChart.el, refusals.el),
    stats(engine, uptime, version, streams),
    h('section', { class: 'card' }, h('h3', { class: 'card-title' }, 'Pipelines'), pipelines.el),
  );
  ctx.root.append(pageHeader('Overview', []), slot.el);

  ctx.poll(async () => {
    try {
      const o = await getJson<Overview>('/v1/observe/overview', ctx.signal);
      slot.clear();
      ingest.set(fmtRate(o.ingest.recordsPerSec), `${fmtInt(o.ingest.records)} records since start`);
      bytes.set(`${fmtBytes(o.ingest.bytesPerSec)}/s`, '');
      rejected.set(fmtRate(o.ingest.rejectedPerSec), requestsSince(o.ingest.rejected));
      rejected.tone(o.ingest.rejectedPerSec > 0 ? 'bad' : null);
      throttled.set(fmtRate(o.ingest.throttledPerSec), requestsSince(o.ingest.throttled));
      throttled.tone(o.ingest.throttledPerSec > 0 ? 'warn' : null);
      engine.set(o.engine, o.open ? 'open gateway: no keys' : 'API keys required');
      uptime.set(fmtSeconds(o.uptimeS), `since ${fmtTime(o.startedAt, false)}`);
      version.set(o.version, 'sluice');
      streams.set(link('#/streams', fmtInt(o.streams)), plural(o.pipelines.length, 'pipeline'));
      pipelines.rows(o.pipelines, 'no pipelines run in this gateway');
      dispatchEvent(new CustomEvent('sluice:overview', { detail: o }));
    } catch (e) {
      if (!ctx.signal.aborted) slot.error(e, 'Overview');
      throw e;
    } finally {
      await feed.refresh(ctx.signal).catch(() => {});
    }
  }, REFRESH_MS);
}

const requestsSince = (n: number) => `${plural(n, 'request')} since start`;

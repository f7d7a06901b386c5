// Pipelines: every pipeline the gateway runs, with health, units and rates.
import { getJson } from '../api.js';
import { fmtInt, fmtRate, fmtSeconds } from '../format.js';
import { REFRESH_MS } from '../refresh.js';
import type { PageContext } from '../router.js';
import type { Overview, PipelineHealth, PipelineSummary } from '../types.js';
import { card, healthBadge, link, pageHeader, pipelineHref, Slot, Table } from '../widgets.js';

type Row = PipelineSummary & { live?: PipelineHealth };

export async function pipelinesPage(ctx: PageContext): Promise<void> {
  const table = new Table<Row>([
    { label: 'Pipeline', key: 'name', cell: (p) => link(pipelineHref(p.name), p.name) },
    { label: 'Health', key: 'health', cell: (p) => healthBadge(p.health) },
    { label: 'Records/s', key: 'recordsPerSec', num: true, cell: (p) => fmtRate(p.live?.recordsPerSec) },
    { label: 'Watermark lag', key: 'watermarkLag', num: true, cell: (p) => fmtSeconds(p.live?.watermarkLagS) },
    { label: 'Late', key: 'late', num: true, cell: (p) => (p.live ? fmtInt(p.live.late) : '—') },
    { label: 'Errors', key: 'errors', num: true, cell: (p) => (p.live ? fmtInt(p.live.errors) : '—') },
    { label: 'Key groups', key: 'keyGroups', num: true, cell: (p) => fmtInt(p.keyGroups) },
    { label: 'Workers', key: 'workers', num: true, cell: (p) => fmtInt(p.workers) },
    { label: 'Units', key: 'units', num: true, cell: (p) => fmtInt(p.units) },
  ], (p) => p.name, 'pipelines');
  const slot = new Slot();
  slot.el.append(card(null, table.el));
  ctx.root.append(pageHeader('Pipelines', []), slot.el);
  ctx.poll(async () => {
    try {
      const [{ pipelines }, overview] = await Promise.all([
        getJson<{ pipelines: PipelineSummary[] }>('/v1/pipelines', ctx.signal),
        getJson<Overview>('/v1/observe/overview', ctx.signal).catch(() => undefined),
      ]);
      const live = new Map(overview?.pipelines.map((p) => [p.name, p]) ?? []);
      slot.clear();
      table.rows(pipelines.map((p) => ({ ...p, live: live.get(p.name) })), 'no pipelines run in this gateway (dataflow.pipelines in sluice.config.ts)');
    } catch (e) {
      if (!ctx.signal.aborted) slot.error(e, 'Pipelines');
      throw e;
    }
  }, REFRESH_MS);
}

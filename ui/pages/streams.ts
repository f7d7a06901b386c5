// Streams: every stream the key may see, with partitions, retention, size and append rate.
import { getJson, streamPath } from '../api.js';
import { h } from '../dom.js';
import { fmtAgo, fmtBytes, fmtInt, fmtMs, fmtRate } from '../format.js';
import { offsetsCount } from '../gateway-info.js';
import { REFRESH_MS } from '../refresh.js';
import { replaceQuery, type PageContext } from '../router.js';
import type { SeriesAnswer, StreamDescription, StreamInfo } from '../types.js';
import { link, pageHeader, Slot, streamHref, Table } from '../widgets.js';

/** Streams described per refresh at most (each is one request). */
const MAX_DESCRIBED = 100;
export const isInternal = (name: string): boolean => name.startsWith('_sluice.');

interface Row {
  info: StreamInfo;
  d?: StreamDescription;
  rate?: number;
}

const sum = (d: StreamDescription | undefined, f: (p: StreamDescription['partitionInfo'][number]) => number | undefined) =>
  d?.partitionInfo.every((p) => f(p) !== undefined) ? d.partitionInfo.reduce((n, p) => n + f(p)!, 0) : undefined;

export async function streamsPage(ctx: PageContext): Promise<void> {
  let showInternal = ctx.query.get('internal') === '1';
  const toggle = h('input', { type: 'checkbox', checked: showInternal });
  const toggleLabel = h('label', { class: 'toggle' }, toggle, h('span', {}, 'show internal streams'));
  const table = new Table<Row>([
    { label: 'Stream', key: 'name', cell: (r) => link(streamHref(r.info.name), r.info.name) },
    { label: 'Partitions', key: 'partitions', num: true, cell: (r) => fmtInt(r.info.partitions) },
    { label: 'Retention', key: 'retention', num: true, cell: (r) => fmtMs(r.info.retentionMs) },
    { label: 'Key field', key: 'keyField', cell: (r) => r.info.partitionKeyField ?? h('span', { class: 'muted' }, '—') },
    { label: 'Records', key: 'records', num: true, cell: (r) => (offsetsCount() ? fmtInt(sum(r.d, (p) => p.next - p.earliest) ?? NaN) : '—') },
    { label: 'Size', key: 'bytes', num: true, cell: (r) => fmtBytes(sum(r.d, (p) => p.bytes)) },
    { label: 'Appends', key: 'rate', num: true, cell: (r) => fmtRate(r.rate) },
    { label: 'Last append', key: 'last', num: true, cell: (r) => fmtAgo(r.d ? Math.max(0, ...r.d.partitionInfo.map((p) => p.lastTimestamp ?? 0)) || undefined : undefined) },
  ], (r) => r.info.name, 'streams');
  const counts = h('span', { class: 'muted' });
  const slot = new Slot();
  slot.el.append(h('section', { class: 'card' }, h('div', { class: 'card-head' }, h('h3', { class: 'card-title' }, 'Streams'), counts, toggleLabel), table.el));
  ctx.root.append(pageHeader('Streams', []), slot.el);

  const refresh = async () => {
    const { streams } = await getJson<{ streams: StreamInfo[] }>('/v1/streams', ctx.signal);
    const shown = streams.filter((s) => showInternal || !isInternal(s.name)).sort((a, b) => a.name.localeCompare(b.name));
    const hidden = streams.length - shown.length;
    counts.textContent = `${fmtInt(shown.length)} shown${hidden ? `, ${fmtInt(hidden)} internal hidden` : ''}`;
    const described = await Promise.all(shown.slice(0, MAX_DESCRIBED).map((s) => getJson<StreamDescription>(streamPath(s.name), ctx.signal).catch(() => undefined)));
    const rates = await streamRates(shown.slice(0, MAX_DESCRIBED).map((s) => s.name), ctx.signal);
    slot.clear();
    table.rows(shown.map((info, i) => ({ info, d: described[i], rate: rates.get(info.name) })), 'no streams yet: create one with POST /v1/streams or sluice streams create');
  };
  toggle.addEventListener('change', () => {
    showInternal = toggle.checked;
    const q = new URLSearchParams(ctx.query);
    if (showInternal) q.set('internal', '1');
    else q.delete('internal');
    replaceQuery(q);
    void refresh().catch((e) => slot.error(e, 'Streams'));
  });
  ctx.poll(async () => {
    try {
      await refresh();
    } catch (e) {
      if (!ctx.signal.aborted) slot.error(e, 'Streams');
      throw e;
    }
  }, REFRESH_MS);
}

/** The latest append rate of each stream, from the series (empty when the gateway has none). */
async function streamRates(names: string[], signal: AbortSignal): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  if (names.length === 0) return out;
  try {
    const q = names.map((n) => `stream.${n}.records`).join(',');
    const a = await getJson<SeriesAnswer>(`/v1/observe/series?names=${encodeURIComponent(q)}`, signal, false);
    for (const n of names) {
      const points = a.series[`stream.${n}.records`];
      const lastPoint = points?.[points.length - 1];
      if (lastPoint) out.set(n, lastPoint[1]);
    }
  } catch {
    // rates are extra: the list stands without them
  }
  return out;
}

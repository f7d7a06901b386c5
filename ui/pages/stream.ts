// One stream: its options, per-partition offsets and size, consumer lag per group, appends per
// second, the record browser and the live tail.
import { getJson, streamPath } from '../api.js';
import { SeriesFeed } from '../chart.js';
import { fill, h } from '../dom.js';
import { fmtAgo, fmtBytes, fmtInt, fmtMs, fmtSeconds, fmtTime } from '../format.js';
import { offsetsCount } from '../gateway-info.js';
import { REFRESH_MS } from '../refresh.js';
import { replaceQuery, type PageContext } from '../router.js';
import type { Consumer, ConsumerPartition, PartitionInfo, StreamDescription } from '../types.js';
import { card, link, pageHeader, pipelineHref, Slot, Stat, stats, Table } from '../widgets.js';
import { LiveTail } from './live-tail.js';
import { RecordBrowser } from './record-browser.js';

const PIPELINE_GROUP = /^pipeline:(.+)$/;

export async function streamPage(ctx: PageContext): Promise<void> {
  const name = ctx.params[0]!;
  const feed = new SeriesFeed(ctx.signal, false);
  const partitions = new Stat('Partitions', 'partitions');
  const retention = new Stat('Retention', 'retention');
  const records = new Stat('Records retained', 'records');
  const size = new Stat('Size', 'bytes');
  const keyField = new Stat('Partition key field', 'keyField');
  const created = new Stat('Created', 'created');
  const browser = new RecordBrowser(name, ctx.query, ctx.signal);
  const tail = new LiveTail(name, ctx.signal);
  const partitionTable = new Table<PartitionInfo>([
    { label: 'Partition', key: 'partition', num: true, cell: (p) => String(p.partition) },
    { label: 'Earliest', key: 'earliest', num: true, cell: (p) => fmtInt(p.earliest) },
    { label: 'Next', key: 'next', num: true, cell: (p) => fmtInt(p.next) },
    ...(offsetsCount() ? [{ label: 'Records', key: 'records', num: true, cell: (p: PartitionInfo) => fmtInt(p.next - p.earliest) }] : []),
    { label: 'Size', key: 'bytes', num: true, cell: (p) => bytesCell(p.bytes) },
    { label: 'Last append', key: 'last', num: true, cell: (p) => fmtAgo(p.lastTimestamp), title: (p) => fmtTime(p.lastTimestamp) },
    { label: '', cell: (p) => h('button', { class: 'btn small ghost', type: 'button', onclick: () => (browser.show(p.partition), showTab('records'), browserCard.scrollIntoView({ behavior: 'smooth' })) }, 'browse') },
  ], (p) => String(p.partition), 'partitions');
  const consumers = h('div', { class: 'consumers', 'data-consumers': '' });
  const chart = feed.chart({ title: 'Appends', unit: 'perSec', lines: [{ name: `stream.${name}.records`, label: 'records', color: '--c1' }] });

  const tabs = { records: h('button', { class: 'tab', type: 'button', role: 'tab', 'data-tab': 'records' }, 'Records'), tail: h('button', { class: 'tab', type: 'button', role: 'tab', 'data-tab': 'tail' }, 'Live tail') };
  const panes = { records: browser.el, tail: tail.el };
  const showTab = (t: 'records' | 'tail') => {
    for (const k of ['records', 'tail'] as const) {
      tabs[k].setAttribute('aria-selected', String(k === t));
      panes[k].hidden = k !== t;
    }
    const q = new URLSearchParams(location.hash.split('?')[1] ?? '');
    if (t === 'tail') q.set('view', 'tail');
    else q.delete('view');
    replaceQuery(q);
  };
  tabs.records.addEventListener('click', () => showTab('records'));
  tabs.tail.addEventListener('click', () => showTab('tail'));
  const browserCard = h('section', { class: 'card' }, h('div', { class: 'tabs', role: 'tablist' }, tabs.records, tabs.tail), browser.el, tail.el);
  showTab(ctx.query.get('view') === 'tail' ? 'tail' : 'records');

  const slot = new Slot();
  slot.el.append(
    stats(partitions, retention, records, size, keyField, created),
    h('div', { class: 'grid two' }, card('Partitions', partitionTable.el), h('div', { class: 'stack' }, chart.el, card('Consumers', consumers))),
    browserCard,
  );
  ctx.root.append(pageHeader(name, [['Streams', '#/streams']], name.startsWith('_sluice.') ? h('span', { class: 'badge muted' }, 'internal') : null), slot.el);

  ctx.poll(async () => {
    try {
      const d = await getJson<StreamDescription>(streamPath(name), ctx.signal);
      slot.clear();
      partitions.set(fmtInt(d.partitions), '');
      retention.set(fmtMs(d.retentionMs), `dedup window ${fmtMs(d.dedupWindowMs)}`);
      const bytes = d.partitionInfo.every((p) => p.bytes !== undefined) ? d.partitionInfo.reduce((n, p) => n + p.bytes!, 0) : undefined;
      size.set(fmtBytes(bytes), bytes === undefined ? 'not reported by this gateway' : `${fmtInt(bytes)} bytes`);
      records.set(offsetsCount() ? fmtInt(d.partitionInfo.reduce((n, p) => n + p.next - p.earliest, 0)) : '—', offsetsCount() ? '' : 'offsets are not counts on this engine');
      keyField.set(d.partitionKeyField ?? '—', d.partitionKeyField ? '' : 'keyless records go round-robin');
      created.set(fmtAgo(d.createdAt), fmtTime(d.createdAt, false));
      partitionTable.rows(d.partitionInfo);
      browser.setPartitions(d.partitionInfo);
      tail.setPartitions(d.partitions);
      renderConsumers(consumers, d.consumers);
    } catch (e) {
      if (!ctx.signal.aborted) slot.error(e, `Stream ${name}`);
      throw e;
    } finally {
      await feed.refresh(ctx.signal).catch(() => {});
    }
  }, REFRESH_MS);
}

function bytesCell(bytes: number | undefined): Node | string {
  if (bytes === undefined) return '—';
  return h('span', { class: 'bytes' }, fmtBytes(bytes), h('span', { class: 'exact', 'data-bytes': bytes }, `${fmtInt(bytes)} B`));
}

function renderConsumers(el: HTMLElement, consumers: Consumer[] | undefined): void {
  if (consumers === undefined) return fill(el, h('p', { class: 'muted' }, 'This gateway does not report consumers.'));
  if (consumers.length === 0) return fill(el, h('p', { class: 'muted' }, 'No pipeline reads this stream.'));
  fill(el, ...consumers.map((c) => {
    const lag = c.partitions.reduce((n, p) => n + (p.lagRecords ?? 0), 0);
    const worst = Math.max(0, ...c.partitions.map((p) => p.lagSeconds));
    const m = PIPELINE_GROUP.exec(c.group);
    const table = new Table<ConsumerPartition>([
      { label: 'Partition', key: 'partition', num: true, cell: (p) => String(p.partition) },
      { label: 'Committed offset', key: 'offset', num: true, cell: (p) => fmtInt(p.offset) },
      { label: 'Lag (records)', key: 'lagRecords', num: true, cell: (p) => (p.lagRecords === null ? '—' : fmtInt(p.lagRecords)) },
      { label: 'Lag (time)', key: 'lagSeconds', num: true, cell: (p) => fmtSeconds(p.lagSeconds) },
    ], (p) => String(p.partition), `consumer:${c.group}`);
    table.rows(c.partitions);
    return h('div', { class: 'consumer', 'data-group': c.group },
      h('div', { class: 'consumer-head' }, m ? link(pipelineHref(m[1]!), c.group) : h('strong', {}, c.group),
        h('span', { class: lag > 0 || worst > 0 ? 'badge warn' : 'badge ok' }, lag > 0 ? `${fmtInt(lag)} behind · ${fmtSeconds(worst)}` : worst > 0 ? `${fmtSeconds(worst)} behind` : 'caught up')),
      table.el);
  }));
}

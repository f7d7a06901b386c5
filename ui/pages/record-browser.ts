// The record browser: one partition's records from an offset or a time, a page at a time,
// forward and back. Offsets need not be contiguous (nats), so going back returns to the pages
// already seen; before the first of them it reads from `limit` offsets earlier.
import { getJson, streamPath } from '../api.js';
import { fill, h } from '../dom.js';
import { fmtInt, fmtTime, toLocalInput } from '../format.js';
import { jsonView } from '../json-view.js';
import { replaceQuery } from '../router.js';
import type { PartitionInfo, RecordsPage, StreamRecord } from '../types.js';
import { errorNote } from '../widgets.js';

export const PAGE_SIZES = [10, 25, 50, 100];
export const DEFAULT_PAGE_SIZE = 25;

interface Position {
  partition: number;
  /** Where the page shown starts (a stored offset or the partition's `next`). */
  start: number;
  limit: number;
}

export class RecordBrowser {
  readonly el: HTMLElement;
  private pos: Position;
  private partitions: PartitionInfo[] = [];
  /** Starts of the pages before this one, for going back exactly. */
  private history: number[] = [];
  private page?: RecordsPage;
  /** A `since` of the deep link, read once the partitions are known. */
  private pendingSince?: string;
  private readonly partitionSel = h('select', { 'aria-label': 'partition', name: 'partition' });
  private readonly modeSel = h('select', { 'aria-label': 'read from', name: 'mode' }, h('option', { value: 'offset' }, 'offset'), h('option', { value: 'time' }, 'time'));
  private readonly offsetIn = h('input', { type: 'number', min: 0, step: 1, name: 'offset', 'aria-label': 'offset', class: 'w-offset' });
  private readonly timeIn = h('input', { type: 'datetime-local', step: 1, name: 'time', 'aria-label': 'time', hidden: true });
  private readonly sizeSel = h('select', { 'aria-label': 'page size', name: 'limit' }, ...PAGE_SIZES.map((n) => h('option', { value: n }, `${n} / page`)));
  private readonly prev = h('button', { class: 'btn', type: 'button', 'data-action': 'prev' }, '← Previous');
  private readonly next = h('button', { class: 'btn', type: 'button', 'data-action': 'next' }, 'Next →');
  private readonly range = h('span', { class: 'range muted', 'data-range': '' });
  private readonly list = h('div', { class: 'records', 'data-records': '' });

  constructor(private readonly stream: string, query: URLSearchParams, private readonly signal: AbortSignal) {
    this.pos = { partition: intOf(query.get('partition')) ?? 0, start: intOf(query.get('from')) ?? 0, limit: intOf(query.get('limit')) ?? DEFAULT_PAGE_SIZE };
    if (!PAGE_SIZES.includes(this.pos.limit)) this.sizeSel.append(h('option', { value: this.pos.limit }, `${this.pos.limit} / page`));
    this.sizeSel.value = String(this.pos.limit);
    this.offsetIn.value = String(this.pos.start);
    const since = query.get('since');
    const form = h('form', { class: 'toolbar', 'data-browser-form': '' },
      h('label', { class: 'field inline' }, h('span', {}, 'Partition'), this.partitionSel),
      h('label', { class: 'field inline' }, h('span', {}, 'From'), this.modeSel),
      this.offsetIn, this.timeIn, this.sizeSel,
      h('button', { class: 'btn primary', type: 'submit' }, 'Read'),
      h('span', { class: 'spacer' }),
      h('button', { class: 'btn ghost', type: 'button', 'data-action': 'first', onclick: () => this.jump('first') }, 'First'),
      h('button', { class: 'btn ghost', type: 'button', 'data-action': 'last', onclick: () => this.jump('last') }, 'Last'),
    );
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      this.submit();
    });
    this.modeSel.addEventListener('change', () => this.showMode());
    this.partitionSel.addEventListener('change', () => {
      this.pos.partition = Number(this.partitionSel.value);
      this.jump('first');
    });
    this.sizeSel.addEventListener('change', () => {
      this.pos.limit = Number(this.sizeSel.value);
      void this.load(this.pos.start);
    });
    this.prev.addEventListener('click', () => void this.back());
    this.next.addEventListener('click', () => void this.forward());
    this.el = h('div', { class: 'browser' }, form, h('div', { class: 'pager' }, this.prev, this.range, this.next), this.list);
    if (since !== null) {
      this.modeSel.value = 'time';
      const t = /^\d+$/.test(since) ? Number(since) : Date.parse(since);
      if (Number.isFinite(t)) this.timeIn.value = toLocalInput(t);
      this.showMode();
    }
    this.pendingSince = since ?? undefined;
  }

  /** The stream's partitions as last described; the first call reads the first page. */
  setPartitions(partitions: PartitionInfo[]): void {
    const first = this.partitions.length === 0;
    this.partitions = partitions;
    if (this.partitionSel.options.length !== partitions.length) {
      fill(this.partitionSel, ...partitions.map((p) => h('option', { value: p.partition }, String(p.partition))));
    }
    if (this.pos.partition >= partitions.length) this.pos.partition = 0;
    this.partitionSel.value = String(this.pos.partition);
    if (first) {
      if (this.pendingSince !== undefined) void this.loadSince(this.pendingSince);
      else void this.load(this.pos.start);
    } else this.buttons();
  }

  /** Shows a partition from its first retained record. */
  show(partition: number): void {
    this.pos.partition = partition;
    this.partitionSel.value = String(partition);
    this.jump('first');
  }

  private get info(): PartitionInfo | undefined {
    return this.partitions[this.pos.partition];
  }

  private showMode(): void {
    const time = this.modeSel.value === 'time';
    this.timeIn.hidden = !time;
    this.offsetIn.hidden = time;
    if (time && !this.timeIn.value) this.timeIn.value = toLocalInput(Date.now() - 60 * 60 * 1000);
  }

  private submit(): void {
    this.pos.limit = Number(this.sizeSel.value);
    this.history = [];
    if (this.modeSel.value === 'time') {
      const t = new Date(this.timeIn.value).getTime();
      if (Number.isFinite(t)) void this.loadSince(String(t));
    } else {
      void this.load(Math.max(0, Math.floor(Number(this.offsetIn.value) || 0)));
    }
  }

  private jump(where: 'first' | 'last'): void {
    const info = this.info;
    if (!info) return;
    this.history = [];
    this.modeSel.value = 'offset';
    this.showMode();
    void this.load(where === 'first' ? info.earliest : Math.max(info.earliest, info.next - this.pos.limit));
  }

  private async forward(): Promise<void> {
    if (!this.page) return;
    this.history.push(this.pos.start);
    await this.load(this.page.next);
  }

  private async back(): Promise<void> {
    const before = this.history.pop();
    if (before !== undefined) return this.load(before);
    // Before the first page seen: read from `limit` offsets back and keep what precedes this page.
    const start = this.pos.start;
    const from = Math.max(this.info?.earliest ?? 0, start - this.pos.limit);
    await this.load(from, (r) => r.offset < start);
  }

  private async loadSince(since: string): Promise<void> {
    await this.read(`since=${encodeURIComponent(since)}`, (page) => page.records[0]?.offset ?? page.next, { since });
  }

  private async load(from: number, keep?: (r: StreamRecord) => boolean): Promise<void> {
    await this.read(`from=${from}`, (page) => page.records[0]?.offset ?? from, {}, keep);
  }

  private async read(position: string, startOf: (p: RecordsPage) => number, deepLink: { since?: string }, keep?: (r: StreamRecord) => boolean): Promise<void> {
    const { partition, limit } = this.pos;
    this.list.setAttribute('aria-busy', 'true');
    try {
      const page = await getJson<RecordsPage>(streamPath(this.stream, `/records?partition=${partition}&${position}&limit=${limit}`), this.signal);
      if (keep) page.records = page.records.filter(keep);
      this.page = page;
      this.pos.start = startOf(page);
      this.offsetIn.value = String(this.pos.start);
      this.render();
      this.deepLink(deepLink.since);
    } catch (e) {
      if (!this.signal.aborted) fill(this.list, errorNote(e, 'Records'));
    } finally {
      this.list.removeAttribute('aria-busy');
    }
  }

  private deepLink(since?: string): void {
    const q = new URLSearchParams(location.hash.split('?')[1] ?? '');
    q.set('partition', String(this.pos.partition));
    q.delete('since');
    q.set('from', String(this.pos.start));
    if (since !== undefined && this.page?.records.length === 0) q.set('since', since);
    q.set('limit', String(this.pos.limit));
    replaceQuery(q);
  }

  private render(): void {
    const page = this.page!;
    if (page.records.length === 0) {
      fill(this.list, h('div', { class: 'empty-state' }, `No records in partition ${this.pos.partition} from offset ${fmtInt(this.pos.start)}${this.info ? ` (the partition holds offsets ${fmtInt(this.info.earliest)} to ${fmtInt(this.info.next - 1)})` : ''}.`));
    } else {
      fill(this.list, ...page.records.map(recordView));
    }
    this.buttons();
  }

  private buttons(): void {
    const page = this.page;
    const info = this.info;
    const first = page?.records[0];
    const last = page?.records[page.records.length - 1];
    this.range.textContent = first && last ? `partition ${this.pos.partition} · offsets ${fmtInt(first.offset)}–${fmtInt(last.offset)} · ${fmtInt(page!.records.length)} records` : '';
    this.prev.disabled = !page || (this.history.length === 0 && this.pos.start <= (info?.earliest ?? 0));
    this.next.disabled = !page || page.next >= (info?.next ?? 0);
  }
}

/** One record: where it is, when it arrived, its key, its value. */
export function recordView(r: StreamRecord): HTMLElement {
  const body = r.value !== undefined ? jsonView(r.value) : h('pre', { class: 'json binary' }, `base64: ${r.data ?? ''}`);
  return h('article', { class: 'record', 'data-partition': r.partition, 'data-offset': r.offset },
    h('header', { class: 'record-head' },
      h('span', { class: 'rec-offset', title: 'partition · offset' }, `${r.partition} · ${fmtInt(r.offset)}`),
      h('time', { datetime: new Date(r.timestamp).toISOString(), title: new Date(r.timestamp).toISOString() }, fmtTime(r.timestamp)),
      r.key !== undefined ? h('span', { class: 'rec-key' }, h('span', { class: 'muted' }, 'key '), r.key) : null),
    body);
}

function intOf(v: string | null): number | undefined {
  return v !== null && /^\d{1,15}$/.test(v) ? Number(v) : undefined;
}

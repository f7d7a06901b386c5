// The live tail: records as they are appended, newest first, from when it started; stops on
// Stop or when the page is left (the request is aborted).
import { fill, h } from '../dom.js';
import { fmtInt, fmtTime } from '../format.js';
import { jsonView } from '../json-view.js';
import { readEvents } from '../sse.js';
import type { StreamRecord } from '../types.js';
import { errorNote } from '../widgets.js';
import { streamPath } from '../api.js';

/** Records kept on screen; older ones drop off the bottom. */
export const TAIL_KEEP = 300;
/** New records are drawn at most this often: a busy stream would otherwise redraw the list every frame. */
export const TAIL_FLUSH_MS = 200;

export class LiveTail {
  readonly el: HTMLElement;
  private run?: AbortController;
  private received = 0;
  private queue: StreamRecord[] = [];
  private timer?: ReturnType<typeof setTimeout>;
  private readonly partitionSel = h('select', { 'aria-label': 'tail partition', name: 'tail-partition' }, h('option', { value: '' }, 'all'));
  private readonly toggle = h('button', { class: 'btn primary', type: 'button', 'data-action': 'tail' }, 'Start');
  private readonly clear = h('button', { class: 'btn ghost', type: 'button' }, 'Clear');
  private readonly state = h('span', { class: 'tail-state', 'data-tail-state': 'stopped' }, 'stopped');
  private readonly count = h('span', { class: 'muted', 'data-tail-count': '' });
  private readonly list = h('div', { class: 'records tail', 'data-tail': '' });

  constructor(private readonly stream: string, private readonly signal: AbortSignal) {
    this.toggle.addEventListener('click', () => (this.run ? this.stop() : this.start()));
    this.clear.addEventListener('click', () => {
      this.received = 0;
      fill(this.list);
      this.showCount();
    });
    signal.addEventListener('abort', () => this.stop(), { once: true });
    this.el = h('div', { class: 'live-tail' },
      h('div', { class: 'toolbar' }, h('label', { class: 'field inline' }, h('span', {}, 'Partition'), this.partitionSel), this.toggle, this.clear, h('span', { class: 'spacer' }), this.state, this.count),
      this.list);
    this.showCount();
  }

  setPartitions(n: number): void {
    if (this.partitionSel.options.length === n + 1) return;
    fill(this.partitionSel, h('option', { value: '' }, 'all'), ...Array.from({ length: n }, (_, p) => h('option', { value: p }, String(p))));
  }

  get running(): boolean {
    return this.run !== undefined;
  }

  start(): void {
    if (this.run) return;
    const run = new AbortController();
    this.run = run;
    this.setState('connecting', 'connecting…');
    this.toggle.textContent = 'Stop';
    this.partitionSel.disabled = true;
    const p = this.partitionSel.value;
    const path = streamPath(this.stream, `/tail?from=latest${p === '' ? '' : `&partition=${p}`}`);
    readEvents(path, run.signal, () => this.setState('live', 'live'), (e) => {
      if (e.event !== 'record') return;
      this.queue.push(JSON.parse(e.data) as StreamRecord);
      this.timer ??= setTimeout(() => this.flush(), TAIL_FLUSH_MS);
    })
      .then(() => this.run === run && this.ended('the gateway ended the tail'))
      .catch((err) => this.run === run && this.ended(err));
  }

  stop(): void {
    if (!this.run) return;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.flush(); // what had arrived is shown
    this.run.abort();
    this.run = undefined;
    this.toggle.textContent = 'Start';
    this.partitionSel.disabled = false;
    this.setState('stopped', 'stopped');
  }

  private ended(reason: unknown): void {
    if (this.signal.aborted) return;
    this.stop();
    if (typeof reason === 'string') this.setState('stopped', reason);
    else this.list.prepend(errorNote(reason, 'Live tail'));
  }

  private flush(): void {
    this.timer = undefined;
    const batch = this.queue.splice(0);
    this.received += batch.length;
    // Only what stays on screen is drawn.
    const rows = batch.slice(-TAIL_KEEP).reverse().map(tailRow);
    const drop = this.list.childElementCount + rows.length - TAIL_KEEP;
    if (drop >= this.list.childElementCount) this.list.replaceChildren(...rows);
    else {
      if (drop > 0) {
        const range = document.createRange();
        range.setStartBefore(this.list.children[this.list.childElementCount - drop]!);
        range.setEndAfter(this.list.lastElementChild!);
        range.deleteContents();
      }
      this.list.prepend(...rows);
    }
    this.showCount();
  }

  private setState(state: string, text: string): void {
    this.state.dataset.tailState = state;
    this.state.textContent = text;
  }

  private showCount(): void {
    this.count.textContent = `${fmtInt(this.received)} received${this.received > TAIL_KEEP ? `, latest ${fmtInt(TAIL_KEEP)} shown` : ''}`;
  }
}

/** A tail row: one line of JSON; a click shows it pretty-printed. */
function tailRow(r: StreamRecord): HTMLElement {
  const value = r.value !== undefined ? r.value : { base64: r.data };
  const body = h('div', { class: 'tail-body' }, jsonView(value, false));
  const row = h('article', { class: 'record tail-row', 'data-partition': r.partition, 'data-offset': r.offset, title: 'click to expand' },
    h('header', { class: 'record-head' },
      h('span', { class: 'rec-offset' }, `${r.partition} · ${fmtInt(r.offset)}`),
      h('time', { datetime: new Date(r.timestamp).toISOString() }, fmtTime(r.timestamp)),
      r.key !== undefined ? h('span', { class: 'rec-key' }, h('span', { class: 'muted' }, 'key '), r.key) : null),
    body);
  let pretty = false;
  row.addEventListener('click', () => {
    pretty = !pretty;
    fill(body, jsonView(value, pretty));
  });
  return row;
}

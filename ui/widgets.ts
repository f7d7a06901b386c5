// The dashboard's building blocks: cards, figures, tables, health badges and error notes.
import { ApiError } from './api.js';
import { allowPrompt, KeyDeclinedError } from './auth.js';
import { fill, h, setText } from './dom.js';
import type { Health } from './types.js';

type Child = Node | string | number | null | undefined | false;

export function card(title: string | null, ...children: Child[]): HTMLElement {
  return h('section', { class: 'card' }, title ? h('h3', { class: 'card-title' }, title) : null, ...children);
}

/** A figure with a label and a secondary line; `set` updates it in place. */
export class Stat {
  readonly el: HTMLElement;
  private readonly value = h('div', { class: 'stat-value' }, '—');
  private readonly sub = h('div', { class: 'stat-sub' });

  constructor(label: string, key: string) {
    this.el = h('div', { class: 'stat', 'data-stat': key }, h('div', { class: 'stat-label' }, label), this.value, this.sub);
  }

  set(value: string | Node, sub: string | Node = ''): void {
    if (typeof value === 'string') setText(this.value, value);
    else fill(this.value, value);
    if (typeof sub === 'string') setText(this.sub, sub);
    else fill(this.sub, sub);
  }

  tone(t: 'ok' | 'warn' | 'bad' | null): void {
    this.el.classList.toggle('ok', t === 'ok');
    this.el.classList.toggle('warn', t === 'warn');
    this.el.classList.toggle('bad', t === 'bad');
  }
}

export const stats = (...items: Stat[]): HTMLElement => h('div', { class: 'stats' }, ...items.map((s) => s.el));

export function healthBadge(health: Health | string): HTMLElement {
  const tone = health === 'ok' ? 'ok' : health === 'failing' ? 'bad' : 'muted';
  return h('span', { class: `badge ${tone}`, 'data-health': health }, health);
}

export interface Column<T> {
  label: string;
  /** Right-aligned numbers. */
  num?: boolean;
  key?: string;
  cell(row: T): Child;
  title?: (row: T) => string;
}

/** A table; `rows` rebuilds its body (rows carry `data-row` = rowKey). */
export class Table<T> {
  readonly el: HTMLElement;
  private readonly tbody = h('tbody');

  constructor(private readonly columns: Column<T>[], private readonly rowKey: (row: T) => string, readonly testId?: string) {
    const head = h('tr', {}, ...columns.map((c) => h('th', { class: c.num ? 'num' : '' }, c.label)));
    this.el = h('div', { class: 'table-wrap' }, h('table', { class: 'table', 'data-table': testId }, h('thead', {}, head), this.tbody));
  }

  rows(rows: T[], empty = 'nothing yet'): void {
    if (rows.length === 0) {
      fill(this.tbody, h('tr', {}, h('td', { class: 'empty', colspan: this.columns.length }, empty)));
      return;
    }
    fill(this.tbody, ...rows.map((r) => h('tr', { 'data-row': this.rowKey(r) },
      ...this.columns.map((c) => h('td', { class: c.num ? 'num' : '', 'data-field': c.key, title: c.title?.(r) }, c.cell(r))))));
  }
}

/** A note saying what failed, with a way to enter a key when that is what is missing. */
export function errorNote(e: unknown, what: string): HTMLElement {
  if (e instanceof KeyDeclinedError) {
    const again = h('button', { class: 'btn small', type: 'button', onclick: () => (allowPrompt(), dispatchEvent(new Event('hashchange'))) }, 'Enter a key');
    return h('div', { class: 'note error', role: 'alert' }, `${what}: an API key is needed (${e.message}). `, again);
  }
  if (e instanceof ApiError && e.status === 404 && e.code === 'NotFound') {
    return h('div', { class: 'note error', role: 'alert' }, `${what}: this gateway does not serve it (${e.message}).`);
  }
  const m = e instanceof ApiError ? `${e.message} (${e.status} ${e.code})` : (e as Error)?.message ?? String(e);
  return h('div', { class: 'note error', role: 'alert' }, `${what}: ${m}`);
}

/** A slot that shows either content or an error note in place. */
export class Slot {
  readonly el = h('div', { class: 'slot' });
  private note?: HTMLElement;

  error(e: unknown, what: string): void {
    this.clear();
    this.note = errorNote(e, what);
    this.el.prepend(this.note);
  }

  clear(): void {
    this.note?.remove();
    this.note = undefined;
  }
}

export const link = (href: string, text: string, attrs: Record<string, string> = {}): HTMLAnchorElement => h('a', { href, ...attrs }, text);

export const streamHref = (name: string, query = ''): string => `#/streams/${encodeURIComponent(name)}${query ? `?${query}` : ''}`;
export const pipelineHref = (name: string): string => `#/pipelines/${encodeURIComponent(name)}`;

/** A page's title row: heading, badges, and links back. */
export function pageHeader(title: string, crumbs: [string, string][], ...extra: Child[]): HTMLElement {
  const trail = crumbs.length ? h('nav', { class: 'crumbs', 'aria-label': 'breadcrumbs' }, ...crumbs.flatMap(([t, href]) => [link(href, t), h('span', { class: 'sep' }, '/')])) : null;
  return h('header', { class: 'page-header' }, trail, h('div', { class: 'page-title-row' }, h('h1', {}, title), ...extra));
}
export const functionHref = (name: string): string => `#/functions/${encodeURIComponent(name)}`;
export const bucketHref = (name: string, prefix = ''): string => `#/buckets/${encodeURIComponent(name)}${prefix ? `?prefix=${encodeURIComponent(prefix)}` : ''}`;

// Buckets: every bucket the key may read; one bucket's keys as folders (prefixes cut at '/') and
// objects with size, type, ETag and time, paged with the listing's continuation token.
import { getJson } from '../api.js';
import { h } from '../dom.js';
import { fmtAgo, fmtBytes, fmtTime, plural } from '../format.js';
import { REFRESH_MS } from '../refresh.js';
import type { PageContext } from '../router.js';
import type { BucketInfo, ObjectsPage } from '../types.js';
import { bucketHref, card, link, pageHeader, Slot, Table } from '../widgets.js';

/** Keys per page of a bucket. */
const PAGE = 100;

export async function bucketsPage(ctx: PageContext): Promise<void> {
  const table = new Table<BucketInfo>([
    { label: 'Bucket', key: 'name', cell: (b) => link(bucketHref(b.name), b.name) },
    { label: 'Created', key: 'created', num: true, cell: (b) => fmtTime(b.created, false), title: (b) => fmtAgo(b.created) },
  ], (b) => b.name, 'buckets');
  const slot = new Slot();
  slot.el.append(card(null, table.el));
  ctx.root.append(pageHeader('Buckets', []), slot.el);
  ctx.poll(async () => {
    try {
      const { buckets } = await getJson<{ buckets: BucketInfo[] }>('/v1/buckets', ctx.signal);
      slot.clear();
      table.rows(buckets, 'no buckets: create one with the S3 API (aws s3 mb) or declare it in sluice.config.ts (buckets)');
    } catch (e) {
      if (!ctx.signal.aborted) slot.error(e, 'Buckets');
      throw e;
    }
  }, REFRESH_MS);
}

type Entry = { kind: 'prefix'; key: string } | { kind: 'object'; key: string; size: number; etag: string; modified: number; contentType: string | null };

export async function bucketPage(ctx: PageContext): Promise<void> {
  const bucket = ctx.params[0]!;
  const prefix = ctx.query.get('prefix') ?? '';
  /** Tokens of the pages before this one (Back), and this page's. */
  const tokens: (string | undefined)[] = [];
  let token: string | undefined;
  let next: string | undefined;
  const table = new Table<Entry>([
    { label: 'Key', key: 'key', cell: (e) => (e.kind === 'prefix' ? link(bucketHref(bucket, e.key), `${e.key.slice(prefix.length)}`, { 'data-prefix': e.key }) : h('code', {}, e.key.slice(prefix.length))), title: (e) => e.key },
    { label: 'Size', key: 'size', num: true, cell: (e) => (e.kind === 'object' ? fmtBytes(e.size) : '') },
    { label: 'Type', key: 'type', cell: (e) => (e.kind === 'object' ? e.contentType ?? '' : 'folder') },
    { label: 'ETag', key: 'etag', cell: (e) => (e.kind === 'object' ? h('code', {}, e.etag) : '') },
    { label: 'Modified', key: 'modified', num: true, cell: (e) => (e.kind === 'object' ? fmtTime(e.modified, false) : ''), title: (e) => (e.kind === 'object' ? fmtAgo(e.modified) : '') },
  ], (e) => `${e.kind}:${e.key}`, 'objects');
  const counts = h('span', { class: 'muted', 'data-counts': '' });
  const back = h('button', { class: 'btn small', type: 'button', disabled: true }, '← Back');
  const more = h('button', { class: 'btn small', type: 'button', disabled: true }, 'Next →');
  // The path to this prefix, each folder a link.
  const parts = prefix.split('/').slice(0, -1);
  const trail = h('nav', { class: 'crumbs', 'aria-label': 'folders', 'data-folders': '' }, link(bucketHref(bucket), bucket),
    ...parts.flatMap((p, i) => [h('span', { class: 'sep' }, '/'), link(bucketHref(bucket, `${parts.slice(0, i + 1).join('/')}/`), p)]));
  const slot = new Slot();
  slot.el.append(card(null, h('div', { class: 'card-head' }, trail, counts, back, more), table.el));
  ctx.root.append(pageHeader(bucket, [['Buckets', '#/buckets']]), slot.el);

  const load = async () => {
    const q = new URLSearchParams({ prefix, delimiter: '/', limit: String(PAGE) });
    if (token) q.set('token', token);
    const page = await getJson<ObjectsPage>(`/v1/buckets/${encodeURIComponent(bucket)}/objects?${q}`, ctx.signal);
    slot.clear();
    next = page.nextToken;
    const rows: Entry[] = [...page.prefixes.map((key) => ({ kind: 'prefix' as const, key })), ...page.objects.map((o) => ({ kind: 'object' as const, ...o }))];
    table.rows(rows, prefix ? `nothing under ${prefix}` : 'this bucket is empty');
    counts.textContent = `${plural(page.prefixes.length, 'folder')}, ${plural(page.objects.length, 'object')}${page.truncated ? ' on this page' : ''}`;
    back.disabled = tokens.length === 0;
    more.disabled = !page.truncated;
  };
  const show = (e: unknown) => ctx.signal.aborted || slot.error(e, `Bucket ${bucket}`);
  more.addEventListener('click', () => {
    tokens.push(token);
    token = next;
    void load().catch(show);
  });
  back.addEventListener('click', () => {
    token = tokens.pop();
    void load().catch(show);
  });
  ctx.poll(async () => {
    try {
      await load();
    } catch (e) {
      show(e);
      throw e;
    }
  }, REFRESH_MS);
}

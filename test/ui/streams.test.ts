// The dashboard in a real browser (Debian's chromium) against a real gateway on the sqlite
// engine, open (no keys): the overview and stream pages show the API's numbers for known input,
// the record browser pages exactly, the live tail shows what is appended after it started, the
// theme toggle is remembered; every page loads without a console error. Screenshots of each page,
// light and dark, go to tmp/ui-screenshots/ (git-ignored).
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prettyJson } from '../../ui/json-view.js';
import { get, post, startGateway, type TestGateway } from '../support/gateway.js';
import { BROWSER_TEST_MS, ensureUiBuilt, poll, grouped, launch, openPage, screenshot, type Watched } from './support.js';

const RECORDS = 1234;
const adView = (i: number) => ({ n: i, adId: `ad${i % 37}`, ip: `10.0.${i % 7}.${i % 200}`, tags: ['view', i % 2 ? 'odd' : 'even'], nested: { deep: { i, ok: i % 3 === 0 } } });

let gw: TestGateway;
let browser: Browser;
const opened: Watched[] = [];

async function open(hash: string, colorScheme: 'light' | 'dark' = 'light'): Promise<Watched> {
  const w = await openPage(browser, { colorScheme });
  opened.push(w);
  await w.page.goto(`${gw.url}/ui/${hash}`);
  return w;
}

/** The records the browser shows: where each is and its value parsed back from the page. */
function shown(page: Page) {
  return page.$$eval('[data-records] article.record', (els) => els.map((e) => ({
    partition: Number((e as HTMLElement).dataset.partition),
    offset: Number((e as HTMLElement).dataset.offset),
    value: JSON.parse(e.querySelector('pre')!.textContent!),
  })));
}

async function recordsOf(stream: string, partition: number) {
  const r = await get(`${gw.url}/v1/streams/${stream}/records?partition=${partition}&from=0&limit=10000`);
  return (r.body.records as { partition: number; offset: number; value: unknown }[]).map(({ partition: p, offset, value }) => ({ partition: p, offset, value }));
}

beforeAll(async () => {
  ensureUiBuilt();
  gw = await startGateway();
  expect((await post(`${gw.url}/v1/streams`, { name: 'ad-views', partitions: 3, partitionKeyField: 'adId' })).status).toBe(201);
  expect((await post(`${gw.url}/v1/streams`, { name: 'empty', partitions: 1 })).status).toBe(201);
  const appended = await post(`${gw.url}/v1/streams/ad-views/records`, Array.from({ length: RECORDS }, (_, i) => adView(i)));
  expect(appended.body).toMatchObject({ stored: RECORDS, failed: 0 });
  browser = await launch();
}, BROWSER_TEST_MS);

afterAll(async () => {
  await browser?.close();
  await gw?.close();
});

describe('the dashboard on an open gateway', { timeout: BROWSER_TEST_MS }, () => {
  it('serves the overview with the engine, version, uptime and ingest figures of GET /v1/observe/overview, without a console error', async () => {
    const { page, errors } = await open('');
    await poll(() => page.textContent('[data-stat=engine] .stat-value')).toBe('sqlite');
    const o = (await get(`${gw.url}/v1/observe/overview`)).body;
    expect(o.ingest.records).toBe(RECORDS);
    expect(await page.textContent('[data-stat=ingest] .stat-sub')).toBe(`${grouped(RECORDS)} records since start`);
    expect(await page.textContent('[data-stat=version] .stat-value')).toBe(o.version);
    expect(await page.textContent('[data-stat=streams] .stat-value')).toBe(grouped(o.streams));
    expect(await page.textContent('[data-stat=engine] .stat-sub')).toBe('open gateway: no keys');
    expect(await page.textContent('[data-table=pipelines] td.empty')).toBe('no pipelines run in this gateway');
    expect(await page.locator('.chart[data-chart="ingest.records"]').count()).toBe(1);
    expect(await page.locator('.nav-link.active').textContent()).toBe('Overview');
    expect(errors).toEqual([]);
  });

  it('lists the streams with their partitions and records', async () => {
    const { page, errors } = await open('#/streams');
    const row = page.locator('[data-table=streams] tr[data-row="ad-views"]');
    await poll(() => row.locator('[data-field=records]').textContent()).toBe(grouped(RECORDS));
    expect(await row.locator('[data-field=partitions]').textContent()).toBe('3');
    expect(await row.locator('[data-field=retention]').textContent()).toBe('7d');
    expect(await row.locator('[data-field=keyField]').textContent()).toBe('adId');
    expect(await page.locator('[data-table=streams] tr[data-row="empty"] [data-field=records]').textContent()).toBe('0');
    await row.locator('a').click();
    await poll(() => page.textContent('.page-header h1')).toBe('ad-views');
    expect(await page.evaluate(() => location.hash)).toMatch(/^#\/streams\/ad-views(\?|$)/); // (the record browser then adds where it reads)
    expect(errors).toEqual([]);
  });

  it("shows a stream's partition offsets and bytes as GET /v1/streams/{name} gives them", async () => {
    const { page, errors } = await open('#/streams/ad-views');
    await page.waitForSelector('[data-table=partitions] tr[data-row="2"]');
    const d = (await get(`${gw.url}/v1/streams/ad-views`)).body;
    expect(d.partitionInfo).toHaveLength(3);
    let bytes = 0;
    for (const p of d.partitionInfo) {
      const row = page.locator(`[data-table=partitions] tr[data-row="${p.partition}"]`);
      expect(await row.locator('[data-field=earliest]').textContent()).toBe(grouped(p.earliest));
      expect(await row.locator('[data-field=next]').textContent()).toBe(grouped(p.next));
      expect(await row.locator('[data-field=records]').textContent()).toBe(grouped(p.next - p.earliest));
      expect(typeof p.bytes).toBe('number');
      expect(p.bytes).toBeGreaterThan(0);
      expect(await row.locator('[data-bytes]').getAttribute('data-bytes')).toBe(String(p.bytes));
      expect(await row.locator('[data-bytes]').textContent()).toBe(`${grouped(p.bytes)} B`);
      bytes += p.bytes;
    }
    expect(d.partitionInfo.reduce((n: number, p: { next: number; earliest: number }) => n + p.next - p.earliest, 0)).toBe(RECORDS);
    expect(await page.textContent('[data-stat=records] .stat-value')).toBe(grouped(RECORDS));
    expect(await page.textContent('[data-stat=partitions] .stat-value')).toBe('3');
    expect(await page.textContent('[data-stat=bytes] .stat-sub')).toBe(`${grouped(bytes)} bytes`);
    expect(await page.textContent('[data-stat=keyField] .stat-value')).toBe('adId');
    expect(d.consumers).toEqual([]);
    expect(await page.textContent('[data-consumers]')).toBe('No pipeline reads this stream.');
    expect(errors).toEqual([]);
  });

  it('pages through a partition forward and back, showing exactly its records, pretty-printed', async () => {
    const { page, errors } = await open('#/streams/ad-views');
    const all = await recordsOf('ad-views', 1);
    expect(all.length).toBeGreaterThan(30);
    await page.waitForSelector('[data-records] article.record');
    await page.selectOption('select[name=limit]', '10');
    await page.selectOption('select[name=partition]', '1');
    const at = (from: number) => all.slice(from, from + 10);
    await poll(() => shown(page)).toEqual(at(0));
    expect(await page.isDisabled('[data-action=prev]')).toBe(true);
    for (const from of [10, 20]) {
      await page.click('[data-action=next]');
      await poll(() => shown(page)).toEqual(at(from));
    }
    expect(await page.textContent('[data-range]')).toBe(`partition 1 · offsets ${grouped(all[20]!.offset)}–${grouped(all[29]!.offset)} · 10 records`);
    expect(await page.evaluate(() => location.hash)).toBe(`#/streams/ad-views?partition=1&from=${all[20]!.offset}&limit=10`);
    for (const from of [10, 0]) {
      await page.click('[data-action=prev]');
      await poll(() => shown(page)).toEqual(at(from));
    }
    expect(await page.isDisabled('[data-action=prev]')).toBe(true);
    // Pretty-printed: a field a line, short arrays and objects inline.
    const first = all[0]!.value as ReturnType<typeof adView>;
    const text = await page.locator('[data-records] article.record pre').first().textContent();
    expect(text).toBe(prettyJson(first));
    expect(text!.split('\n').slice(0, 3)).toEqual(['{', `  "n": ${first.n},`, `  "adId": "${first.adId}",`]);
    // The last page, then back from it.
    await page.click('[data-action=last]');
    await poll(() => shown(page)).toEqual(all.slice(-10));
    expect(await page.isDisabled('[data-action=next]')).toBe(true);
    await page.click('[data-action=prev]');
    await poll(() => shown(page)).toEqual(all.slice(-20, -10));
    expect(errors).toEqual([]);
  });

  it('opens a deep link at an offset and goes back before it', async () => {
    const all = await recordsOf('ad-views', 2);
    const { page, errors } = await open('#/streams/ad-views?partition=2&from=5&limit=10');
    await poll(() => shown(page)).toEqual(all.slice(5, 15));
    expect(await page.inputValue('select[name=partition]')).toBe('2');
    await page.click('[data-action=prev]');
    await poll(() => shown(page)).toEqual(all.slice(0, 5));
    expect(errors).toEqual([]);
  });

  it('reads from a time: the records that arrived from then on', async () => {
    expect((await post(`${gw.url}/v1/streams`, { name: 'clicks', partitions: 1 })).status).toBe(201);
    await post(`${gw.url}/v1/streams/clicks/records`, Array.from({ length: 30 }, (_, i) => ({ batch: 1, i })));
    const second = Math.floor(Date.now() / 1000) * 1000 + 1000; // the next whole second (the input takes seconds)
    await new Promise((r) => setTimeout(r, second - Date.now() + 20));
    await post(`${gw.url}/v1/streams/clicks/records`, Array.from({ length: 20 }, (_, i) => ({ batch: 2, i })));
    const { page, errors } = await open('#/streams/clicks');
    await page.waitForSelector('[data-records] article.record');
    await page.selectOption('select[name=mode]', 'time');
    const local = await page.evaluate((t) => {
      const d = new Date(t);
      const p = (n: number) => String(n).padStart(2, '0');
      return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
    }, second);
    await page.fill('input[name=time]', local);
    await page.click('form[data-browser-form] button[type=submit]');
    const all = await recordsOf('clicks', 0);
    await poll(() => shown(page)).toEqual(all.slice(30, 50));
    expect((await shown(page)).map((r) => r.value)).toEqual(Array.from({ length: 20 }, (_, i) => ({ batch: 2, i })));
    expect(errors).toEqual([]);
  });

  it('tails records appended after it started, newest first, until stopped', async () => {
    const { page, errors } = await open('#/streams/ad-views?view=tail');
    await page.waitForSelector('[data-table=partitions] tr[data-row="0"]');
    await page.click('[data-action=tail]');
    await poll(() => page.getAttribute('[data-tail-state]', 'data-tail-state')).toBe('live');
    const values = Array.from({ length: 5 }, (_, i) => ({ tail: i, adId: `ad${i}` }));
    const { body } = await post(`${gw.url}/v1/streams/ad-views/records`, values);
    const rows = () => page.$$eval('[data-tail] article.record', (els) => els.map((e) => ({
      partition: Number((e as HTMLElement).dataset.partition), offset: Number((e as HTMLElement).dataset.offset), value: JSON.parse(e.querySelector('pre')!.textContent!),
    })));
    await poll(async () => (await rows()).length).toBe(5);
    const want = values.map((value, i) => ({ ...body.results[i], value }));
    const got = await rows();
    expect([...got].sort((a, b) => a.value.tail - b.value.tail)).toEqual(want);
    for (let i = 1; i < got.length; i++) if (got[i]!.partition === got[i - 1]!.partition) expect(got[i]!.offset).toBeLessThan(got[i - 1]!.offset);
    expect(await page.textContent('[data-tail-count]')).toBe('5 received');
    await page.click('[data-action=tail]');
    expect(await page.getAttribute('[data-tail-state]', 'data-tail-state')).toBe('stopped');
    await post(`${gw.url}/v1/streams/ad-views/records`, [{ tail: 99, adId: 'ad0' }]);
    await page.waitForTimeout(300);
    expect((await rows()).length).toBe(5);
    expect(errors).toEqual([]);
  });

  it('switches to dark and remembers it in localStorage; "system" follows prefers-color-scheme', async () => {
    const { page, errors } = await open('#/streams', 'light');
    await page.waitForSelector('[data-theme-choice=dark]');
    expect(await page.getAttribute('html', 'data-theme')).toBe('light');
    await page.click('[data-theme-choice=dark]');
    expect(await page.getAttribute('html', 'data-theme')).toBe('dark');
    expect(await page.evaluate(() => localStorage.getItem('sluice.theme'))).toBe('dark');
    await page.reload();
    await page.waitForSelector('[data-theme-choice=dark][aria-pressed=true]');
    expect(await page.getAttribute('html', 'data-theme')).toBe('dark');
    await page.click('[data-theme-choice=system]');
    expect(await page.getAttribute('html', 'data-theme')).toBe('light');
    await page.emulateMedia({ colorScheme: 'dark' });
    await poll(() => page.getAttribute('html', 'data-theme')).toBe('dark');
    expect(await page.evaluate(() => localStorage.getItem('sluice.theme'))).toBe(null);
    expect(errors).toEqual([]);
  });

  it('shows a missing stream as the gateway says it', async () => {
    const { page } = await open('#/streams/nope');
    await poll(() => page.textContent('.note.error')).toBe("Stream nope: stream 'nope' does not exist (404 StreamNotFound)");
  });

  it('renders every page light and dark without a console error (screenshots in tmp/ui-screenshots)', async () => {
    for (const scheme of ['light', 'dark'] as const) {
      const { page, errors, urls } = await open('', scheme);
      const shots: [string, string, string][] = [
        ['overview', '', '[data-stat=engine] .stat-value:text("sqlite")'],
        ['streams', '#/streams', '[data-table=streams] tr[data-row="ad-views"]'],
        ['stream', '#/streams/ad-views', '[data-records] article.record'],
        ['pipelines-empty', '#/pipelines', '[data-table=pipelines] td.empty'],
      ];
      for (const [name, hash, ready] of shots) {
        await page.goto(`${gw.url}/ui/${hash}`);
        await page.waitForSelector(ready);
        await page.waitForTimeout(250); // charts draw on the next frame
        await screenshot(page, `${name}-${scheme}`);
      }
      await page.goto(`${gw.url}/ui/#/streams/ad-views?view=tail`);
      await page.waitForSelector('[data-table=partitions] tr[data-row="0"]');
      await page.click('[data-action=tail]');
      await poll(() => page.getAttribute('[data-tail-state]', 'data-tail-state')).toBe('live');
      await post(`${gw.url}/v1/streams/ad-views/records`, Array.from({ length: 8 }, (_, i) => adView(RECORDS + i)));
      await page.waitForSelector('[data-tail] article.record >> nth=7');
      await screenshot(page, `stream-tail-${scheme}`);
      expect(errors).toEqual([]);
      // Nothing from the internet: no CDN, no web fonts (the favicon is a data: URL).
      expect(urls.filter((u) => !u.startsWith(`${gw.url}/`) && !u.startsWith('data:'))).toEqual([]);
    }
  });
});

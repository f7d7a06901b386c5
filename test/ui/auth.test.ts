// The dashboard on a gateway with API keys, in a real browser: the page loads without a key,
// asks for one on the first 401, says so when a key is refused and asks again, works with the
// right one (live tail included: it is read with fetch, so the key goes in a header), keeps it for
// the browser session only, and never puts it in a URL. A key without the metrics scope is told
// what it lacks.
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey } from '../../src/gateway/auth/api-keys.js';
import { post, startGateway, type TestGateway } from '../support/gateway.js';
import { BROWSER_TEST_MS, ensureUiBuilt, poll, launch, openPage, screenshot, type Watched } from './support.js';

const admin = createApiKey('admin');
const reader = createApiKey('reader');
/** Chromium logs every 4xx answer to a fetch as a console error; the refusals this test provokes are expected. */
const REFUSAL = /^Failed to load resource: the server responded with a status of 40[13] /;

let gw: TestGateway;
let browser: Browser;

const auth = { authorization: `Bearer ${admin.key}` };
const dialog = (page: Page) => page.locator('dialog.key-dialog');

async function enterKey(page: Page, key: string): Promise<void> {
  await dialog(page).locator('input[name=key]').fill(key);
  await dialog(page).locator('button[type=submit]').click();
}

/** What the page did with the key: every URL it asked for, and where the key went. */
function leaks(w: Watched, key: string): string[] {
  const secret = key.split('.').pop()!;
  return w.urls.filter((u) => u.includes(secret) || decodeURIComponent(u).includes(secret));
}

beforeAll(async () => {
  ensureUiBuilt();
  gw = await startGateway({
    principals: [
      { id: 'admin', apiKeyHash: admin.hash, scopes: { '*': ['admin'] } },
      { id: 'reader', apiKeyHash: reader.hash, scopes: { 'ad-views': ['read'] } },
    ],
  });
  expect((await post(`${gw.url}/v1/streams`, { name: 'ad-views', partitions: 2 }, auth)).status).toBe(201);
  expect((await post(`${gw.url}/v1/streams/ad-views/records`, [{ n: 1 }, { n: 2 }, { n: 3 }], auth)).body.stored).toBe(3);
  browser = await launch();
}, BROWSER_TEST_MS);

afterAll(async () => {
  await browser?.close();
  await gw?.close();
});

describe('the dashboard on a gateway with API keys', { timeout: BROWSER_TEST_MS }, () => {
  it('loads without a key, asks for one, refuses a wrong key with a message and asks again, then works with the right key', async () => {
    const w = await openPage(browser);
    const { page, errors } = w;
    const index = await page.goto(`${gw.url}/ui/`);
    expect(index!.status()).toBe(200);
    await dialog(page).waitFor();
    expect(await dialog(page).locator('[role=alert]').textContent()).toBe('This gateway needs an API key.');
    await screenshot(page, 'key-prompt-light');

    await enterKey(page, 'sluice.admin.wrong-key-wrong-key-wrong');
    await poll(() => dialog(page).locator('[role=alert]').textContent()).toBe('The gateway refused this key: invalid API key.');
    expect(await dialog(page).locator('[role=alert]').getAttribute('class')).toContain('error');
    await screenshot(page, 'key-refused-light');

    await enterKey(page, admin.key);
    await poll(() => page.textContent('[data-stat=engine] .stat-value')).toBe('sqlite');
    expect(await dialog(page).count()).toBe(0);
    expect(await page.textContent('[data-stat=engine] .stat-sub')).toBe('API keys required');
    expect(await page.evaluate(() => sessionStorage.getItem('sluice.apiKey'))).toBe(admin.key);
    expect(await page.evaluate(() => localStorage.getItem('sluice.apiKey'))).toBe(null);

    // The key is in a header of the API requests, in no URL.
    const sent: (string | undefined)[] = [];
    page.on('request', (r) => r.url().includes('/v1/') && sent.push(r.headers().authorization));
    await page.goto(`${gw.url}/ui/#/streams/ad-views`);
    await page.waitForSelector('[data-records] article.record');
    expect(sent.length).toBeGreaterThan(0);
    expect(new Set(sent)).toEqual(new Set([`Bearer ${admin.key}`]));
    expect(leaks(w, admin.key)).toEqual([]);
    expect(await page.evaluate(() => location.href)).not.toContain(admin.key.split('.').pop()!);
    expect(errors.filter((e) => !REFUSAL.test(e))).toEqual([]);
  });

  it('tails with the key (fetch sends it; EventSource could not)', async () => {
    const w = await openPage(browser);
    const { page, errors } = w;
    await page.goto(`${gw.url}/ui/#/streams/ad-views?view=tail`);
    await enterKey(page, admin.key);
    await page.waitForSelector('[data-table=partitions] tr[data-row="1"]');
    await page.click('[data-action=tail]');
    await poll(() => page.getAttribute('[data-tail-state]', 'data-tail-state')).toBe('live');
    await post(`${gw.url}/v1/streams/ad-views/records`, [{ tailed: 1 }, { tailed: 2 }], auth);
    await poll(() => page.locator('[data-tail] article.record').count()).toBe(2);
    const tails = w.urls.filter((u) => u.includes('/tail'));
    expect(tails).toEqual([`${gw.url}/v1/streams/ad-views/tail?from=latest`]);
    expect(leaks(w, admin.key)).toEqual([]);
    expect(errors.filter((e) => !REFUSAL.test(e))).toEqual([]);
  });

  it('asks once per browser session: a reload keeps the key, a new session asks again', async () => {
    const w = await openPage(browser);
    const { page, errors } = w;
    await page.goto(`${gw.url}/ui/`);
    await enterKey(page, admin.key);
    await page.waitForSelector('[data-stat=engine] .stat-value:text("sqlite")');
    await page.reload();
    await page.waitForSelector('[data-stat=engine] .stat-value:text("sqlite")');
    expect(await dialog(page).count()).toBe(0);
    await page.click('[data-key-state] button'); // forget
    expect(await page.evaluate(() => sessionStorage.getItem('sluice.apiKey'))).toBe(null);
    await dialog(page).waitFor();
    const fresh = await openPage(browser);
    await fresh.page.goto(`${gw.url}/ui/#/streams`);
    await dialog(fresh.page).waitFor();
    expect(errors.filter((e) => !REFUSAL.test(e))).toEqual([]);
  });

  it('tells a key without the metrics scope what it lacks; cancelled, the page says a key is needed; the streams it may read still show', async () => {
    const { page, errors } = await openPage(browser);
    await page.goto(`${gw.url}/ui/`);
    await enterKey(page, reader.key);
    await poll(() => dialog(page).locator('[role=alert]').textContent())
      .toBe("This key may not do that: key 'reader' may not read metrics: it needs admin on '*' or the scope '$metrics'. Metrics and pipelines need the scope '$metrics': ['read'] or admin on '*'.");
    await dialog(page).locator('button:text("Cancel")').click();
    await poll(() => page.textContent('.note.error')).toContain('Overview: an API key is needed');
    await page.goto(`${gw.url}/ui/#/streams/ad-views`);
    await page.waitForSelector('[data-records] article.record');
    expect(await dialog(page).count()).toBe(0);
    expect(await page.locator('[data-records] article.record').count()).toBeGreaterThanOrEqual(1);
    expect(errors.filter((e) => !REFUSAL.test(e))).toEqual([]);
  });
});

// The dashboard's dependencies page in a real browser against a real gateway whose process calls
// two dependencies through the resilience policies: 'postgres', refused for good (its breaker
// opens, later calls are refused without an attempt) and 'webhook:…', whose calls succeed after a
// retry. The page shows what GET /v1/observe/dependencies says: breaker states, calls, attempts,
// retries and their ratio, refusals, transitions, the server-wide budget, a chart per dependency.
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Dependencies } from '../../src/resilience/index.js';
import { get, startGateway, type TestGateway } from '../support/gateway.js';
import { BROWSER_TEST_MS, ensureUiBuilt, grouped, launch, openPage, poll, screenshot, type Watched } from './support.js';

let gw: TestGateway;
let browser: Browser;
const opened: Watched[] = [];
const deps = new Dependencies();
const WEBHOOK = 'webhook:http://127.0.0.1:9';

const refused = () => Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });

async function open(hash: string, colorScheme: 'light' | 'dark' = 'light'): Promise<Watched> {
  const w = await openPage(browser, { colorScheme });
  opened.push(w);
  await w.page.goto(`${gw.url}/ui/${hash}`);
  return w;
}

beforeAll(async () => {
  ensureUiBuilt();
  gw = await startGateway();
  gw.gw.dependencies = deps;
  gw.gw.observer.watchDependencies(() => deps.stats());
  const retry = { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 1 };
  const pg = deps.policyFor('postgres', { retry, breaker: { minimumCalls: 4, window: { kind: 'count', size: 4 }, openMs: 600_000 } });
  for (let i = 0; i < 6; i++) await pg.execute(async () => { throw refused(); }).catch(() => {});
  const hook = deps.policyFor(WEBHOOK, { retry });
  for (let i = 0; i < 3; i++) {
    let first = true;
    await hook.execute(async () => {
      if (first) {
        first = false;
        throw refused();
      }
      return 'ok';
    });
  }
  browser = await launch();
}, BROWSER_TEST_MS);

afterAll(async () => {
  await browser?.close();
  deps.dispose();
  await gw?.close();
});

describe("the dashboard's dependencies", { timeout: BROWSER_TEST_MS }, () => {
  it('shows each dependency as GET /v1/observe/dependencies does: the open breaker, its refusals, and the retries per call', async () => {
    const { page, errors } = await open('#/dependencies');
    await page.locator('[data-table=dependencies] tr[data-row=postgres]').waitFor();
    const v = (await get(`${gw.url}/v1/observe/dependencies`)).body;
    expect(v.dependencies.map((d: { name: string }) => d.name)).toEqual(['postgres', WEBHOOK]);
    const pg = v.dependencies[0];
    // Two calls of two failed attempts fill the window of 4 and open the breaker; the other four are refused, not retried.
    expect(pg).toMatchObject({ calls: 6, failures: 6, attempts: 8, retries: 2, breakerRejections: 4, breakerState: 'open', breakerTransitions: { open: 1, 'half-open': 0, closed: 0 } });
    const cell = (name: string, field: string) => page.locator(`[data-table=dependencies] tr[data-row="${name}"] [data-field=${field}]`).textContent();
    expect(await page.locator('[data-table=dependencies] tr[data-row=postgres] [data-breaker]').textContent()).toBe('open');
    expect(await cell('postgres', 'calls')).toBe('6');
    expect(await cell('postgres', 'failures')).toBe('6');
    expect(await cell('postgres', 'attempts')).toBe('8');
    expect(await cell('postgres', 'retries')).toBe('2');
    expect(await cell('postgres', 'ratio')).toBe('0.33');
    expect(await cell('postgres', 'breakerRejections')).toBe('4');
    expect(await cell('postgres', 'transitions')).toBe('1 / 0 / 0');
    expect(await page.locator(`[data-table=dependencies] tr[data-row="${WEBHOOK}"] [data-breaker]`).textContent()).toBe('closed');
    expect(await cell(WEBHOOK, 'calls')).toBe('3');
    expect(await cell(WEBHOOK, 'failures')).toBe('0');
    expect(await cell(WEBHOOK, 'attempts')).toBe('6');
    expect(await cell(WEBHOOK, 'ratio')).toBe('1');
    expect(await page.locator('[data-stat=open] .stat-value').textContent()).toBe('1');
    expect(await page.locator('[data-stat=open] .stat-sub').textContent()).toBe('postgres');
    expect(await page.locator('[data-stat=count] .stat-value').textContent()).toBe('2');
    await poll(() => page.locator('[data-stat=serverBudget] .stat-value').textContent()).toBe(grouped(Math.floor((await get(`${gw.url}/v1/observe/dependencies`)).body.serverBudget.balance)));
    expect(await page.$$eval('[data-charts] [data-chart]', (els) => els.map((e) => e.getAttribute('data-chart')))).toEqual(['postgres', WEBHOOK]);
    expect(errors).toEqual([]);
  });

  it('renders in light and dark (screenshots in tmp/ui-screenshots)', async () => {
    for (const scheme of ['light', 'dark'] as const) {
      const { page, errors } = await open('#/dependencies', scheme);
      await page.locator('[data-table=dependencies] tr[data-row]').first().waitFor();
      await screenshot(page, `dependencies-${scheme}`);
      expect(errors).toEqual([]);
    }
  });
});

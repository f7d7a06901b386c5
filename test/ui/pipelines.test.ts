// The dashboard's pipeline pages in a real browser against a real gateway whose observer watches
// the campaign pipeline (test/dataflow/fixtures/campaigns.ts) running over known input: the
// operator graph shows the plan's steps and edges, the keyed steps and the bars per key group the
// units of GET /v1/pipelines/{name}, late and error counts link to their streams in the record
// browser, the input stream shows the pipeline's consumer offsets. Screenshots light and dark.
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PipelineRun } from '../../src/dataflow/runtime/runner.js';
import { campaignPipeline, type Ad, type View } from '../dataflow/fixtures/campaigns.js';
import { get, post, startGateway, type TestGateway } from '../support/gateway.js';
import { tempDir } from '../support/tmp.js';
import { stepName } from '../../ui/pages/skew.js';
import { BROWSER_TEST_MS, ensureUiBuilt, poll, grouped, launch, openPage, screenshot, type Watched } from './support.js';

const KEY_GROUPS = 4;
const ads: Ad[] = Array.from({ length: 20 }, (_, i) => ({ adId: `a${i}`, campaignId: `c${i % 3}`, ts: i * 1000 }));
const views: View[] = Array.from({ length: 400 }, (_, i) => ({ adId: `a${i % 20}`, ts: 30_000 + i * 10, ip: i % 9 === 0 ? 'bot' : `10.0.0.${i % 50}`, cost: i % 5 }));
/** Appended after the views in a batch of its own: older than its partition's watermark, so late for the join. */
const LATE: View = { adId: 'a1', ts: 0, ip: '10.9.9.9', cost: 7 };

let gw: TestGateway;
let run: PipelineRun;
let browser: Browser;
const opened: Watched[] = [];

async function open(hash: string, colorScheme: 'light' | 'dark' = 'light'): Promise<Watched> {
  const w = await openPage(browser, { colorScheme });
  opened.push(w);
  await w.page.goto(`${gw.url}/ui/${hash}`);
  return w;
}

const view = async () => (await get(`${gw.url}/v1/pipelines/campaigns`)).body;
const sourceRecords = () => run.unitStats().filter((s) => s.unit.startsWith('s.')).reduce((n, s) => n + s.records, 0);

beforeAll(async () => {
  ensureUiBuilt();
  gw = await startGateway();
  await post(`${gw.url}/v1/streams`, { name: 'ads', partitions: 2 });
  await post(`${gw.url}/v1/streams`, { name: 'views', partitions: 3 });
  expect((await post(`${gw.url}/v1/streams/ads/records?format=envelope`, ads.map((a) => ({ key: a.adId, value: a })))).body.stored).toBe(ads.length);
  expect((await post(`${gw.url}/v1/streams/views/records?format=envelope`, views.map((v) => ({ key: v.adId, value: v })))).body.stored).toBe(views.length);
  expect((await post(`${gw.url}/v1/streams/views/records?format=envelope`, [{ key: LATE.adId, value: LATE }])).body.stored).toBe(1);
  const observer = gw.gw.observer;
  run = await PipelineRun.start(gw.engine, campaignPipeline(), { tablesPath: join(tempDir(), 'tables.db'), keyGroups: KEY_GROUPS, metrics: observer.metrics });
  observer.watch([run]);
  const total = ads.length + views.length + 1;
  for (let i = 0; i < 1000 && !(sourceRecords() === total && run.idle); i++) await new Promise((r) => setTimeout(r, 20));
  expect(sourceRecords()).toBe(total);
  browser = await launch();
}, BROWSER_TEST_MS);

afterAll(async () => {
  await browser?.close();
  await run?.stop();
  await gw?.close();
});

describe("the dashboard's pipelines", { timeout: BROWSER_TEST_MS }, () => {
  it('lists the pipeline with its health, key groups, workers and units', async () => {
    const { page, errors } = await open('#/pipelines');
    const row = page.locator('[data-table=pipelines] tr[data-row="campaigns"]');
    await row.waitFor();
    const [p] = (await get(`${gw.url}/v1/pipelines`)).body.pipelines;
    expect(await row.locator('[data-health]').textContent()).toBe(p.health);
    expect(p.health).toBe('ok');
    expect(await row.locator('[data-field=keyGroups]').textContent()).toBe(String(KEY_GROUPS));
    expect(await row.locator('[data-field=workers]').textContent()).toBe(String(p.workers));
    expect(await row.locator('[data-field=units]').textContent()).toBe(grouped(p.units));
    await row.locator('a').click();
    await poll(() => page.evaluate(() => location.hash)).toBe('#/pipelines/campaigns');
    expect(errors).toEqual([]);
  });

  it('draws the plan: every step of GET /v1/pipelines/{name} as a node, every edge with its rate, left to right by depth', async () => {
    const { page, errors } = await open('#/pipelines/campaigns');
    await page.waitForSelector('[data-graph=campaigns] g.node');
    const v = await view();
    const nodes = await page.$$eval('[data-graph=campaigns] g.node', (els) => els.map((e) => ({
      id: Number(e.getAttribute('data-node')), kind: e.getAttribute('data-kind'), label: e.querySelector('title')!.textContent,
      x: Number(/translate\(([\d.]+)/.exec(e.getAttribute('transform')!)![1]),
    })));
    expect(nodes.map((n) => n.id).sort((a, b) => a - b)).toEqual(v.graph.nodes.map((n: { id: number }) => n.id).sort((a: number, b: number) => a - b));
    for (const n of v.graph.nodes) {
      const shown = nodes.find((x) => x.id === n.id)!;
      expect(shown.kind).toBe(n.kind);
      expect(shown.label).toBe(`${n.keyed ? `${n.kind} · keyed` : n.kind}: ${n.label}`);
    }
    // The campaign plan: sources, a filter, the join and the window (keyed), the table sink.
    expect(v.graph.nodes.map((n: { kind: string }) => n.kind).sort()).toEqual(['filter', 'join', 'sink', 'source', 'source', 'window'].sort());
    const x = (kind: string) => nodes.filter((n) => n.kind === kind).map((n) => n.x);
    expect(Math.max(...x('source'))).toBeLessThan(Math.min(...x('filter')));
    expect(Math.max(...x('filter'))).toBeLessThan(Math.min(...x('join')));
    expect(Math.max(...x('join'))).toBeLessThan(Math.min(...x('window')));
    expect(Math.max(...x('window'))).toBeLessThan(Math.min(...x('sink')));
    expect(await page.locator('[data-graph=campaigns] g.n-keyed').count()).toBe(2);
    for (const e of v.graph.edges) {
      expect(await page.locator(`[data-graph=campaigns] path[data-edge="${e.from}-${e.to}"]`).count()).toBe(1);
      expect(await page.locator(`[data-graph=campaigns] [data-edge-rate="${e.from}-${e.to}"]`).textContent()).toMatch(/\/s$/);
    }
    // An edge carries what its `from` node emitted: the ads source emitted every ad.
    const fromAds = v.graph.nodes.find((n: { kind: string; stream?: string }) => n.kind === 'source' && n.stream === 'ads').id;
    expect(await page.locator(`[data-graph=campaigns] path[data-edge^="${fromAds}-"]`).getAttribute("data-records")).toBe(String(ads.length));
    // Sources link to their streams in the record browser.
    expect(await page.locator('[data-graph=campaigns] a:has(g[data-kind=source])').evaluateAll((as) => as.map((a) => a.getAttribute('href')).sort())).toEqual(['#/streams/ads', '#/streams/views']);
    expect(errors).toEqual([]);
  });

  it('shows each keyed step with its watermark, and one bar per key group with the units\' records', async () => {
    const { page, errors } = await open('#/pipelines/campaigns');
    await page.waitForSelector('[data-table=steps] tr[data-row]');
    const v = await view();
    expect(v.steps).toHaveLength(2);
    for (const st of v.steps) {
      const row = page.locator(`[data-table=steps] tr[data-row="${st.node}"]`);
      const node = v.graph.nodes.find((n: { id: number }) => n.id === st.node);
      expect(await row.locator('[data-field=step]').textContent()).toBe(stepName(node));
      expect(await row.locator('[data-field=records]').textContent()).toBe(grouped(st.records));
      expect(st.watermark).not.toBeNull();
      expect(await row.locator('[data-field=watermark]').textContent()).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}$/);
    }
    await page.click('[data-measure=records]');
    for (const st of v.steps) {
      const bars = await page.$$eval(`[data-skew="node-${st.node}"] .bar-slot`, (els) => els.map((e) => [e.getAttribute('data-unit'), Number(e.getAttribute('data-value'))]));
      const units = v.units.filter((u: { kind: string; node: number }) => u.kind === 'keyed' && u.node === st.node).sort((a: { group: number }, b: { group: number }) => a.group - b.group);
      expect(bars).toHaveLength(KEY_GROUPS);
      expect(bars).toEqual(units.map((u: { unit: string; records: number }) => [u.unit, u.records]));
    }
    const partitions = await page.$$eval('[data-skew="source-views"] .bar-slot', (els) => els.map((e) => Number(e.getAttribute('data-value'))));
    expect(partitions.reduce((a, b) => a + b, 0)).toBe(views.length + 1);
    expect(errors).toEqual([]);
  });

  it('counts late records and errors as the API does, linked to the late and error streams in the record browser', async () => {
    const { page, errors } = await open('#/pipelines/campaigns');
    const late = page.locator('[data-link=late]');
    await late.waitFor();
    const o = (await get(`${gw.url}/v1/observe/overview`)).body.pipelines.find((p: { name: string }) => p.name === 'campaigns');
    expect(o.late).toBe(1);
    expect(await late.textContent()).toBe(grouped(o.late));
    expect(await late.getAttribute('href')).toBe('#/streams/campaigns-late');
    expect(await page.textContent('[data-link=errors]')).toBe(grouped(o.errors));
    expect(await page.getAttribute('[data-link=errors]', 'href')).toBe('#/streams/campaigns-errors');
    const v = await view();
    await poll(async () => page.textContent('[data-stat=epochs] .stat-value')).toBe(grouped((await view()).units.reduce((n: number, u: { epochs: number }) => n + u.epochs, 0)));
    expect(await page.textContent('[data-stat=units] .stat-value')).toBe(grouped(v.units.length));
    await late.click();
    await page.waitForSelector('[data-records] article.record');
    const records = await page.$$eval('[data-records] article.record pre', (els) => els.map((e) => JSON.parse(e.textContent!)));
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({ source: 'views', value: LATE, eventTime: LATE.ts });
    expect(errors).toEqual([]);
  });

  it("shows the pipeline's committed offsets and lag on its input stream's page", async () => {
    const { page, errors } = await open('#/streams/views');
    const group = page.locator('[data-consumers] [data-group="pipeline:campaigns"]');
    await group.waitFor();
    const d = (await get(`${gw.url}/v1/streams/views`)).body;
    const [c] = d.consumers;
    expect(c.group).toBe('pipeline:campaigns');
    for (const p of c.partitions) {
      const row = group.locator(`tr[data-row="${p.partition}"]`);
      expect(await row.locator('[data-field=offset]').textContent()).toBe(grouped(p.offset));
      expect(await row.locator('[data-field=lagRecords]').textContent()).toBe(grouped(p.lagRecords));
      expect(p.offset).toBe(d.partitionInfo[p.partition].next);
    }
    expect(await group.locator('.consumer-head .badge').textContent()).toBe('caught up');
    await group.locator('a').click();
    await poll(() => page.evaluate(() => location.hash)).toBe('#/pipelines/campaigns');
    expect(errors).toEqual([]);
  });

  it('renders the pipeline pages light and dark without a console error (screenshots in tmp/ui-screenshots)', async () => {
    for (const scheme of ['light', 'dark'] as const) {
      const { page, errors } = await open('#/pipelines', scheme);
      await page.waitForSelector('[data-table=pipelines] tr[data-row="campaigns"]');
      await screenshot(page, `pipelines-${scheme}`);
      await page.goto(`${gw.url}/ui/#/pipelines/campaigns`);
      await page.waitForSelector('[data-skew] .bar-slot');
      await page.waitForTimeout(250);
      await screenshot(page, `pipeline-${scheme}`);
      await page.goto(`${gw.url}/ui/#/`);
      await page.waitForSelector('[data-table=pipelines] tr[data-row="campaigns"]');
      await page.waitForTimeout(250);
      await screenshot(page, `overview-pipeline-${scheme}`);
      expect(errors).toEqual([]);
    }
  });
});

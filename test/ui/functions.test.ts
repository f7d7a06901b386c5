// The dashboard's functions and buckets pages in a real browser against a real `sluice dev`: a
// stream-triggered function that fails on one record (no retries, so it is discarded), a
// scheduled one, and one triggered by writes to a bucket the AWS SDK puts three objects in. The
// pages show what GET /v1/functions and /v1/buckets say, the logs Lambda-style with the error
// line, the stream trigger per partition, and the bucket as folders. Screenshots light and dark.
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { get, post } from '../support/gateway.js';
import { s3Client } from '../support/s3.js';
import { eventually, startDev, type DevServer } from '../support/sluice.js';
import { tempDir } from '../support/tmp.js';
import { BROWSER_TEST_MS, ensureUiBuilt, grouped, launch, openPage, poll, screenshot, type Watched } from './support.js';

let dev: DevServer;
let browser: Browser;
const opened: Watched[] = [];
const KEYS = ['a/b/report.csv', 'a/c.txt', 'top.txt'];

async function open(hash: string, colorScheme: 'light' | 'dark' = 'light'): Promise<Watched> {
  const w = await openPage(browser, { colorScheme });
  opened.push(w);
  await w.page.goto(`${dev.url}/ui/${hash}`);
  return w;
}

const describeFn = async (name: string) => (await get(`${dev.url}/v1/functions/${name}`)).body;

beforeAll(async () => {
  ensureUiBuilt();
  const dir = tempDir();
  writeFileSync(join(dir, 'rec.mjs'), `export const handler = async (event) => {
  for (const r of event.Records) {
    const v = Buffer.from(r.kinesis.data, 'base64').toString();
    if (v.includes('boom')) throw new Error('boom in ' + r.kinesis.sequenceNumber);
    console.log('got', v);
  }
};\n`);
  writeFileSync(join(dir, 'tick.mjs'), 'export const handler = async () => ({ ok: true });\n');
  writeFileSync(join(dir, 'onup.mjs'), "export const handler = async (event) => { console.log('object', event.Records[0].s3.object.key); };\n");
  writeFileSync(join(dir, 'sluice.config.ts'), `export default ${JSON.stringify({
    streams: { in: { partitions: 1 } },
    buckets: { uploads: {} },
    functions: {
      rec: { handler: './rec.mjs', triggers: [{ stream: 'in', startingPosition: 'TRIM_HORIZON', batchSize: 1, maximumRetryAttempts: 0 }] },
      tick: { handler: './tick.mjs', triggers: [{ schedule: 'rate(1 hour)' }] },
      onup: { handler: './onup.mjs', triggers: [{ object: { bucket: 'uploads', events: ['ObjectCreated:*'] } }] },
    },
  })};\n`);
  dev = await startDev({ dataDir: join(dir, 'data'), config: join(dir, 'sluice.config.ts'), cwd: dir, args: ['--log-level', 'warn'] });
  for (const v of ['one', 'boom', 'three']) expect((await post(`${dev.url}/v1/streams/in/records`, { v })).status).toBe(200);
  const s3 = s3Client(dev.url);
  for (const key of KEYS) await s3.send(new PutObjectCommand({ Bucket: 'uploads', Key: key, Body: `body of ${key}`, ContentType: 'text/plain' }));
  s3.destroy();
  // Settled: the stream trigger is through its three records, the object trigger ran once per object.
  await eventually('the functions to settle', async () => {
    const [rec, onup] = [await describeFn('rec'), await describeFn('onup')];
    const p = rec.mappings[0].partitions[0];
    return p.committedOffset === 3 && p.batchesInFlight === 0 && onup.metrics.Invocations === 3 && onup.asyncQueue.committed === 3 ? true : undefined;
  }, { timeoutMs: 60_000 });
  browser = await launch();
}, BROWSER_TEST_MS);

afterAll(async () => {
  await browser?.close();
  await dev?.stop();
});

describe("the dashboard's functions and buckets", { timeout: BROWSER_TEST_MS }, () => {
  it('lists every function with its triggers and the counts GET /v1/functions gives', async () => {
    const { page, errors } = await open('#/functions');
    await page.locator('[data-table=functions] tr[data-row=rec]').waitFor();
    const { functions } = (await get(`${dev.url}/v1/functions`)).body;
    expect(await page.$$eval('[data-table=functions] tr[data-row]', (rows) => rows.map((r) => r.getAttribute('data-row')))).toEqual(['onup', 'rec', 'tick']);
    for (const f of functions) {
      const row = page.locator(`[data-table=functions] tr[data-row=${f.name}]`);
      expect(await row.locator('[data-field=invocations]').textContent()).toBe(grouped(f.metrics.Invocations));
      expect(await row.locator('[data-field=errors]').textContent()).toBe(grouped(f.metrics.Errors));
      expect(await row.locator('[data-field=concurrent]').textContent()).toBe(`0 of ${f.concurrency}`);
    }
    const text = (name: string, field: string) => page.locator(`[data-table=functions] tr[data-row=${name}] [data-field=${field}]`).textContent();
    expect(await text('rec', 'triggers')).toBe('stream in');
    expect(await text('tick', 'triggers')).toBe('schedule rate(1 hour)');
    expect(await text('onup', 'triggers')).toBe('bucket uploads');
    // Three records, one invocation each (batch size 1); the one with 'boom' failed and was not retried.
    expect(await text('rec', 'invocations')).toBe('3');
    expect(await text('rec', 'errors')).toBe('1');
    expect(await text('onup', 'invocations')).toBe('3');
    expect(await text('tick', 'invocations')).toBe('0');
    await page.locator('[data-table=functions] tr[data-row=rec] a').click();
    await poll(() => page.evaluate(() => location.hash)).toBe('#/functions/rec');
    expect(errors).toEqual([]);
  });

  it('shows a stream-triggered function: its stream trigger per partition, its figures and its logs with the failed invocation', async () => {
    const { page, errors } = await open('#/functions/rec');
    const partition = page.locator('[data-table="mapping:in"] tr[data-row="0"]');
    await partition.waitFor();
    const d = await describeFn('rec');
    const p = d.mappings[0].partitions[0];
    expect(await partition.locator('[data-field=committed]').textContent()).toBe('3');
    expect(await partition.locator('[data-field=latest]').textContent()).toBe('3');
    expect(await partition.locator('[data-field=lag]').textContent()).toBe('0');
    expect(await partition.locator('[data-field=invocations]').textContent()).toBe(grouped(p.invocations));
    expect(await partition.locator('[data-field=errors]').textContent()).toBe('1');
    expect(await partition.locator('[data-field=discarded]').textContent()).toBe('1');
    expect(await partition.locator('[data-field=delivered]').textContent()).toBe('2');
    await poll(() => page.locator('[data-stat=errors] .stat-value').textContent()).toBe('1');
    expect(await page.locator('[data-stat=invocations] .stat-value').textContent()).toBe('3');
    expect(await page.locator('[data-stat=errors]').getAttribute('class')).toContain('bad');
    expect(await page.locator('[data-config] [data-field=handler]').textContent()).toBe('./rec.mjs');
    expect(await page.locator('[data-config] [data-field="log stream"] a').getAttribute('href')).toBe('#/streams/_sluice.fn.rec.logs');
    expect(await page.locator('[data-triggers] a').getAttribute('href')).toBe('#/streams/in');
    // The logs, newest first, as `sluice logs` reads them: each START…REPORT, the failure's ERROR line marked.
    const { logs } = (await get(`${dev.url}/v1/functions/rec/logs?limit=10`)).body;
    expect(logs).toHaveLength(3);
    const shown = await page.$$eval('[data-logs] [data-request-id]', (els) => els.map((e) => e.getAttribute('data-request-id')));
    expect(shown).toEqual(logs.map((l: { requestId: string }) => l.requestId).reverse());
    const failed = page.locator('[data-logs] .log-error');
    // (Lambda's Node.js runtime writes the error twice: its "Invoke Error" line, then the error alone.)
    expect(await failed.count()).toBe(2);
    expect(await failed.nth(0).textContent()).toMatch(/\tERROR\tInvoke Error \t\{"errorType":"Error","errorMessage":"boom in \d+"/);
    expect(await failed.nth(1).textContent()).toMatch(/\tERROR\t\{"errorType":"Error","errorMessage":"boom in \d+"/);
    expect(await page.locator('[data-logs] pre').first().textContent()).toMatch(/^START RequestId: /);
    expect(errors).toEqual([]);
  });

  it('shows a scheduled function\'s schedule with its next run, and an object-triggered one linked to its bucket', async () => {
    const { page, errors } = await open('#/functions/tick');
    const row = page.locator('[data-table=schedules] tr[data-row]');
    await row.waitFor();
    const s = (await describeFn('tick')).schedules[0];
    expect(await row.locator('[data-field=expression]').textContent()).toBe('rate(1 hour)');
    expect(await row.locator('[data-field=state]').textContent()).toBe('ENABLED');
    expect(await row.locator('[data-field=next]').textContent()).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
    expect(s.nextRuns.length).toBeGreaterThan(0);
    await page.goto(`${dev.url}/ui/#/functions/onup`);
    const trigger = page.locator('[data-triggers] li');
    await trigger.waitFor();
    expect(await trigger.textContent()).toBe('bucket uploads · ObjectCreated:*');
    expect(await page.locator('[data-table=schedules]').isVisible()).toBe(false);
    await poll(() => page.locator('[data-logs] [data-request-id]').count()).toBe(3);
    await trigger.locator('a').click();
    await poll(() => page.evaluate(() => location.hash)).toBe('#/buckets/uploads');
    expect(errors).toEqual([]);
  });

  it('lists buckets and browses one as folders: prefixes cut at "/", objects with size, type and ETag', async () => {
    const { page, errors } = await open('#/buckets');
    await page.locator('[data-table=buckets] tr[data-row=uploads]').waitFor();
    expect(await page.$$eval('[data-table=buckets] tr[data-row]', (rows) => rows.map((r) => r.getAttribute('data-row')))).toEqual(['uploads']);
    await page.locator('[data-table=buckets] tr[data-row=uploads] a').click();
    const rows = () => page.$$eval('[data-table=objects] tr[data-row]', (els) => els.map((e) => e.getAttribute('data-row')));
    await poll(rows).toEqual(['prefix:a/', 'object:top.txt']);
    const listed = (await get(`${dev.url}/v1/buckets/uploads/objects?delimiter=/`)).body;
    const top = listed.objects.find((o: { key: string }) => o.key === 'top.txt');
    const topRow = page.locator('[data-table=objects] tr[data-row="object:top.txt"]');
    expect(await topRow.locator('[data-field=size]').textContent()).toBe(`${'body of top.txt'.length} B`);
    expect(await topRow.locator('[data-field=type]').textContent()).toBe('text/plain');
    expect(await topRow.locator('[data-field=etag]').textContent()).toBe(top.etag);
    expect(await page.locator('[data-counts]').textContent()).toBe('1 folder, 1 object');
    await page.locator('[data-prefix="a/"]').click();
    await poll(rows).toEqual(['prefix:a/b/', 'object:a/c.txt']);
    expect(await page.locator('[data-table=objects] tr[data-row="object:a/c.txt"] [data-field=key]').textContent()).toBe('c.txt');
    expect(await page.locator('[data-folders]').textContent()).toBe('uploads/a');
    await page.locator('[data-prefix="a/b/"]').click();
    await poll(rows).toEqual(['object:a/b/report.csv']);
    await page.locator('[data-folders] a', { hasText: 'uploads' }).click();
    await poll(rows).toEqual(['prefix:a/', 'object:top.txt']);
    expect(errors).toEqual([]);
  });

  it('renders in light and dark (screenshots in tmp/ui-screenshots)', async () => {
    for (const scheme of ['light', 'dark'] as const) {
      const { page, errors } = await open('#/functions/rec', scheme);
      await page.locator('[data-logs] [data-request-id]').first().waitFor();
      await screenshot(page, `function-${scheme}`);
      await page.goto(`${dev.url}/ui/#/buckets/uploads`);
      await page.locator('[data-table=objects] tr[data-row]').first().waitFor();
      await screenshot(page, `bucket-${scheme}`);
      expect(errors).toEqual([]);
    }
  });
});

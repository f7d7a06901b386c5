// The dashboard's browser tests: the build (once, when dist/ui is missing or older than ui/),
// Debian's chromium driven by playwright-core, console errors collected, screenshots written to
// the git-ignored tmp/ui-screenshots/.
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { expect } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const SCREENSHOTS = process.env.SLUICE_UI_SCREENSHOTS ?? join(ROOT, 'tmp', 'ui-screenshots');
export const CHROMIUM = process.env.SLUICE_CHROMIUM ?? '/usr/bin/chromium';
export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

/** Builds dist/ui with scripts/build-ui.mjs unless it is already up to date. */
export function ensureUiBuilt(): void {
  const r = spawnSync(process.execPath, [join(ROOT, 'scripts', 'build-ui.mjs'), '--if-stale'], { cwd: ROOT, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`scripts/build-ui.mjs failed (${r.status}): ${r.stderr}${r.stdout}`);
}

export function launch(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
}

export interface Watched {
  page: Page;
  context: BrowserContext;
  /** Console errors and uncaught exceptions, as text. */
  errors: string[];
  /** Every URL the page requested. */
  urls: string[];
}

/** A fresh context (its own sessionStorage and localStorage) and page, watched for errors. */
export async function openPage(browser: Browser, options: { colorScheme?: 'light' | 'dark' } = {}): Promise<Watched> {
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 }, colorScheme: options.colorScheme ?? 'light' });
  const page = await context.newPage();
  const errors: string[] = [];
  const urls: string[] = [];
  page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  page.on('request', (r) => urls.push(r.url()));
  return { page, context, errors, urls };
}

/** A full-page screenshot (at most 2,400 px tall) to tmp/ui-screenshots/<name>.png. */
export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  const path = join(SCREENSHOTS, `${name}.png`);
  const height = await page.evaluate(() => document.documentElement.scrollHeight);
  await page.screenshot({ path, fullPage: true, clip: { x: 0, y: 0, width: 1440, height: Math.min(height, 2400) } });
  return path;
}

/** en-US grouping, as the dashboard writes whole numbers. */
export const grouped = (n: number): string => n.toLocaleString('en-US');

/** How long a test waits for the page to show something (the machine may be busy with other suites). */
export const POLL_MS = 15_000;
/** Browser tests take longer than the suite's default 30 s when the machine is busy. */
export const BROWSER_TEST_MS = 90_000;

/** expect.poll with room for a busy machine. */
export const poll = <T>(fn: () => T | Promise<T>): ReturnType<typeof expect.poll<T>> => expect.poll(fn, { timeout: POLL_MS, interval: 50 });

#!/usr/bin/env node
// Builds the dashboard (ui/) into dist/ui: index.html, one JS bundle and one CSS file named by
// their content hash (served with long cache lifetimes), and uPlot's CSS. Everything comes from
// this repository and node_modules: the dashboard fetches nothing from the internet.
//
//   node scripts/build-ui.mjs             build (npm run build runs it after tsc)
//   node scripts/build-ui.mjs --if-stale  build only when dist/ui is missing or older than ui/ (tests)
//   node scripts/build-ui.mjs --dev       not minified, with an inline source map (for profiling)
import { build } from 'esbuild';
import { createHash } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const SRC = join(ROOT, 'ui');
const OUT = join(ROOT, 'dist', 'ui');
const LOCK = `${OUT}.lock`;
const UPLOT_CSS = join(ROOT, 'node_modules', 'uplot', 'dist', 'uPlot.min.css');
/** Browsers with light-dark() and color-mix(): esbuild keeps the CSS as written. */
const TARGET = ['chrome123', 'firefox120', 'safari17.5'];
const STALE_LOCK_MS = 60_000;
const DEV = process.argv.includes('--dev');

const contentHash = (data) => createHash('sha256').update(data).digest('hex').slice(0, 8).toUpperCase();

/** Newest modification time of the dashboard's inputs. */
function newestInput() {
  let newest = Math.max(statSync(fileURLToPath(import.meta.url)).mtimeMs, statSync(UPLOT_CSS).mtimeMs);
  const walk = (dir) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else newest = Math.max(newest, statSync(p).mtimeMs);
    }
  };
  walk(SRC);
  return newest;
}

const isStale = () => !existsSync(join(OUT, 'index.html')) || statSync(join(OUT, 'index.html')).mtimeMs < newestInput();

async function buildInto(dir) {
  const result = await build({
    absWorkingDir: ROOT,
    entryPoints: [join(SRC, 'main.ts')],
    bundle: true,
    format: 'esm',
    target: TARGET,
    minify: !DEV,
    sourcemap: DEV ? 'inline' : false,
    legalComments: 'none',
    charset: 'utf8',
    outdir: dir,
    entryNames: 'app-[hash]',
    metafile: true,
    logLevel: 'warning',
  });
  const outputs = Object.keys(result.metafile.outputs).map((p) => basename(p));
  const js = outputs.find((f) => f.endsWith('.js'));
  const css = outputs.find((f) => f.endsWith('.css'));
  if (!js || !css) throw new Error(`build-ui: expected one .js and one .css output, got ${outputs.join(', ')}`);
  const uplot = readFileSync(UPLOT_CSS);
  const uplotCss = `uPlot-${contentHash(uplot)}.min.css`;
  writeFileSync(join(dir, uplotCss), uplot);
  const html = readFileSync(join(SRC, 'index.html'), 'utf8').replaceAll('{{js}}', js).replaceAll('{{css}}', css).replaceAll('{{uplotCss}}', uplotCss);
  writeFileSync(join(dir, 'index.html'), html);
  return [js, css, uplotCss, 'index.html'];
}

/** Builds beside dist/ui, then swaps the directories: a server never sees half a build. */
async function buildUi() {
  mkdirSync(dirname(OUT), { recursive: true });
  const tmp = `${OUT}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  const files = await buildInto(tmp);
  const old = `${OUT}.old-${process.pid}`;
  if (existsSync(OUT)) renameSync(OUT, old);
  renameSync(tmp, OUT);
  rmSync(old, { recursive: true, force: true });
  return files;
}

/** One builder at a time (test files start in parallel): the others wait, then find it fresh. */
async function withLock(fn) {
  mkdirSync(dirname(LOCK), { recursive: true });
  for (;;) {
    try {
      closeSync(openSync(LOCK, 'wx'));
      break;
    } catch (e) {
      if (e.code !== 'EEXIST') throw e;
      try {
        if (Date.now() - statSync(LOCK).mtimeMs > STALE_LOCK_MS) rmSync(LOCK, { force: true });
      } catch {
        // gone meanwhile
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  try {
    return await fn();
  } finally {
    rmSync(LOCK, { force: true });
  }
}

const ifStale = process.argv.includes('--if-stale');
const started = Date.now();
const files = await withLock(async () => (ifStale && !isStale() ? undefined : buildUi()));
if (files) console.log(`build-ui: dist/ui (${files.join(', ')}) in ${Date.now() - started} ms`);

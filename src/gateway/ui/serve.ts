// The dashboard's static files at /ui, built into dist/ui by `npm run build` (scripts/build-ui.mjs
// from the sources in ui/). GET and HEAD only; index.html is revalidated on every load, the
// content-hashed bundles are cached for a year; nothing outside dist/ui can be named.
import { readFile, stat } from 'node:fs/promises';
import { basename, dirname, extname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { HttpError } from '../http-error.js';
import type { GatewayRequest, GatewayResponse } from '../request.js';

export const UI_PREFIX = '/ui';
const INDEX = 'index.html';

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.txt': 'text/plain; charset=utf-8',
};

/** Names the build gives by content hash (`app-5XWHIEXY.js`, `uPlot-DF630C6A.min.css`): they never change. */
const HASHED = /-[A-Z0-9]{8}\.[a-z0-9.]+$/;
export const CACHE_IMMUTABLE = 'public, max-age=31536000, immutable';
export const CACHE_REVALIDATE = 'no-cache';

/**
 * The page may load only its own files and talk only to its own gateway; records are shown as
 * text, and this keeps any that slipped through from running or sending anything anywhere (a key
 * form can submit nowhere, so the key never reaches a URL).
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'", "script-src 'self'", "style-src 'self'", "img-src 'self' data:", "connect-src 'self'",
  "base-uri 'none'", "form-action 'none'", "frame-ancestors 'none'", "object-src 'none'",
].join('; ');

/** dist/ui from this module: dist/gateway/ui/serve.js → dist/ui; src/gateway/ui/serve.ts (tsx) → the repository's dist/ui. */
export function uiDirFor(moduleDir: string): string {
  const top = resolve(moduleDir, '..', '..');
  return basename(top) === 'src' ? resolve(top, '..', 'dist', 'ui') : resolve(top, 'ui');
}

export const UI_DIR = uiDirFor(dirname(fileURLToPath(import.meta.url)));

/** The file a /ui path names inside `root`, or undefined when it names nothing there (`..`, encoded slashes, dot files). */
export function uiFile(root: string, pathname: string): string | undefined {
  const rest = pathname.slice(UI_PREFIX.length).replace(/^\/+/, '');
  if (rest === '') return join(root, INDEX);
  const parts: string[] = [];
  for (const raw of rest.split('/')) {
    let part: string;
    try {
      part = decodeURIComponent(raw);
    } catch {
      return undefined;
    }
    if (part === '' || part.startsWith('.') || /[\\/\0]/.test(part)) return undefined;
    parts.push(part);
  }
  const file = resolve(root, ...parts);
  return file.startsWith(root + sep) ? file : undefined;
}

/** Serves a file of the dashboard from dist/ui (`/ui` and `/ui/` are index.html). */
export const serveUi = (req: GatewayRequest, res: GatewayResponse, pathname: string): Promise<void> => serveUiFrom(UI_DIR, req, res, pathname);

/** Serves a file of the dashboard built into `root`; HttpError 404 when it is not there (or not built), 405 for methods but GET and HEAD. */
export async function serveUiFrom(root: string, req: GatewayRequest, res: GatewayResponse, pathname: string): Promise<void> {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    throw new HttpError(405, 'MethodNotAllowed', `${req.method} is not allowed on ${pathname}: the dashboard is static files (GET, HEAD)`, {}, { allow: 'GET, HEAD' });
  }
  const built = await stat(join(root, INDEX)).catch(() => undefined);
  if (!built) throw new HttpError(404, 'NotFound', 'the dashboard is not built: run npm run build');
  const file = uiFile(root, pathname);
  const info = file === undefined ? undefined : await stat(file).catch(() => undefined);
  if (!file || !info?.isFile()) throw new HttpError(404, 'NotFound', `no file ${pathname} in the dashboard`);
  const name = basename(file);
  const etag = `"${info.size.toString(16)}-${Math.floor(info.mtimeMs).toString(16)}"`;
  const headers: Record<string, string> = {
    'content-type': CONTENT_TYPES[extname(name)] ?? 'application/octet-stream',
    'cache-control': HASHED.test(name) ? CACHE_IMMUTABLE : CACHE_REVALIDATE,
    etag,
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
  };
  if (name === INDEX) headers['content-security-policy'] = CONTENT_SECURITY_POLICY;
  if (req.headers['if-none-match'] === etag) {
    res.writeHead(304, headers);
    res.end();
    return;
  }
  if (req.method === 'HEAD') {
    res.writeHead(200, { ...headers, 'content-length': String(info.size) });
    res.end();
    return;
  }
  const body = await readFile(file);
  res.writeHead(200, { ...headers, 'content-length': String(body.length) });
  res.end(body);
}

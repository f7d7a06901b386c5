// The dashboard's files as the gateway serves them at /ui: content types, caching (index
// revalidated, hashed bundles immutable), HEAD, ETags, 404s in the gateway's JSON error shape, no
// way out of dist/ui, GET and HEAD only.
import { request } from 'node:http';
import { readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CACHE_IMMUTABLE, serveUiFrom, UI_DIR, uiDirFor, uiFile } from '../../src/gateway/ui/serve.js';
import type { GatewayRequest, GatewayResponse } from '../../src/gateway/request.js';
import { startGateway, type TestGateway } from '../support/gateway.js';
import { tempDir } from '../support/tmp.js';
import { ensureUiBuilt } from './support.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
let gw: TestGateway;

/** A request with the path exactly as written (fetch and curl normalise `..` away before sending). */
function raw(path: string, method = 'GET', headers: Record<string, string> = {}): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  const { hostname, port } = new URL(gw.url);
  return new Promise((done, fail) => {
    const req = request({ host: hostname, port, path, method, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (c) => (body += c)).on('end', () => done({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.on('error', fail).end();
  });
}

beforeAll(async () => {
  ensureUiBuilt();
  gw = await startGateway();
});
afterAll(() => gw?.close());

describe('GET /ui', () => {
  it('/ui and /ui/ are index.html, revalidated on every load, with a policy that keeps the page to its own origin', async () => {
    for (const path of ['/ui', '/ui/']) {
      const r = await raw(path);
      expect(r.status).toBe(200);
      expect(r.headers['content-type']).toBe('text/html; charset=utf-8');
      expect(r.headers['cache-control']).toBe('no-cache');
      expect(r.headers['content-security-policy']).toContain("default-src 'self'");
      expect(r.headers['content-security-policy']).toContain("form-action 'none'");
      expect(r.body).toBe(readFileSync(join(UI_DIR, 'index.html'), 'utf8'));
    }
  });

  it('serves the bundle, its CSS and uPlot\'s CSS by content hash, cached for a year, and nothing from the internet', async () => {
    const index = (await raw('/ui/')).body;
    const assets = [...index.matchAll(/(?:src|href)="\/ui\/([^"]+)"/g)].map((m) => m[1]!);
    expect(assets.map((a) => a.replace(/-[A-Z0-9]{8}\./, '-HASH.'))).toEqual(['uPlot-HASH.min.css', 'app-HASH.css', 'app-HASH.js']);
    expect(index).not.toMatch(/https?:\/\/(?!www\.w3\.org)[a-z]/i);
    for (const a of assets) {
      const r = await raw(`/ui/${a}`);
      expect(r.status).toBe(200);
      expect(r.headers['content-type']).toBe(a.endsWith('.js') ? 'text/javascript; charset=utf-8' : 'text/css; charset=utf-8');
      expect(r.headers['cache-control']).toBe(CACHE_IMMUTABLE);
      expect(Number(r.headers['content-length'])).toBe(statSync(join(UI_DIR, a)).size);
      expect(r.body).not.toMatch(/https?:\/\/(?!www\.w3\.org)[a-z]/i); // no CDN or font URL (the SVG namespace is a name, not a fetch)
    }
  });

  it('answers HEAD with the headers and no body, and a matching If-None-Match with 304', async () => {
    const get = await raw('/ui/');
    const head = await raw('/ui/', 'HEAD');
    expect(head.status).toBe(200);
    expect(head.body).toBe('');
    expect(head.headers['content-length']).toBe(get.headers['content-length']);
    expect(head.headers.etag).toBe(get.headers.etag);
    const again = await raw('/ui/', 'GET', { 'if-none-match': String(get.headers.etag) });
    expect(again.status).toBe(304);
    expect(again.body).toBe('');
  });

  it('names nothing outside dist/ui: .., encoded dots and slashes, backslashes, dot files are 404 in the JSON error shape', async () => {
    for (const path of ['/ui/../package.json', '/ui/..%2fpackage.json', '/ui/%2e%2e/package.json', '/ui/.%2e/package.json', '/ui/%2e%2e%2fpackage.json',
      '/ui/..%5cpackage.json', '/ui/..\\package.json', '/ui//etc/passwd', '/ui/%00', '/ui/%E0%A4%A', '/ui/.lock', '/ui/../../../../etc/passwd']) {
      const r = await raw(path);
      expect(r.status, path).toBe(404);
      expect(r.headers['content-type'], path).toBe('application/json');
      expect(JSON.parse(r.body).error.code, path).toBe('NotFound');
      expect(r.body, path).not.toContain('"devDependencies"');
    }
  });

  it('answers a missing file with 404 NotFound, and methods but GET and HEAD with 405', async () => {
    expect(JSON.parse((await raw('/ui/nope.js')).body)).toEqual({ error: { code: 'NotFound', message: 'no file /ui/nope.js in the dashboard' } });
    const post = await raw('/ui/', 'POST');
    expect(post.status).toBe(405);
    expect(post.headers.allow).toBe('GET, HEAD');
    expect(JSON.parse(post.body).error.code).toBe('MethodNotAllowed');
  });

  it('says the dashboard is not built when dist/ui holds no index.html', async () => {
    const req = { method: 'GET', headers: {} } as GatewayRequest;
    await expect(serveUiFrom(join(tempDir(), 'ui'), req, {} as GatewayResponse, '/ui/')).rejects.toMatchObject({ status: 404, code: 'NotFound', message: 'the dashboard is not built: run npm run build' });
  });
});

describe('where dist/ui is', () => {
  it('is the repository\'s dist/ui from the sources and dist/ui beside the compiled gateway', () => {
    expect(uiDirFor(join(ROOT, 'src', 'gateway', 'ui'))).toBe(resolve(ROOT, 'dist', 'ui'));
    expect(uiDirFor('/opt/app/node_modules/sluice/dist/gateway/ui')).toBe('/opt/app/node_modules/sluice/dist/ui');
    expect(UI_DIR).toBe(resolve(ROOT, 'dist', 'ui'));
  });

  it('maps /ui paths to files inside the root only', () => {
    expect(uiFile('/srv/ui', '/ui')).toBe('/srv/ui/index.html');
    expect(uiFile('/srv/ui', '/ui/app-ABCDEFGH.js')).toBe('/srv/ui/app-ABCDEFGH.js');
    expect(uiFile('/srv/ui', '/ui/a%20b.css')).toBe('/srv/ui/a b.css');
    for (const p of ['/ui/../x', '/ui/..%2fx', '/ui/%2e%2e', '/ui/a/../../x', '/ui/%5c..', '/ui/.hidden', '/ui/a//b', '/ui/%ZZ']) expect(uiFile('/srv/ui', p), p).toBeUndefined();
  });
});

// The dashboard's shell: sidebar (pages, the gateway, the key, the theme), a top bar with the
// refresh state, and the hash router that renders the pages into it.
import './styles.css';
import { ApiError, getJson } from './api.js';
import { currentKey, forgetKey, KeyDeclinedError } from './auth.js';
import { fill, h, s } from './dom.js';
import { fmtAgo } from './format.js';
import { loadGatewayInfo } from './gateway-info.js';
import { bucketPage, bucketsPage } from './pages/buckets.js';
import { dependenciesPage } from './pages/dependencies.js';
import { functionPage } from './pages/function.js';
import { functionsPage } from './pages/functions.js';
import { overviewPage } from './pages/overview.js';
import { pipelinePage } from './pages/pipeline.js';
import { pipelinesPage } from './pages/pipelines.js';
import { streamPage } from './pages/stream.js';
import { streamsPage } from './pages/streams.js';
import { Router, type RefreshStatus, type Route } from './router.js';
import { initTheme, setTheme, themeChoice, type ThemeChoice } from './theme.js';
import type { Overview } from './types.js';
import { pageHeader } from './widgets.js';

const ROUTES: Route[] = [
  { pattern: /^\/(?:overview)?$/, nav: 'overview', render: overviewPage },
  { pattern: /^\/streams\/?$/, nav: 'streams', render: streamsPage },
  { pattern: /^\/streams\/([^/]+)$/, nav: 'streams', render: streamPage },
  { pattern: /^\/pipelines\/?$/, nav: 'pipelines', render: pipelinesPage },
  { pattern: /^\/pipelines\/([^/]+)$/, nav: 'pipelines', render: pipelinePage },
  { pattern: /^\/functions\/?$/, nav: 'functions', render: functionsPage },
  { pattern: /^\/functions\/([^/]+)$/, nav: 'functions', render: functionPage },
  { pattern: /^\/buckets\/?$/, nav: 'buckets', render: bucketsPage },
  { pattern: /^\/buckets\/([^/]+)$/, nav: 'buckets', render: bucketPage },
  { pattern: /^\/dependencies\/?$/, nav: 'dependencies', render: dependenciesPage },
  { pattern: /./, nav: '', render: (ctx) => void ctx.root.append(pageHeader('Not found', []), h('div', { class: 'note' }, `No page at #${ctx.path}. `, h('a', { href: '#/' }, 'Overview'))) },
];

const ICONS: Record<string, string> = {
  overview: 'M3 13h8V3H3zm0 8h8v-6H3zm10 0h8V11h-8zm0-18v6h8V3z',
  streams: 'M3 6c3-2 6 2 9 0s6-2 9 0M3 12c3-2 6 2 9 0s6-2 9 0M3 18c3-2 6 2 9 0s6-2 9 0',
  pipelines: 'M5 6h4v4H5zM15 4h4v4h-4zM15 14h4v4h-4zM9 8h6M9 8l6 8',
  functions: 'M8 4c-2 0-2 2-2 4s-1 4-3 4c2 0 3 2 3 4s0 4 2 4M16 4c2 0 2 2 2 4s1 4 3 4c-2 0-3 2-3 4s0 4-2 4M10 15l4-6',
  buckets: 'M4 7c0-2 16-2 16 0l-2 12c0 2-12 2-12 0zM4 7c0 2 16 2 16 0',
  dependencies: 'M12 3v4M12 17v4M5 12H3M21 12h-2M7 7l-2-2M19 19l-2-2M17 7l2-2M5 19l2-2M9 12a3 3 0 1 0 6 0a3 3 0 1 0-6 0',
};

function icon(name: string): SVGElement {
  return s('svg', { viewBox: '0 0 24 24', class: 'icon', 'aria-hidden': 'true' }, s('path', { d: ICONS[name]! }));
}

function navLink(nav: string, label: string, href: string): HTMLAnchorElement {
  return h('a', { href, class: 'nav-link', 'data-nav': nav }, icon(nav), h('span', {}, label));
}

function themeSwitch(): HTMLElement {
  const seg = h('div', { class: 'segmented theme', role: 'group', 'aria-label': 'theme' });
  const buttons = (['system', 'light', 'dark'] as ThemeChoice[]).map((c) => {
    const b = h('button', { type: 'button', class: 'seg', 'data-theme-choice': c, 'aria-pressed': String(themeChoice() === c) }, c);
    b.addEventListener('click', () => {
      setTheme(c);
      for (const x of buttons) x.setAttribute('aria-pressed', String(x.dataset.themeChoice === c));
    });
    return b;
  });
  seg.append(...buttons);
  return seg;
}

/** The top bar's "updated 3s ago", or why the last refresh failed. */
class TopStatus implements RefreshStatus {
  readonly el = h('div', { class: 'refresh', 'data-refresh': '' });
  private at = 0;
  private failed?: string;

  constructor() {
    setInterval(() => this.show(), 1000);
  }

  ok(): void {
    this.at = Date.now();
    this.failed = undefined;
    this.show();
  }

  fail(e: unknown): void {
    this.failed = e instanceof KeyDeclinedError ? 'an API key is needed' : e instanceof ApiError ? `${e.status} ${e.code}` : (e as Error)?.message ?? String(e);
    this.show();
  }

  reset(): void {
    this.at = 0;
    this.failed = undefined;
    this.show();
  }

  private show(): void {
    this.el.classList.toggle('error', this.failed !== undefined);
    this.el.textContent = this.failed ? `refresh failed: ${this.failed}` : this.at ? `updated ${fmtAgo(this.at)}` : '';
  }
}

async function boot(): Promise<void> {
  initTheme();
  const info = await loadGatewayInfo();
  const status = new TopStatus();
  const keyState = h('div', { class: 'key-state', 'data-key-state': '' });
  const gateway = h('div', { class: 'gateway-info' }, info.engine ? `engine ${info.engine}` : '');
  const showKey = () => {
    const key = currentKey();
    fill(keyState, key
      ? h('span', {}, 'key set for this session · ', h('button', { type: 'button', class: 'linkish', onclick: () => (forgetKey(), router.render()) }, 'forget'))
      : h('span', { class: 'muted' }, 'no key entered'));
  };
  addEventListener('sluice:key', showKey);
  addEventListener('sluice:overview', (e) => {
    const o = (e as CustomEvent<Overview>).detail;
    gateway.textContent = `sluice ${o.version} · ${o.engine}${o.open ? ' · open' : ''}`;
    if (o.open && !currentKey()) fill(keyState, h('span', { class: 'muted' }, 'open gateway: no key needed'));
  });
  const nav = h('nav', { class: 'nav' }, navLink('overview', 'Overview', '#/'), navLink('streams', 'Streams', '#/streams'), navLink('pipelines', 'Pipelines', '#/pipelines'), navLink('functions', 'Functions', '#/functions'), navLink('buckets', 'Buckets', '#/buckets'), navLink('dependencies', 'Dependencies', '#/dependencies'));
  const page = h('div', { class: 'page', id: 'page' });
  const sidebar = h('aside', { class: 'sidebar' },
    h('a', { class: 'brand', href: '#/' }, s('svg', { viewBox: '0 0 24 24', class: 'logo', 'aria-hidden': 'true' }, s('path', { d: 'M4 5h16M4 5v5c0 3 3 4 8 4s8 1 8 4v1M4 19h16' })), h('span', {}, 'Sluice')),
    nav,
    h('div', { class: 'sidebar-foot' }, gateway, keyState, themeSwitch()));
  const main = h('main', { class: 'main' }, h('div', { class: 'topbar' }, h('span', { class: 'topbar-title' }, 'Dashboard'), status.el), page);
  fill(document.getElementById('app')!, sidebar, main);
  showKey();
  const router = new Router(ROUTES, page, (current) => {
    status.reset();
    for (const a of nav.querySelectorAll<HTMLAnchorElement>('a')) {
      a.classList.toggle('active', a.dataset.nav === current);
      if (a.dataset.nav === current) a.setAttribute('aria-current', 'page');
      else a.removeAttribute('aria-current');
    }
  }, status);
  router.render();
  // What the sidebar says of the gateway, on every page (quietly: the page asks for a key if one is needed).
  getJson<Overview>('/v1/observe/overview', undefined, false).then((o) => dispatchEvent(new CustomEvent('sluice:overview', { detail: o })), () => {});
}

void boot();

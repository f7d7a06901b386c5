// Hash routes (`#/streams/ad-views?partition=1&from=200`), so deep links work and the gateway
// serves static files only. Each page gets a context whose signal aborts when the route changes:
// its polls, charts and live tails stop with it.

export interface Route {
  /** Matched against the hash path; groups become `params` (decoded). */
  pattern: RegExp;
  /** The sidebar entry it belongs to. */
  nav: string;
  render(ctx: PageContext): void | Promise<void>;
}

export interface PageContext {
  root: HTMLElement;
  params: string[];
  query: URLSearchParams;
  /** The hash path without the query, e.g. `/streams/ad-views`. */
  path: string;
  signal: AbortSignal;
  /** Runs `fn` now and then every `ms` after each run ends, until the page is left. */
  poll(fn: () => Promise<void>, ms: number): void;
}

export interface Location {
  path: string;
  query: URLSearchParams;
}

/** The current hash as a path and a query. */
export function currentLocation(hash = window.location.hash): Location {
  const raw = hash.replace(/^#/, '') || '/';
  const q = raw.indexOf('?');
  const path = q < 0 ? raw : raw.slice(0, q);
  return { path: path.startsWith('/') ? path : `/${path}`, query: new URLSearchParams(q < 0 ? '' : raw.slice(q + 1)) };
}

/** Rewrites the query of the current route without re-rendering it (a deep link to what is shown). */
export function replaceQuery(query: URLSearchParams): void {
  const { path } = currentLocation();
  const q = query.toString();
  history.replaceState(null, '', `#${path}${q ? `?${q}` : ''}`);
}

/** Where refreshes report: the top bar's "updated 2s ago" or the last failure. */
export interface RefreshStatus {
  ok(): void;
  fail(e: unknown): void;
}

export class Router {
  private current?: AbortController;

  constructor(private readonly routes: Route[], private readonly root: HTMLElement, private readonly onRoute: (nav: string) => void, private readonly status: RefreshStatus) {
    addEventListener('hashchange', () => this.render());
  }

  /** Renders the route of the current hash (again), leaving the page shown before. */
  render(): void {
    this.current?.abort();
    const ac = new AbortController();
    this.current = ac;
    const { path, query } = currentLocation();
    const route = this.routes.find((r) => r.pattern.test(path)) ?? this.routes[this.routes.length - 1]!;
    const params = (route.pattern.exec(path) ?? []).slice(1).map((p) => decodeURIComponent(p ?? ''));
    this.root.replaceChildren();
    this.onRoute(route.nav);
    const ctx: PageContext = { root: this.root, params, query, path, signal: ac.signal, poll: (fn, ms) => poll(fn, ms, ac.signal, this.status) };
    Promise.resolve()
      .then(() => route.render(ctx))
      .catch((e) => ac.signal.aborted || this.status.fail(e));
  }
}

function poll(fn: () => Promise<void>, ms: number, signal: AbortSignal, status: RefreshStatus): void {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const run = async () => {
    try {
      await fn();
      if (!signal.aborted) status.ok();
    } catch (e) {
      if (!signal.aborted) status.fail(e);
    }
    if (!signal.aborted) timer = setTimeout(run, ms);
  };
  signal.addEventListener('abort', () => clearTimeout(timer), { once: true });
  void run();
}

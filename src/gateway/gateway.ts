// The ingest gateway: one port serving the native API, the Kinesis Data Streams API (HTTP/1.1
// and cleartext HTTP/2), health endpoints and live tails, in front of any engine.
import FindMyWay from 'find-my-way';
import { systemClock, type Clock } from '../clock.js';
import type { Engine, StreamInfo } from '../engine/engine.js';
import { Admission } from './admission.js';
import { ApiKeys, presentedKey } from './auth/api-keys.js';
import { OPEN_PRINCIPAL, can, internalRefusal, type Action, type Principal } from './auth/scopes.js';
import { ClientAbortedError, ForbiddenError, ShuttingDownError } from './errors.js';
import { HttpError, toHttpError } from './http-error.js';
import { KinesisApi, kinesisRequest } from './kinesis/index.js';
import { DualProtocolListener } from './listener.js';
import { nativeRoutes } from './native/routes.js';
import { serveUi } from './ui/serve.js';
import { DEFAULT_RETRY_AFTER_S, resolveGatewayOptions, type GatewayOptions, type ResolvedGatewayOptions } from './options.js';
import { RateLimiter } from './rate-limit.js';
import { discardUnreadBody, sendJson, type GatewayRequest, type GatewayResponse } from './request.js';

export const STREAM_INFO_TTL_MS = 5_000; // how long the gateway trusts a cached stream description
/** Node's whole-request timeout is a backstop behind the headers and body timeouts, which answer first. */
const REQUEST_TIMEOUT_MARGIN_MS = 5_000;

export interface RequestContext {
  req: GatewayRequest;
  res: GatewayResponse;
  params: Record<string, string | undefined>;
  query: URLSearchParams;
  /** Aborted when the client goes away or the gateway shuts down (live tails end). */
  signal: AbortSignal;
  /** Aborted only when the client goes away: what draining lets finish (appends) takes this one. */
  clientGone: AbortSignal;
}

export type RouteHandler = (ctx: RequestContext) => Promise<void>;

export class Gateway {
  readonly options: ResolvedGatewayOptions;
  readonly admission: Admission;
  readonly rateLimiter?: RateLimiter;
  private readonly listener: DualProtocolListener;
  private readonly router = FindMyWay({ ignoreTrailingSlash: true });
  private readonly apiKeys: ApiKeys;
  private readonly kinesis: KinesisApi;
  private readonly streamCache = new Map<string, { info: StreamInfo; at: number }>();
  private readonly shutdown = new AbortController();
  private inflight = 0;
  private idle?: () => void;
  private draining = false;
  private address?: { host: string; port: number };

  constructor(readonly engine: Engine, options: GatewayOptions = {}, readonly clock: Clock = systemClock) {
    this.options = resolveGatewayOptions(options);
    this.admission = new Admission({ ...this.options, retryAfterS: DEFAULT_RETRY_AFTER_S });
    if (this.options.rateLimit) this.rateLimiter = new RateLimiter(this.options.rateLimit, clock);
    this.apiKeys = new ApiKeys(this.options.principals);
    this.kinesis = new KinesisApi(this);
    for (const [method, path, handler] of nativeRoutes(this)) {
      this.router.on(method, path, (() => {}) as never, { handler });
    }
    const o = this.options;
    this.listener = new DualProtocolListener((req, res) => void this.handle(req, res), {
      headersTimeoutMs: o.headersTimeoutMs,
      requestTimeoutMs: o.headersTimeoutMs + o.bodyTimeoutMs + REQUEST_TIMEOUT_MARGIN_MS,
      idleTimeoutMs: o.idleTimeoutMs,
      maxConnections: o.maxConnections,
      maxConnectionsPerClient: o.maxConnectionsPerClient,
    });
  }

  /** True when no principal is configured: every request is allowed (for `sluice dev`). */
  get open(): boolean {
    return this.options.principals.length === 0;
  }

  get url(): string {
    if (!this.address) throw new Error('the gateway is not listening');
    return `http://${this.address.host.includes(':') ? `[${this.address.host}]` : this.address.host}:${this.address.port}`;
  }

  async listen(): Promise<{ host: string; port: number }> {
    this.address = await this.listener.listen(this.options.port, this.options.host);
    return this.address;
  }

  /** Stops taking requests, lets in-flight ones finish (up to drainTimeoutMs), ends tails. */
  async close(): Promise<void> {
    if (this.draining) return;
    this.draining = true;
    this.shutdown.abort();
    const stopped = this.listener.stopAccepting();
    this.listener.closeIdle();
    if (this.inflight > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, this.options.drainTimeoutMs);
        this.idle = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    this.listener.closeConnections();
    await stopped;
  }

  /** Authenticates a native API request and checks its scope on a stream. */
  authorize(req: GatewayRequest, stream: string | undefined, action: Action): Principal {
    const principal = this.open ? OPEN_PRINCIPAL : this.apiKeys.authenticate(presentedKey(req.headers));
    const internal = stream === undefined ? undefined : internalRefusal(stream, action);
    if (internal) throw new ForbiddenError(internal, stream!, action);
    if (stream !== undefined && !can(principal, stream, action)) throw new ForbiddenError(`key '${principal.id}' may not ${action} stream '${stream}'`, stream, action);
    return principal;
  }

  /** A stream's description, cached briefly so hot appends do not ask the engine each time. */
  async streamInfo(name: string): Promise<StreamInfo> {
    const hit = this.streamCache.get(name);
    const now = this.clock.now();
    if (hit && now - hit.at < STREAM_INFO_TTL_MS) return hit.info;
    const info = await this.engine.describeStream(name);
    this.streamCache.set(name, { info, at: now });
    return info;
  }

  forgetStream(name: string): void {
    this.streamCache.delete(name);
  }

  /** The id admission and rate limits count a request against. */
  clientOf(req: GatewayRequest, principal: Principal): string {
    return principal === OPEN_PRINCIPAL ? (req.socket?.remoteAddress ?? 'unknown') : principal.id;
  }

  private async handle(req: GatewayRequest, res: GatewayResponse): Promise<void> {
    this.inflight++;
    const gone = new AbortController(); // the client went away
    const ac = new AbortController(); // the client went away, or the gateway is shutting down
    const abort = () => ac.abort();
    const leave = () => (gone.abort(), ac.abort());
    res.once('close', leave);
    this.shutdown.signal.addEventListener('abort', abort, { once: true });
    try {
      await this.dispatch(req, res, ac.signal, gone.signal);
    } catch (e) {
      if (e instanceof ClientAbortedError || gone.signal.aborted) {
        res.destroy(); // the client went (or the gateway is closing): no one to answer
      } else {
        const err = toHttpError(e);
        if (err.status === 500) process.emitWarning(`sluice gateway: ${(e as Error)?.stack ?? e}`);
        this.sendError(req, res, err);
      }
    } finally {
      this.shutdown.signal.removeEventListener('abort', abort);
      res.off('close', leave);
      if (--this.inflight === 0) this.idle?.();
    }
  }

  private async dispatch(req: GatewayRequest, res: GatewayResponse, signal: AbortSignal, clientGone: AbortSignal): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://gateway');
    if (kinesisRequest(req)) return this.kinesis.handle(req, res);
    if (url.pathname === '/healthz') return sendJson(res, 200, { status: 'ok' });
    if (url.pathname === '/ui' || url.pathname.startsWith('/ui/')) return serveUi(req, res, url.pathname);
    if (url.pathname === '/readyz') {
      return this.draining ? sendJson(res, 503, { status: 'draining' }) : sendJson(res, 200, { status: 'ready', engine: this.engine.kind });
    }
    if (this.draining) throw new ShuttingDownError();
    const route = this.router.find(req.method as 'GET', url.pathname);
    if (!route) throw new HttpError(404, 'NotFound', `no route for ${req.method} ${url.pathname}`);
    const handler = (route.store as { handler: RouteHandler }).handler;
    await handler({ req, res, params: route.params, query: url.searchParams, signal, clientGone });
  }

  private sendError(req: GatewayRequest, res: GatewayResponse, err: HttpError): void {
    if (res.headersSent) return void res.destroy();
    const headers = { ...err.headers };
    // A body that did not arrive in time is not waited for again; any other unread body is read and dropped (bounded).
    if (!req.complete && req.httpVersionMajor === 1 && err.status === 408) headers.connection = 'close';
    sendJson(res, err.status, { error: { code: err.code, message: err.message, ...err.details } }, headers);
    if (err.status !== 408) discardUnreadBody(req);
  }
}

// The ingest gateway: one port serving the native API, the Kinesis Data Streams API (HTTP/1.1
// and cleartext HTTP/2), the Lambda API, the S3 API, health endpoints and live tails, in front of any engine.
import FindMyWay from 'find-my-way';
import { systemClock, type Clock } from '../clock.js';
import type { AppendRecord, AppendResult, CallOptions, Engine, StreamInfo } from '../engine/engine.js';
import { Admission } from './admission.js';
import { ApiKeys, presentedKey } from './auth/api-keys.js';
import { OPEN_PRINCIPAL, can, internalRefusal, type Action, type Principal } from './auth/scopes.js';
import { ClientAbortedError, ForbiddenError, ShuttingDownError } from './errors.js';
import { HttpError, toHttpError } from './http-error.js';
import { KinesisApi, kinesisRequest } from './kinesis/index.js';
import { DualProtocolListener } from './listener.js';
import { nativeRoutes } from './native/routes.js';
import { observeRoutes } from './native/observe-routes.js';
import { functionRoutes } from './native/function-routes.js';
import { bucketRoutes } from './native/bucket-routes.js';
import { serveUi } from './ui/serve.js';
import { LambdaApi, lambdaRequest } from './lambda/index.js';
import { functionUrl, URL_PREFIX } from './lambda/urls.js';
import { S3Api, s3Request } from './s3/index.js';
import { Objects } from '../objects/index.js';
import type { Functions } from '../functions/functions.js';
import type { Dependencies } from '../resilience/index.js';
import { DEFAULT_RETRY_AFTER_S, resolveGatewayOptions, type GatewayOptions, type ResolvedGatewayOptions } from './options.js';
import { RateLimiter } from './rate-limit.js';
import { Observer } from '../observe/observer.js';
import { gatewayMetrics, requestIdOf, streamMetrics, type GatewayMetrics, type RequestInfo } from './metrics.js';
import { discardUnreadBody, sendJson, type GatewayRequest, type GatewayResponse } from './request.js';

export const STREAM_INFO_TTL_MS = 5_000; // how long the gateway trusts a cached stream description

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
  /** SigV4 key pairs (Kinesis and Lambda APIs) by access key id. */
  readonly accessKeys: Map<string, Principal>;
  /** Principals added at run time (functions' own keys): checked even on an open gateway. */
  private readonly added = new Map<string, Principal>();
  private readonly kinesis: KinesisApi;
  private readonly lambda: LambdaApi;
  /** The functions this process runs (the Lambda API and function URLs serve them): set by `sluice dev/start` once they started. */
  functions?: Functions;
  /** This process' resilience dependencies, whose server-wide retry budget /v1/observe/dependencies shows: set by `sluice dev/start`. */
  dependencies?: Dependencies;
  /** The buckets and objects the S3 API serves (replaceable: one whose writes announce events, say). */
  objects: Objects;
  private readonly s3: S3Api;
  private readonly streamCache = new Map<string, { info: StreamInfo; at: number }>();
  private readonly shutdown = new AbortController();
  private inflight = 0;
  readonly metrics: GatewayMetrics;
  private readonly info = new WeakMap<GatewayRequest, RequestInfo>();
  private idle?: () => void;
  private draining = false;
  private address?: { host: string; port: number };

  /** `observer`: the process' metrics, logs and pipelines (default: one of its own that logs nothing). */
  constructor(readonly engine: Engine, options: GatewayOptions = {}, readonly clock: Clock = systemClock, readonly observer: Observer = new Observer({ clock })) {
    this.options = resolveGatewayOptions(options);
    this.admission = new Admission({ ...this.options, retryAfterS: DEFAULT_RETRY_AFTER_S });
    if (this.options.rateLimit) this.rateLimiter = new RateLimiter(this.options.rateLimit, clock);
    this.apiKeys = new ApiKeys(this.options.principals);
    this.accessKeys = new Map(this.options.principals.filter((p) => p.accessKeyId).map((p) => [p.accessKeyId!, p]));
    this.kinesis = new KinesisApi(this);
    this.lambda = new LambdaApi(this, () => this.functions);
    this.objects = new Objects(engine, { clock });
    for (const [method, path, handler] of [...nativeRoutes(this), ...observeRoutes(this), ...functionRoutes(this), ...bucketRoutes(this)]) {
      this.router.on(method, path, (() => {}) as never, { handler, path });
    }
    const o = this.options;
    this.metrics = gatewayMetrics(observer.metrics, this.admission, () => this.listener.connections());
    streamMetrics(observer.metrics, engine, () => observer.runs);
    this.s3 = new S3Api(this);
    this.listener = new DualProtocolListener((req, res) => void this.handle(req, res), {
      headersTimeoutMs: o.headersTimeoutMs,
      // No whole-request deadline: an S3 upload of 5 GiB streams for minutes. Bodies are bounded by
      // their readers' timeouts instead (body.ts; the S3 API's stall timeout), headers by headersTimeoutMs.
      requestTimeoutMs: 0,
      idleTimeoutMs: o.idleTimeoutMs,
      maxConnections: o.maxConnections,
      maxConnectionsPerClient: o.maxConnectionsPerClient,
    });
  }

  /** True once close() began: new requests are refused. */
  get closing(): boolean {
    return this.draining;
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
    this.observer.start(); // the dashboard's series
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
    this.observer.stop();
    await stopped;
  }

  /** Appends a request's records to the engine, timed and counted (sluice_engine_append_*). */
  async append(stream: string, records: AppendRecord[], call?: CallOptions): Promise<AppendResult[]> {
    const started = performance.now();
    const results = await this.engine.append(stream, records, call);
    this.metrics.appendSeconds.observe({ engine: this.engine.kind }, (performance.now() - started) / 1000);
    this.metrics.appendRecords.observe({ engine: this.engine.kind }, records.length);
    return results;
  }

  /** The principal of an API key; UnauthenticatedError when it is missing or wrong. */
  authenticate(key: string | undefined): Principal {
    return this.apiKeys.authenticate(key);
  }

  /** Adds a principal at run time (a function's own key pair: its scopes are its permissions). */
  addPrincipal(p: Principal): void {
    this.apiKeys.add(p);
    if (p.accessKeyId) this.accessKeys.set(p.accessKeyId, p);
    this.added.set(p.id, p);
  }

  /** Whether a principal was added at run time: its credentials hold even on an open gateway. */
  isAdded(id: string | undefined): boolean {
    return id !== undefined && this.added.has(id);
  }

  /** The caller of a native request: the key's principal; on an open gateway, anyone (but a function's key is still its own). */
  principalOf(req: GatewayRequest): Principal {
    const key = presentedKey(req.headers);
    if (this.open && !this.isAdded(ApiKeys.idOf(key))) return OPEN_PRINCIPAL;
    return this.apiKeys.authenticate(key);
  }

  /** Authenticates a native API request and checks its scope on a stream. */
  authorize(req: GatewayRequest, stream: string | undefined, action: Action): Principal {
    const principal = this.principalOf(req);
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

  /** What the access log will say of a request (routes add its stream and records). */
  requestInfo(req: GatewayRequest): RequestInfo | undefined {
    return this.info.get(req);
  }

  private async handle(req: GatewayRequest, res: GatewayResponse): Promise<void> {
    this.inflight++;
    const started = performance.now();
    const info: RequestInfo = { id: requestIdOf(req, res), route: 'unmatched' };
    this.info.set(req, info);
    res.once('finish', () => this.answered(req, res, info, started));
    const gone = new AbortController(); // the client went away
    const ac = new AbortController(); // the client went away, or the gateway is shutting down
    const abort = () => {
      ac.abort();
      // HTTP/1.1: the answer says the connection closes, so a client does not send another request
      // on it (one pipelined behind this one would be dropped unanswered when the connection ends).
      if (!res.headersSent && 'shouldKeepAlive' in res) res.shouldKeepAlive = false;
    };
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
        if (err.status === 500) this.observer.log.error({ reqId: info.id, route: info.route, err: (e as Error)?.stack ?? String(e) }, 'internal error answering a request');
        info.code = err.code;
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
    const info = this.info.get(req)!;
    if (s3Request(req)) {
      info.route = 's3';
      return this.s3.handle(req, res, clientGone);
    }
    if (kinesisRequest(req)) {
      info.route = 'kinesis';
      return this.kinesis.handle(req, res);
    }
    if (url.pathname === '/healthz' || url.pathname === '/readyz') info.route = url.pathname;
    if (url.pathname === '/healthz') return sendJson(res, 200, { status: 'ok' });
    if (lambdaRequest(url.pathname)) {
      info.route = 'lambda';
      return this.lambda.handle(req, res, url.pathname);
    }
    if (url.pathname.startsWith(URL_PREFIX)) {
      if (this.draining) throw new ShuttingDownError();
      info.route = 'fn';
      return functionUrl(this, this.functions, req, res, url);
    }
    if (url.pathname === '/ui' || url.pathname.startsWith('/ui/')) {
      info.route = '/ui';
      return serveUi(req, res, url.pathname);
    }
    if (url.pathname === '/readyz') {
      return this.draining ? sendJson(res, 503, { status: 'draining' }) : sendJson(res, 200, { status: 'ready', engine: this.engine.kind });
    }
    if (this.draining) throw new ShuttingDownError();
    const route = this.router.find(req.method as 'GET', url.pathname);
    if (!route) throw new HttpError(404, 'NotFound', `no route for ${req.method} ${url.pathname}`);
    const { handler, path } = route.store as { handler: RouteHandler; path: string };
    info.route = path;
    await handler({ req, res, params: route.params, query: url.searchParams, signal, clientGone });
  }

  /** The request is answered: its metrics and its access log line. */
  private answered(req: GatewayRequest, res: GatewayResponse, info: RequestInfo, started: number): void {
    const seconds = (performance.now() - started) / 1000;
    const method = req.method ?? 'GET';
    const status = res.statusCode;
    this.metrics.requests.inc({ route: info.route, method, status });
    this.metrics.duration.observe({ route: info.route, method }, seconds);
    if (info.code !== undefined && status >= 400 && status !== 500) this.metrics.rejections.inc({ code: info.code, status });
    const line: Record<string, unknown> = { reqId: info.id, method, route: info.route, status, ms: Math.round(seconds * 1e4) / 10, client: req.socket?.remoteAddress };
    const bytesIn = Number(req.headers['content-length'] ?? info.bytesIn ?? 0);
    if (bytesIn) line.bytesIn = bytesIn;
    const bytesOut = Number(res.getHeader('content-length') ?? 0);
    if (bytesOut) line.bytesOut = bytesOut;
    if (info.stream) line.stream = info.stream;
    if (info.records) line.records = info.records;
    if (info.code) line.code = info.code;
    this.observer.log.info(line, `${method} ${info.route} ${status}`);
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

// Functions in the native API (what `sluice functions` and `sluice logs` read): the list, one
// function's configuration, counters, workers, queue and triggers, and its invocation logs.
import type { HTTPMethod } from 'find-my-way';
import { can } from '../auth/scopes.js';
import { ForbiddenError } from '../errors.js';
import type { Gateway, RequestContext, RouteHandler } from '../gateway.js';
import { HttpError } from '../http-error.js';
import { sendJson } from '../request.js';
import { logStreamOf, type InvocationLog } from '../../functions/logs.js';
import type { Functions } from '../../functions/functions.js';

const MAX_LOGS = 1_000;

export function functionRoutes(gw: Gateway): [HTTPMethod, string, RouteHandler][] {
  return [
    ['GET', '/v1/functions', (ctx) => list(gw, ctx)],
    ['GET', '/v1/functions/:name', (ctx) => describe(gw, ctx)],
    ['GET', '/v1/functions/:name/logs', (ctx) => logs(gw, ctx)],
  ];
}

function functionsOf(gw: Gateway): Functions {
  if (!gw.functions) throw new HttpError(404, 'FunctionNotFound', 'no functions are configured (sluice.config.ts: functions)');
  return gw.functions;
}

/** The caller may look at (and invoke) the function. */
function authorizeFunction(gw: Gateway, ctx: RequestContext, name: string): void {
  const principal = gw.principalOf(ctx.req);
  if (!can(principal, `function:${name}`, 'invoke')) throw new ForbiddenError(`key '${principal.id}' may not invoke function '${name}'`, `function:${name}`, 'invoke');
}

async function list(gw: Gateway, ctx: RequestContext) {
  const fns = functionsOf(gw);
  const principal = gw.principalOf(ctx.req);
  sendJson(ctx.res, 200, { functions: await Promise.all(fns.names().filter((n) => can(principal, `function:${n}`, 'invoke')).map((n) => fns.describe(n))) });
}

async function describe(gw: Gateway, ctx: RequestContext) {
  const name = ctx.params.name!;
  authorizeFunction(gw, ctx, name);
  sendJson(ctx.res, 200, await functionsOf(gw).describe(name));
}

/** `?requestId=` one invocation; `?limit=` the last N (default 20); `?from=` an offset, for following. */
async function logs(gw: Gateway, ctx: RequestContext) {
  const name = ctx.params.name!;
  authorizeFunction(gw, ctx, name);
  functionsOf(gw).get(name);
  const stream = logStreamOf(name);
  const { query } = ctx;
  const limit = Math.min(MAX_LOGS, Number(query.get('limit') ?? 20) || 20);
  const requestId = query.get('requestId');
  const info = (await gw.engine.describeStream(stream)).partitionInfo[0]!;
  const fromParam = query.get('from');
  let from = fromParam !== null && /^\d+$/.test(fromParam) ? Number(fromParam) : info.earliest;
  const out: InvocationLog[] = [];
  let next = from;
  // (A stream read of at most MAX_LOGS × a few pages: logs are kept 7 days.)
  for (;;) {
    const page = await gw.engine.read(stream, 0, from, 1_000);
    for (const r of page.records) {
      const log = JSON.parse(Buffer.from(r.value).toString()) as InvocationLog;
      if (requestId === null || log.requestId === requestId) out.push(log);
    }
    next = page.next;
    if (page.records.length === 0 || page.next >= info.next) break;
    from = page.next;
  }
  sendJson(ctx.res, 200, { logs: fromParam === null ? out.slice(-limit) : out, next });
}

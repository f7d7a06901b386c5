// Functions in the native API (what `sluice functions` and `sluice logs` read): the list, one
// function's configuration, counters, workers, queue and triggers, and its invocation logs.
import type { HTTPMethod } from 'find-my-way';
import { canFunction } from '../auth/scopes.js';
import { ForbiddenError } from '../errors.js';
import type { Gateway, RequestContext, RouteHandler } from '../gateway.js';
import { HttpError } from '../http-error.js';
import { sendJson } from '../request.js';
import { logStreamOf, type InvocationLog } from '../../functions/logs.js';
import type { Functions } from '../../functions/functions.js';

const MAX_LOGS = 1_000;
const DEFAULT_LOGS = 20;

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

/**
 * The caller may look at the function (`read` on `function:<name>`: its configuration, environment
 * included, and every invocation's logs — more than `invoke` gives, as in Lambda), and it exists.
 */
function authorizeFunction(gw: Gateway, ctx: RequestContext, name: string): Functions {
  const principal = gw.principalOf(ctx.req);
  if (!canFunction(principal, name, 'read')) throw new ForbiddenError(`key '${principal.id}' may not read function '${name}'`, `function:${name}`, 'read');
  const fns = functionsOf(gw);
  if (!fns.names().includes(name)) throw new HttpError(404, 'FunctionNotFound', `Function not found: ${name}`, { function: name });
  return fns;
}

async function list(gw: Gateway, ctx: RequestContext) {
  const fns = functionsOf(gw);
  const principal = gw.principalOf(ctx.req);
  sendJson(ctx.res, 200, { functions: await Promise.all(fns.names().filter((n) => canFunction(principal, n, 'read')).map((n) => fns.describe(n))) });
}

async function describe(gw: Gateway, ctx: RequestContext) {
  const name = ctx.params.name!;
  sendJson(ctx.res, 200, await authorizeFunction(gw, ctx, name).describe(name));
}

/** `?requestId=` one invocation; `?limit=` the last N (default 20); `?from=` an offset, for following. */
async function logs(gw: Gateway, ctx: RequestContext) {
  const name = ctx.params.name!;
  authorizeFunction(gw, ctx, name);
  const stream = logStreamOf(name);
  const { query } = ctx;
  const limitParam = query.get('limit');
  if (limitParam !== null && !/^[1-9]\d*$/.test(limitParam)) throw new HttpError(400, 'InvalidArgument', `limit must be a whole number from 1 to ${MAX_LOGS}, got '${limitParam}'`, { field: 'limit' });
  const limit = Math.min(MAX_LOGS, Number(limitParam ?? DEFAULT_LOGS));
  const requestId = query.get('requestId');
  const info = (await gw.engine.describeStream(stream)).partitionInfo[0]!;
  const fromParam = query.get('from');
  const keep = (log: InvocationLog) => requestId === null || log.requestId === requestId;
  if (fromParam !== null || requestId !== null) {
    const from = fromParam !== null && /^\d+$/.test(fromParam) ? Number(fromParam) : info.earliest;
    const { logs: found, next } = await readLogs(gw, stream, from, info.next, keep);
    return sendJson(ctx.res, 200, { logs: fromParam === null ? found.slice(-limit) : found, next });
  }
  // The last `limit`: read back from the end in growing windows, not the whole retained stream.
  for (let window = limit; ; window *= 4) {
    const from = Math.max(info.earliest, info.next - window);
    const { logs: found, next } = await readLogs(gw, stream, from, info.next, keep);
    if (found.length >= limit || from === info.earliest) return sendJson(ctx.res, 200, { logs: found.slice(-limit), next });
  }
}

/** The logs stored from `from` up to `end` (the stream's next offset when the request came) that `keep` keeps. */
async function readLogs(gw: Gateway, stream: string, from: number, end: number, keep: (log: InvocationLog) => boolean): Promise<{ logs: InvocationLog[]; next: number }> {
  const out: InvocationLog[] = [];
  let next = from;
  for (;;) {
    const page = await gw.engine.read(stream, 0, next, 1_000);
    for (const r of page.records) {
      const log = JSON.parse(Buffer.from(r.value).toString()) as InvocationLog;
      if (keep(log)) out.push(log);
    }
    const done = page.records.length === 0 || page.next >= end;
    next = Math.max(next, page.next);
    if (done) return { logs: out, next };
  }
}

// Live tail over Server-Sent Events: one reader per partition, each waiting on the engine for
// new data (no polling), writing `record` events; heartbeats keep proxies from closing the line.
import type { ServerResponse } from 'node:http';
import type { Gateway, RequestContext } from '../gateway.js';
import { HttpError } from '../http-error.js';
import { parseFrom, recordJson } from './wire.js';

export const TAIL_BATCH = 500;
export const HEARTBEAT_MS = 15_000;

export async function tail(gw: Gateway, { req, res: anyRes, params, query, signal }: RequestContext): Promise<void> {
  const res = anyRes as ServerResponse; // HTTP/2's compat response has the same methods
  const stream = params.name!;
  gw.authorize(req, stream, 'read');
  const info = await gw.streamInfo(stream);
  const from = query.has('from') || query.has('since') ? parseFrom(query) : 'latest';
  const only = query.get('partition');
  if (only !== null && !(/^\d+$/.test(only) && Number(only) < info.partitions)) {
    throw new HttpError(400, 'InvalidArgument', `'partition' must be 0-${info.partitions - 1}`, { field: 'partition' });
  }
  const partitions = only === null ? [...Array(info.partitions).keys()] : [Number(only)];
  const starts = await Promise.all(partitions.map((p) => gw.engine.resolve(stream, p, from)));
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', 'x-accel-buffering': 'no' });
  res.write(`: tailing ${stream}\n\n`);
  const heartbeat = setInterval(() => res.write(': keep-alive\n\n'), HEARTBEAT_MS);
  try {
    await Promise.all(partitions.map((p, i) => follow(gw, res, stream, p, starts[i]!, signal)));
  } finally {
    clearInterval(heartbeat);
    res.end();
  }
}

async function follow(gw: Gateway, res: ServerResponse, stream: string, partition: number, start: number, signal: AbortSignal) {
  let offset = start;
  while (!signal.aborted) {
    const { records, next } = await gw.engine.read(stream, partition, offset, TAIL_BATCH);
    offset = next;
    if (records.length === 0) {
      await gw.engine.waitFor(stream, partition, offset, { signal });
      continue;
    }
    let text = '';
    for (const r of records) text += `id: ${r.partition}-${r.offset}\nevent: record\ndata: ${JSON.stringify(recordJson(r))}\n\n`;
    if (!res.write(text)) await new Promise<void>((resolve) => {
      const done = () => {
        signal.removeEventListener('abort', done);
        resolve();
      };
      res.once('drain', done);
      signal.addEventListener('abort', done, { once: true });
    });
  }
}

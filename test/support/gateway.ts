// Starts a gateway on a free loopback port over a fresh engine, for tests.
import { ManualClock, systemClock, type Clock } from '../../src/clock.js';
import type { Engine } from '../../src/engine/engine.js';
import { SqliteEngine } from '../../src/engine/sqlite/index.js';
import { Gateway } from '../../src/gateway/gateway.js';
import type { GatewayOptions } from '../../src/gateway/options.js';
import { tempDir } from './tmp.js';

export interface TestGateway {
  gw: Gateway;
  engine: Engine;
  url: string;
  clock: Clock;
  close(): Promise<void>;
}

export type EngineFactory = (clock: Clock) => Promise<Engine>;

export const sqliteFactory: EngineFactory = async (clock) =>
  new SqliteEngine({ dataDir: tempDir(), clock, retentionIntervalMs: 0 });

export async function startGateway(options: GatewayOptions = {}, opts: { clock?: Clock; engine?: EngineFactory } = {}): Promise<TestGateway> {
  const clock = opts.clock ?? systemClock;
  const engine = await (opts.engine ?? sqliteFactory)(clock);
  const gw = new Gateway(engine, { port: 0, ...options }, clock);
  await gw.listen();
  return {
    gw,
    engine,
    url: gw.url,
    clock,
    async close() {
      await gw.close();
      await engine.close();
    },
  };
}

export { ManualClock };

/** POSTs a JSON value (or raw text) and returns status, headers and parsed body. */
export async function post(url: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; headers: Headers; body: any }> {
  const raw = typeof body === 'string' ? body : body instanceof Uint8Array ? new Blob([new Uint8Array(body)]) : JSON.stringify(body);
  const res = await fetch(url, { method: 'POST', body: raw, headers: { 'content-type': 'application/json', ...headers } });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined };
}

export async function get(url: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: Headers; body: any }> {
  const res = await fetch(url, { headers });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined };
}

// `sluice dev --demo`: a stream of video-player events, a producer posting to it through the
// gateway, and a live view of what arrives (read back through the gateway's SSE tail).
import { dirname, resolve } from 'node:path';
import { importModule } from '../../load-module.js';
import type { PipelineRun } from '../../dataflow/runtime/runner.js';
import type { Gateway } from '../../gateway/gateway.js';
import { produce } from './producer.js';
import { LiveView } from './view.js';

export const DEMO_STREAM = 'player-events';

export function runDemo(gateway: Gateway): { stop(): Promise<void> } {
  const ac = new AbortController();
  const view = new LiveView(DEMO_STREAM, gateway.url);
  const errors = (e: string) => view.error(e);
  const running = (async () => {
    const res = await fetch(`${gateway.url}/v1/streams`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: DEMO_STREAM, partitions: 4, partitionKeyField: 'sessionId', retention: '7d' }),
    });
    if (res.status !== 201 && res.status !== 409) throw new Error(`cannot create the demo stream: ${res.status} ${await res.text()}`);
    await Promise.all([produce(gateway.url, DEMO_STREAM, ac.signal, errors), view.follow(gateway.url, ac.signal)]);
  })().catch((e: Error) => {
    if (!ac.signal.aborted) errors(e.message);
  });
  return {
    async stop() {
      ac.abort();
      view.close();
      await running;
    },
  };
}

/** What a configuration's demo module (dataflow.demo) gets: where to post, where tables are, the runs. */
export interface DemoContext {
  url: string;
  tablesPath: string;
  runs: PipelineRun[];
  signal: AbortSignal;
}

/** Runs the configuration's demo module until stopped. */
export function runModuleDemo(file: string, configSource: string | undefined, ctx: Omit<DemoContext, 'signal'>): { stop(): Promise<void> } {
  const ac = new AbortController();
  const path = resolve(configSource ? dirname(configSource) : process.cwd(), file);
  const running = (async () => {
    const mod = await importModule(path);
    const fn = typeof mod.default === 'function' ? mod.default : (mod.default as { default?: unknown } | undefined)?.default;
    if (typeof fn !== 'function') throw new Error(`${path} has no default export function`);
    await (fn as (c: DemoContext) => Promise<void>)({ ...ctx, signal: ac.signal });
  })().catch((e: Error) => {
    if (!ac.signal.aborted) process.stderr.write(`demo: ${e.message}\n`);
  });
  return {
    async stop() {
      ac.abort();
      await running;
    },
  };
}

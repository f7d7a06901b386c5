// `sluice dev --demo`: a stream of video-player events, a producer posting to it through the
// gateway, and a live view of what arrives (read back through the gateway's SSE tail).
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

// The demo producer: video-player events posted to the gateway over HTTP in batches, each
// batch with an Idempotency-Key, as a real player fleet would.
import { randomUUID } from 'node:crypto';

const EVENTS = ['play', 'pause', 'seek', 'buffer', 'complete', 'ad_start'] as const;
const WEIGHTS = [40, 15, 10, 20, 5, 10];
export const DEMO_BATCH = 100;
export const DEMO_INTERVAL_MS = 200;

function pick(): (typeof EVENTS)[number] {
  let r = Math.random() * 100;
  for (let i = 0; i < EVENTS.length; i++) if ((r -= WEIGHTS[i]!) < 0) return EVENTS[i]!;
  return 'play';
}

export function playerEvent(now: number) {
  const session = Math.floor(Math.random() * 500);
  return {
    eventId: randomUUID(),
    sessionId: `s-${session}`,
    videoId: `v-${session % 37}`,
    event: pick(),
    position: Math.round(Math.random() * 3600),
    player: { version: '4.2.1', os: session % 3 === 0 ? 'ios' : session % 3 === 1 ? 'android' : 'web' },
    ts: now,
  };
}

/** Posts a batch every DEMO_INTERVAL_MS until the signal aborts. */
export async function produce(url: string, stream: string, signal: AbortSignal, onError: (e: string) => void): Promise<void> {
  while (!signal.aborted) {
    const body = Array.from({ length: DEMO_BATCH }, () => JSON.stringify(playerEvent(Date.now()))).join('\n');
    try {
      const res = await fetch(`${url}/v1/streams/${stream}/records`, {
        method: 'POST',
        body,
        headers: { 'content-type': 'application/x-ndjson', 'idempotency-key': randomUUID() },
        signal,
      });
      if (res.status !== 200) onError(`producer: ${res.status} ${await res.text()}`);
    } catch (e) {
      if (!signal.aborted) onError(`producer: ${(e as Error).message}`);
    }
    await new Promise((r) => setTimeout(r, DEMO_INTERVAL_MS));
  }
}

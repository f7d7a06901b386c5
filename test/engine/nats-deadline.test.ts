// The 'nats' dependency's own deadline (requestTimeoutMs + 1 s) releases a call whose request is
// still in flight (a call of several requests, or a client that did not time out): a compare-and-
// set released so may still run, so it is not sent again; an idempotent read is. Real nats-server,
// paused with SIGSTOP; the policies on a ManualClock moved past the deadline and the backoff.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { jetstream } from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { ManualClock } from '../../src/clock.js';
import { EngineUnavailableError } from '../../src/engine/errors.js';
import { guardKv } from '../../src/engine/nats/guard.js';
import { DEFAULT_NATS_MAX_DELAY_MS, NATS_TIMEOUT_GRACE_MS, NatsRequests } from '../../src/engine/nats/requests.js';
import { Dependencies, TimeoutError, type GiveUpEvent } from '../../src/resilience/index.js';
import { startNats, type NatsServer } from '../support/nats.js';

/** Long enough that the client's own timeout never fails an attempt here: only the policy's deadline does. */
const REQUEST_TIMEOUT_MS = 5_000;

let server: NatsServer;
let nc: NatsConnection;
beforeAll(async () => {
  server = await startNats();
  nc = await connect({ servers: server.url });
}, 30_000);
afterAll(async () => {
  await nc?.close();
  await server.stop();
});
afterEach(() => server.resume());

async function setup() {
  const clock = new ManualClock(1_000_000);
  const deps = new Dependencies({ clock });
  const requests = new NatsRequests(clock, REQUEST_TIMEOUT_MS, { dependencies: deps });
  const raw: KV = await new Kvm(jetstream(nc, { timeout: REQUEST_TIMEOUT_MS })).create(`d${randomBytes(4).toString('hex')}`, { history: 1 });
  const kv = guardKv(raw, requests);
  const d = requests.dependency;
  const giveUps: GiveUpEvent[] = [];
  d.retry!.onGiveUp((e) => giveUps.push(e));
  d.retry!.onRetry(() => queueMicrotask(() => clock.advance(DEFAULT_NATS_MAX_DELAY_MS))); // past the backoff as soon as it is decided
  /** Lets the request go out (the server is paused: it waits in its socket), then moves past the policy's deadline. */
  const pastDeadline = async () => {
    await new Promise((r) => setTimeout(r, 20));
    clock.advance(REQUEST_TIMEOUT_MS + NATS_TIMEOUT_GRACE_MS + 20);
    await new Promise((r) => setTimeout(r, 20));
  };
  return { raw, kv, d, giveUps, pastDeadline, cleanup: () => (requests.dispose(), deps.dispose()) };
}

describe('nats requests released at the policy deadline', () => {
  it('a KV update released at the deadline is not sent again: it fails as unavailable (its outcome unknown), and its one write is the only one', async () => {
    const { raw, kv, d, giveUps, pastDeadline, cleanup } = await setup();
    try {
      const rev = await raw.put('k', 'v0');
      server.pause();
      const update = kv.update('k', 'v1', rev);
      update.catch(() => {});
      await pastDeadline();
      server.resume();
      const error = await update.then(() => undefined, (e: unknown) => e);
      expect(error).toBeInstanceOf(EngineUnavailableError);
      expect((error as Error).cause).toBeInstanceOf(TimeoutError);
      // The policies decide the retry (counted), and the engine refuses it before anything is sent.
      expect(d.stats).toMatchObject({ calls: 1, retries: 1, attempts: 2, failures: 1 });
      expect(giveUps.map((g) => [g.reason, g.attempts])).toEqual([['not-retriable', 2]]);
      let e = await raw.get('k'); // the released update lands, once the resumed server has read it
      for (const end = Date.now() + 10_000; e?.revision !== rev + 1 && Date.now() < end; e = await raw.get('k')) await new Promise((r) => setTimeout(r, 20));
      expect({ value: e?.string(), revision: e?.revision }).toEqual({ value: 'v1', revision: rev + 1 });
    } finally {
      cleanup();
    }
  });

  it('a KV read released at the deadline is sent again', async () => {
    const { raw, kv, d, pastDeadline, cleanup } = await setup();
    try {
      await raw.put('k', 'v0');
      server.pause();
      const read = kv.get('k');
      await pastDeadline();
      server.resume();
      expect((await read)?.string()).toBe('v0');
      expect(d.stats).toMatchObject({ calls: 1, retries: 1, attempts: 2 });
    } finally {
      cleanup();
    }
  });
});

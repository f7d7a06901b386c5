// The nats engine's requests through the 'nats' dependency, against a real nats-server that is
// paused (SIGSTOP: it answers nothing, and reads what waited once resumed). The policies run on a
// ManualClock; the client's own request timeout (300 ms) is what fails an attempt while paused,
// and each backoff is passed by moving the clock when the retry is decided.
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { randomBytes } from 'node:crypto';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { connect } from '@nats-io/transport-node';
import { ManualClock } from '../../src/clock.js';
import { EngineUnavailableError } from '../../src/engine/errors.js';
import { NatsEngine } from '../../src/engine/nats/index.js';
import type { DedupStore } from '../../src/engine/nats/dedup.js';
import { guardJsm, guardKv } from '../../src/engine/nats/guard.js';
import { DEFAULT_NATS_MAX_DELAY_MS, NatsRequests, type NatsPolicyOptions } from '../../src/engine/nats/requests.js';
import { silentLogger } from '../../src/observe/log.js';
import { BrokenCircuitError, Dependencies, type Dependency, type DependencyStats, type GiveUpEvent } from '../../src/resilience/index.js';
import { allRecords } from '../support/engines.js';
import { startNats, type NatsServer } from '../support/nats.js';

const REQUEST_TIMEOUT_MS = 300;

let server: NatsServer;
beforeAll(async () => {
  server = await startNats();
}, 30_000);
afterAll(async () => {
  await server.stop();
});
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  server.resume();
  for (const c of cleanups.splice(0).reverse()) await c();
});

/**
 * An engine whose policies run on `clock`, with the process's dependencies `deps`. The client's
 * request timeout (real time) fails an attempt; the policy's deadline, on the manual clock, is
 * set far so that moving the clock past a backoff does not also release the calls in flight.
 */
async function open(clock: ManualClock, deps: Dependencies, policies: NatsPolicyOptions = {}) {
  const config = { kind: 'nats' as const, servers: server.url, prefix: `t${randomBytes(4).toString('hex')}`, requestTimeoutMs: REQUEST_TIMEOUT_MS };
  const engine = await NatsEngine.open(config, clock, silentLogger(), { dependencies: deps, policies: { timeout: { timeoutMs: 600_000 }, ...policies } });
  cleanups.push(() => engine.close(), () => deps.dispose());
  return engine;
}

/**
 * Moves the clock past the backoffs once `hold` retries were decided (calling `release` then: the
 * server resumes), and past each later one as soon as it is decided.
 */
function passBackoffs(d: Dependency, clock: ManualClock, { hold = 1, release = () => {} }: { hold?: number; release?: () => void } = {}) {
  let retries = 0;
  const off = d.retry!.onRetry(() => {
    if (++retries < hold) return;
    if (retries === hold) release();
    queueMicrotask(() => clock.advance(DEFAULT_NATS_MAX_DELAY_MS)); // the waits are registered synchronously after the event
  });
  cleanups.push(off);
}

/** The counters' change since `before`. */
function delta(after: DependencyStats, before: DependencyStats) {
  const keys = ['calls', 'successes', 'failures', 'attempts', 'retries', 'budgetRefusals', 'breakerRejections'] as const;
  return Object.fromEntries(keys.map((k) => [k, after[k] - before[k]]));
}

const values = (n: number, tag: string) => Array.from({ length: n }, (_, i) => ({ value: Buffer.from(JSON.stringify({ tag, i })) }));
const stored = async (engine: NatsEngine, stream: string) => (await allRecords(engine, stream)).map((r) => Buffer.from(r.value).toString()).sort();
const expected = (n: number, tag: string) => values(n, tag).map((r) => r.value.toString()).sort();

describe('nats engine: requests through the nats dependency, with nats-server paused', () => {
  it('takes its policies from the engine config too (sluice.config.ts engine.policy): one attempt means a paused server fails the request without a retry', async () => {
    const clock = new ManualClock(1_000_000);
    const deps = new Dependencies({ clock });
    const config = { kind: 'nats' as const, servers: server.url, prefix: `t${randomBytes(4).toString('hex')}`, requestTimeoutMs: REQUEST_TIMEOUT_MS, policies: { retry: { maxAttempts: 1 } } };
    const engine = await NatsEngine.open(config, clock, silentLogger(), { dependencies: deps });
    cleanups.push(() => engine.close(), () => deps.dispose());
    await engine.createStream('s', { partitions: 1 });
    const nats = engine.requests.dependency;
    const before = nats.stats;
    server.pause();
    await expect(engine.describeStream('s')).rejects.toBeInstanceOf(EngineUnavailableError);
    expect(delta(nats.stats, before)).toEqual({ calls: 1, successes: 0, failures: 1, attempts: 1, retries: 0, budgetRefusals: 0, breakerRejections: 0 });
  }, 30_000);


  it('a publish that timed out while the server was paused is sent again under its message id: every record stored once, one retry counted', async () => {
    const clock = new ManualClock(1_000_000);
    const deps = new Dependencies({ clock });
    const engine = await open(clock, deps);
    const nats = engine.requests.dependency;
    await engine.createStream('s', { partitions: 1 });
    await engine.append('s', values(10, 'warm')); // the partition's last timestamp is known: the append's requests are its stream's read and the publish
    passBackoffs(nats, clock, { release: () => server.resume() });
    const publish = engine.requests.publish.bind(engine.requests);
    vi.spyOn(engine.requests, 'publish').mockImplementationOnce((...args) => (server.pause(), publish(...args))); // paused as the chunk goes out
    const before = nats.stats;
    const results = await engine.append('s', values(100, 'paused'));
    // The first attempt was stored once the server read it; the retry was answered as its duplicate: the call's own write.
    expect(results.map((r) => ('offset' in r ? r.duplicate ?? false : r.error.message))).toEqual(Array(100).fill(false));
    // Two calls: the stream's metadata read, and the publish with its one retry.
    expect(delta(nats.stats, before)).toEqual({ calls: 2, successes: 2, failures: 0, attempts: 3, retries: 1, budgetRefusals: 0, breakerRejections: 0 });
    expect(await stored(engine, 's')).toEqual([...expected(10, 'warm'), ...expected(100, 'paused')].sort());
    const offsets = results.map((r) => ('offset' in r ? r.offset : -1));
    expect((await allRecords(engine, 's')).slice(10).map((r) => r.offset)).toEqual(offsets);
  }, 30_000);

  it('appends with ids whose de-duplication reads timed out are retried, and a resend of the same ids stores nothing twice', async () => {
    const clock = new ManualClock(1_000_000);
    const deps = new Dependencies({ clock });
    const engine = await open(clock, deps, { breaker: { minimumCalls: 100 } }); // 40 of 50 calls failing would open the default breaker
    const nats = engine.requests.dependency;
    await engine.createStream('s', { partitions: 2 });
    const keys = ['k0', 'k1', 'k2', 'k3', 'k4'];
    await engine.append('s', keys.map((key) => ({ id: `warm:${key}`, key, value: Buffer.from(`"${key}"`) }))); // the de-duplication bucket exists, each partition's last timestamp is known
    const records = Array.from({ length: 40 }, (_, i) => ({ id: `req:${i}`, key: keys[i % 5]!, value: Buffer.from(`{"i":${i}}`) }));
    // The 40 id lookups go out at once to the paused server and time out; it resumes when all 40 retries were decided.
    passBackoffs(nats, clock, { hold: 40, release: () => server.resume() });
    const dedup = (engine as unknown as { dedup: DedupStore }).dedup;
    const lookup = dedup.lookup.bind(dedup);
    vi.spyOn(dedup, 'lookup').mockImplementationOnce((...args) => (server.pause(), lookup(...args))); // paused as the lookups go out
    const before = nats.stats;
    const first = await engine.append('s', records);
    expect(first.every((r) => 'offset' in r && !r.duplicate)).toBe(true);
    // The stream's metadata read, 40 lookups retried once each, 2 publishes (a partition each), 40 ids remembered.
    expect(delta(nats.stats, before)).toEqual({ calls: 83, successes: 83, failures: 0, attempts: 123, retries: 40, budgetRefusals: 0, breakerRejections: 0 });
    expect(await engine.append('s', records)).toEqual(first.map((r) => ({ ...r, duplicate: true })));
    expect(await stored(engine, 's')).toEqual([...keys.map((k) => `"${k}"`), ...records.map((r) => r.value.toString())].sort());
  }, 30_000);

  it('retries of a dependency failing every call stay within the server-wide budget (20 % of requests plus its reserve), then are refused', async () => {
    const clock = new ManualClock(1_000_000);
    // 10 requests deposit 2 retries' worth; the reserve is 0.1/s over the 10 s ttl: 1 more. Then no retry.
    const deps = new Dependencies({ clock, serverBudget: { percentCanRetry: 0.2, minRetriesPerSec: 0.1 } });
    const engine = await open(clock, deps);
    const nats = engine.requests.dependency;
    clock.advance(11_000); // what opening the engine deposited has expired
    passBackoffs(nats, clock);
    const giveUps: GiveUpEvent[] = [];
    cleanups.push(nats.retry!.onGiveUp((e) => giveUps.push(e)));
    const before = nats.stats;
    server.pause();
    const outcomes = await Promise.allSettled(Array.from({ length: 10 }, (_, i) => engine.getState(`k${i}`)));
    expect(outcomes.map((o) => (o.status === 'rejected' ? (o.reason as Error).name : 'fulfilled'))).toEqual(Array(10).fill('EngineUnavailableError'));
    expect(delta(nats.stats, before)).toEqual({ calls: 10, successes: 0, failures: 10, attempts: 13, retries: 3, budgetRefusals: 10, breakerRejections: 0 });
    expect(giveUps.map((g) => [g.reason, g.budget])).toEqual(Array(10).fill(['budget', 'server']));
  }, 30_000);

  it('while the server stays paused the breaker opens and a call fails fast with its error; trial calls close it once the server answers', async () => {
    const clock = new ManualClock(1_000_000);
    const deps = new Dependencies({ clock });
    const engine = await open(clock, deps, {
      timeout: { timeoutMs: 60_000 },
      retry: { maxAttempts: 2, baseDelayMs: 10, maxDelayMs: 10 },
      breaker: { window: { kind: 'count', size: 4 }, minimumCalls: 4, openMs: 5_000, halfOpenCalls: 2 },
      bulkhead: false,
    });
    const nats = engine.requests.dependency;
    await engine.getState('k');
    passBackoffs(nats, clock);
    server.pause();
    // The window of 4: the success above and 3 timeouts (a call's two attempts, the next call's first) open the circuit; that call's retry is refused.
    await expect(engine.getState('k')).rejects.toThrow(new EngineUnavailableError('NATS: timeout'));
    await expect(engine.getState('k')).rejects.toThrow(new EngineUnavailableError("NATS: the circuit of 'nats' is open; trial calls in 5000 ms"));
    expect(nats.stats.breakerState).toBe('open');
    const before = nats.stats;
    const refused = await engine.getState('k').catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(EngineUnavailableError);
    expect((refused as Error).message).toBe("NATS: the circuit of 'nats' is open; trial calls in 5000 ms");
    expect((refused as Error).cause).toBeInstanceOf(BrokenCircuitError);
    expect(delta(nats.stats, before)).toEqual({ calls: 1, successes: 0, failures: 1, attempts: 1, retries: 0, budgetRefusals: 0, breakerRejections: 1 });
    server.resume();
    clock.advance(5_000);
    expect(await engine.getState('k')).toBeUndefined(); // the first trial call half-opens the circuit
    expect(nats.stats.breakerState).toBe('half-open');
    expect(await engine.getState('k')).toBeUndefined();
    expect(nats.stats.breakerState).toBe('closed');
    expect(nats.stats.breakerTransitions).toEqual({ open: 1, 'half-open': 1, closed: 1 });
  }, 30_000);
});

describe('nats engine: which requests are sent again', () => {
  /** A KV bucket and the JetStream manager on a connection of their own, through a 'nats' dependency on `clock`. */
  async function guarded(clock: ManualClock) {
    const deps = new Dependencies({ clock });
    const requests = new NatsRequests(clock, REQUEST_TIMEOUT_MS, { dependencies: deps, policies: { timeout: { timeoutMs: 600_000 } } });
    const nc = await connect({ servers: server.url });
    const js = jetstream(nc, { timeout: REQUEST_TIMEOUT_MS });
    const kv = guardKv(await new Kvm(js).create(`t${randomBytes(4).toString('hex')}`, { history: 1 }), requests);
    const jsm = guardJsm(await jetstreamManager(nc, { timeout: REQUEST_TIMEOUT_MS }), requests);
    cleanups.push(async () => (await nc.close(), deps.dispose()));
    const giveUps: GiveUpEvent['reason'][] = [];
    cleanups.push(requests.dependency.retry!.onGiveUp((e) => giveUps.push(e.reason)));
    return { kv, jsm, nats: requests.dependency, giveUps };
  }

  it('a compare-and-set update that timed out is not sent again (it may have run); a read that timed out is', async () => {
    const clock = new ManualClock(1_000_000);
    const { kv, nats, giveUps } = await guarded(clock);
    const revision = await kv.put('k', 'v1');
    passBackoffs(nats, clock, { release: () => server.resume() });
    server.pause();
    const before = nats.stats;
    await expect(kv.update('k', 'v2', revision)).rejects.toThrow(new EngineUnavailableError('NATS: timeout'));
    expect(delta(nats.stats, before)).toEqual({ calls: 1, successes: 0, failures: 1, attempts: 1, retries: 0, budgetRefusals: 0, breakerRejections: 0 });
    expect(giveUps).toEqual(['not-retriable']);
    const read = nats.stats;
    expect((await kv.get('k'))!.string()).toBe('v2'); // the server ran the update once it was resumed; the read waited for it
    expect(delta(nats.stats, read)).toEqual({ calls: 1, successes: 1, failures: 0, attempts: 2, retries: 1, budgetRefusals: 0, breakerRejections: 0 });
  }, 30_000);

  it("the server's refusals (wrong last sequence, stream not found) are not retried and do not count against the breaker", async () => {
    const clock = new ManualClock(1_000_000);
    const { kv, jsm, nats, giveUps } = await guarded(clock);
    const revision = await kv.put('k', 'v1');
    await kv.put('k', 'v2');
    const before = nats.stats;
    await expect(kv.update('k', 'v3', revision)).rejects.toThrow(/wrong last sequence/);
    await expect(jsm.streams.info('NOT_THERE')).rejects.toMatchObject({ name: 'StreamNotFoundError' });
    expect(delta(nats.stats, before)).toEqual({ calls: 2, successes: 0, failures: 2, attempts: 2, retries: 0, budgetRefusals: 0, breakerRejections: 0 });
    expect(giveUps).toEqual(['not-retriable', 'not-retriable']);
    expect(nats.breaker!.state).toBe('closed');
  }, 30_000);
});

// The webhook sink against a real local HTTP server: the sink conformance suite, then a receiver
// that times out, answers 500, answers 429 with Retry-After, hangs and drops connections.
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { validateConfig } from '../../src/config/index.js';
import { streamSinkPipeline } from '../../src/connectors/config.js';
import type { DependencyFor } from '../../src/connectors/postgres/index.js';
import { verifyWebhookSignature, WebhookSink, type WebhookBody } from '../../src/connectors/webhook/index.js';
import { PipelineRun } from '../../src/dataflow/runtime/runner.js';
import { resetPipeline } from '../../src/cli/pipelines.js';
import { SqliteEngine } from '../../src/engine/sqlite/index.js';
import { allRecords } from '../support/engines.js';
import { tempDir } from '../support/tmp.js';
import { Dependencies, type Dependency } from '../../src/resilience/index.js';
import { sinkConformance, type Row } from './conformance.js';
import { Receiver, type Behaviour } from './receiver.js';

const receivers: Receiver[] = [];
afterEach(async () => {
  for (const r of receivers.splice(0)) await r.close();
});

/** Dependencies made once per name, as a thread's SinkSet makes them. */
export function dependencies(deps = new Dependencies()): DependencyFor {
  const made = new Map<string, Dependency>();
  return (name, o) => made.get(name) ?? made.set(name, deps.policyFor(name, o)).get(name)!;
}

sinkConformance('webhook', async () => {
  const receiver = new Receiver();
  receivers.push(receiver);
  const url = await receiver.listen();
  // The receiver refuses a POST holding a record marked bad (one record per POST here: that record alone).
  receiver.behave = (body) => (body.records.some((r) => r.value.bad) ? { status: 400 } : 'ok');
  const deps = new Dependencies();
  const dependencyFor = dependencies(deps);
  const options = { url, batchSize: 1, policy: { retry: { baseDelayMs: 1 } } };
  return {
    name: 'webhook.t',
    attach: (s) => s.toWebhook('t', options),
    open: () => new WebhookSink(options, dependencyFor),
    state: async () => new Map([...receiver.state()].map(([k, v]) => [JSON.parse(k)[0] as string, v as Row])),
    badRow: (id) => ({ id, n: 0, bad: true }),
    deliveries() {
      const out = new Map<string, Set<string>>();
      for (const q of receiver.delivered) for (const r of JSON.parse(q.body).records) out.set(r.id, (out.get(r.id) ?? new Set()).add(q.key));
      return out;
    },
    async close() {
      deps.dispose();
    },
  };
});

const runs: PipelineRun[] = [];
const engines: SqliteEngine[] = [];
afterEach(async () => {
  for (const r of runs.splice(0)) await r.stop();
  for (const e of engines.splice(0)) await e.close();
});

async function until(cond: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A configured stream sink (`sinks.alerts` in sluice.config.ts) running on a sqlite engine, `n` records in its stream. */
async function streamSink(config: Record<string, unknown>, n: number) {
  const engine = new SqliteEngine({ dataDir: join(tempDir(), 'data') });
  engines.push(engine);
  await engine.createStream('alerts', { partitions: 1 });
  const values = Array.from({ length: n }, (_, i) => ({ alert: `a${i}`, video: `v${i % 5}` }));
  await engine.append('alerts', values.map((v) => ({ partition: 0, value: new TextEncoder().encode(JSON.stringify(v)) })));
  const cfg = validateConfig({ sinks: { alerts: { kind: 'webhook', stream: 'alerts', ...config } } }).sinks!.alerts!;
  const run = await PipelineRun.start(engine, streamSinkPipeline('alerts', cfg), { tablesPath: join(tempDir(), 't.db') });
  runs.push(run);
  return { engine, run, values };
}

const SECRET = 'whsec_0123456789abcdef';

describe('webhook deliveries through failures', () => {
  it('a receiver that answers 500, 429 with Retry-After, too late, never, or drops the connection: every batch delivered, one idempotency key per batch across its retries, every signature valid', async () => {
    const receiver = new Receiver();
    receivers.push(receiver);
    const url = await receiver.listen();
    const script: Behaviour[] = [{ status: 500 }, 'ok', { status: 429, headers: { 'retry-after': '1' } }, 'ok', { slowMs: 1_500 }, 'ok', 'hang', 'ok', 'close', 'ok', { status: 503 }];
    receiver.behave = (_, n) => script[n] ?? 'ok';
    const { run, values } = await streamSink({ url, batchSize: 10, timeout: 400, signing: { secret: SECRET } }, 60);
    await until(() => new Set(receiver.delivered.flatMap((q) => JSON.parse(q.body).records.map((r: { value: { alert: string } }) => r.value.alert))).size === 60 && run.idle, 'every record delivered');
    // Every record arrived, in order, each under one key; a key's retries carried the same body.
    const byKey = new Map<string, Set<string>>();
    for (const q of receiver.requests) {
      const records = (JSON.parse(q.body) as WebhookBody).records;
      byKey.set(q.key, (byKey.get(q.key) ?? new Set()).add(JSON.stringify(records)));
    }
    for (const [, bodies] of byKey) expect(bodies.size).toBe(1);
    const firstTimes = [...byKey.values()].map((b) => [...b][0]!).flatMap((b) => (JSON.parse(b) as WebhookBody['records']).map((r) => r.value.alert));
    expect(firstTimes).toEqual(values.map((v) => v.alert));
    expect(receiver.requests.map((q) => q.key)).toContain(receiver.requests[0]!.key);
    expect(receiver.requests[1]!.key).toBe(receiver.requests[0]!.key); // the 500 was retried under its key
    // 429 with Retry-After: 1 — its retry waited at least a second.
    expect(receiver.requests[3]!.key).toBe(receiver.requests[2]!.key);
    expect(receiver.requests[3]!.at - receiver.requests[2]!.at).toBeGreaterThanOrEqual(950);
    for (const q of receiver.requests) expect(verifyWebhookSignature(SECRET, q.signature, q.body)).toBe(true);
    expect(verifyWebhookSignature('another secret of 16+', receiver.requests[0]!.signature, receiver.requests[0]!.body)).toBe(false);
    expect(verifyWebhookSignature(SECRET, receiver.requests[0]!.signature, receiver.requests[0]!.body + ' ')).toBe(false);
    const stats = run.dependencyStats()[0]!;
    expect(stats.timeouts).toBeGreaterThanOrEqual(2); // the slow answer and the hung one
    expect(stats.retries).toBeGreaterThanOrEqual(6);
  });

  it("a 4xx other than 408 and 429 sends that POST's records to the errors stream with their input; the next POSTs are delivered", async () => {
    const receiver = new Receiver();
    receivers.push(receiver);
    const url = await receiver.listen();
    receiver.behave = (body) => (body.records.some((r) => r.value.alert === 'a12') ? { status: 422 } : 'ok');
    const { engine, run, values } = await streamSink({ url, batchSize: 5 }, 30);
    await until(() => receiver.delivered.length === 5 && run.idle, 'the other POSTs');
    const errors = (await allRecords(engine, 'alerts-errors')).map((r) => JSON.parse(Buffer.from(r.value).toString()) as { error: string; value: { alert: string } });
    expect(errors.map((e) => e.value)).toEqual(values.slice(10, 15));
    expect(errors[0]!.error).toBe('webhook answered 422: status 422');
    expect(receiver.requests.filter((q) => q.answer !== 'ok')).toHaveLength(1); // refused once, not retried
  });

  it('a receiver failing 100% of calls under load: retries stay within the budget (≤ 20% of calls + the reserve of 10/s over 10 s)', async () => {
    const receiver = new Receiver();
    receivers.push(receiver);
    const url = await receiver.listen();
    receiver.behave = () => ({ status: 500 });
    const deps = new Dependencies();
    // 10 attempts a call: the budgets are the only limit. No breaker: it would stop the load.
    const sink = new WebhookSink({ url, policy: { retry: { maxAttempts: 10, baseDelayMs: 1, maxDelayMs: 4 }, breaker: false, bulkhead: { maxConcurrent: 64, maxQueued: 64 } } }, dependencies(deps));
    const row = { key: ['k'], value: { alert: 'x' }, deleted: false, place: '0.0' };
    let calls = 0;
    const until = Date.now() + 3_000;
    await Promise.all(Array.from({ length: 64 }, async (_, w) => {
      for (let i = 0; Date.now() < until; i++) {
        calls++;
        await sink.write({ pipeline: 'load', sink: 'webhook.load', stream: 's', partition: w, from: i, next: i + 1, epoch: 1, generation: 1, rows: [row] }, { signal: new AbortController().signal, reject: async () => {} }).catch(() => {});
      }
    }));
    const s = sink.dependency.stats;
    const ratio = receiver.requests.length / calls;
    console.log(`retry budget under 100% failure: ${calls} calls, ${receiver.requests.length} requests (${ratio.toFixed(3)}×), ${s.retries} retries, ${s.budgetRefusals} refused by the budget`);
    expect(s.calls).toBe(calls);
    expect(receiver.requests.length).toBe(s.attempts);
    expect(receiver.requests.length).toBeLessThanOrEqual(1.2 * calls + 10 * 10);
    expect(s.budgetRefusals).toBeGreaterThan(calls * 0.5);
    deps.dispose();
  });
});

describe('webhook delivery ids across sluice replay', () => {
  it('a replay that puts other records at the same input offsets sends them under new Idempotency-Keys and record ids; no key names two contents', async () => {
    const receiver = new Receiver();
    receivers.push(receiver);
    const url = await receiver.listen();
    const engine = new SqliteEngine({ dataDir: join(tempDir(), 'data') });
    engines.push(engine);
    await engine.createStream('alerts', { partitions: 1 });
    const put = (from: number) => engine.append('alerts', Array.from({ length: 5 }, (_, i) => ({ partition: 0, value: new TextEncoder().encode(JSON.stringify({ alert: `a${from + i}` })) })));
    await put(0);
    const cfg = validateConfig({ sinks: { alerts: { kind: 'webhook', stream: 'alerts', url, batchSize: 5 } } }).sinks!.alerts!;
    const tablesPath = join(tempDir(), 't.db');
    const first = await PipelineRun.start(engine, streamSinkPipeline('alerts', cfg), { tablesPath });
    const alertsDelivered = () => new Set(receiver.delivered.flatMap((q) => (JSON.parse(q.body) as WebhookBody).records.map((r) => r.value.alert)));
    await until(() => alertsDelivered().size === 5 && first.idle, 'the first five');
    await first.stop();
    // Five more, later; the replay from their time recomputes the internal stream from offset 0 with them.
    const last = (await allRecords(engine, 'alerts')).at(-1)!.timestamp;
    await until(() => Date.now() > last, 'the clock to pass the first records');
    await put(5);
    const since = (await allRecords(engine, 'alerts'))[5]!.timestamp;
    await resetPipeline(engine, streamSinkPipeline('alerts', cfg), tablesPath, { timestamp: since });
    const second = await PipelineRun.start(engine, streamSinkPipeline('alerts', cfg), { tablesPath, from: { timestamp: since } });
    runs.push(second);
    await until(() => alertsDelivered().size === 10 && second.idle, 'the replayed five');
    const bodies = new Map<string, Set<string>>();
    for (const q of receiver.delivered) bodies.set(q.key, (bodies.get(q.key) ?? new Set()).add(JSON.stringify((JSON.parse(q.body) as WebhookBody).records)));
    for (const [key, contents] of bodies) expect([key, contents.size]).toEqual([key, 1]);
    const ids = receiver.delivered.flatMap((q) => (JSON.parse(q.body) as WebhookBody).records.map((r) => r.id));
    expect(new Set(ids).size).toBe(ids.length);
    // A receiver applying each key once applies the replayed records too.
    const applied = [...bodies.values()].flatMap((b) => (JSON.parse([...b][0]!) as WebhookBody['records']).map((r) => r.value.alert as string));
    expect(applied.sort()).toEqual(Array.from({ length: 10 }, (_, i) => `a${i}`).sort());
  });

  it("a batch's POSTs keep their key and ids across retries and a restart of the same generation", async () => {
    const receiver = new Receiver();
    receivers.push(receiver);
    const url = await receiver.listen();
    let fail = 2;
    receiver.behave = () => (fail-- > 0 ? { status: 503 } : 'ok');
    const sink = new WebhookSink({ url, policy: { retry: { baseDelayMs: 1 } } }, dependencies());
    const row = { key: ['k'], value: { alert: 'x' }, deleted: false, place: '0.0' };
    const batch = { pipeline: 'p', sink: 'webhook.w', stream: '_sluice.p.t.webhook.w', partition: 0, from: 0, next: 1, epoch: 1, generation: 1_767_225_600_000, rows: [row] };
    await sink.write(batch, { signal: new AbortController().signal, reject: async () => {} });
    await sink.write(batch, { signal: new AbortController().signal, reject: async () => {} }); // the same batch again (a restart before the unit moved on)
    expect(receiver.requests.map((q) => q.key)).toEqual(Array(4).fill('p.webhook.w.0.1767225600000.0-1'));
    expect(new Set(receiver.requests.map((q) => (JSON.parse(q.body) as WebhookBody).records[0]!.id))).toEqual(new Set(['p/webhook.w/1767225600000/0.0']));
  });
});

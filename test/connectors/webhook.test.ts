// The webhook sink against a real local HTTP server: the sink conformance suite, then a receiver
// that times out, answers 500, answers 429 with Retry-After, hangs and drops connections.
import { afterEach } from 'vitest';
import type { DependencyFor } from '../../src/connectors/postgres/index.js';
import { WebhookSink } from '../../src/connectors/webhook/index.js';
import { Dependencies, type Dependency } from '../../src/resilience/index.js';
import { sinkConformance, type Row } from './conformance.js';
import { Receiver } from './receiver.js';

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

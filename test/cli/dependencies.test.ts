// `sluice dependencies` against a real `sluice dev` on a real nats-server, with a webhook sink
// whose receiver fails its first two POSTs: the command names each dependency with its figures.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DependenciesView } from '../../src/observe/dependencies.js';
import { Receiver } from '../connectors/receiver.js';
import { startNats, type NatsServer } from '../support/nats.js';
import { eventually, sluice, startDev } from '../support/sluice.js';
import { tempDir } from '../support/tmp.js';

let nats: NatsServer;
const receiver = new Receiver();
let hook: string;
beforeAll(async () => {
  nats = await startNats();
  hook = await receiver.listen();
}, 30_000);
afterAll(async () => {
  await receiver.close();
  await nats.stop();
});

describe('sluice dependencies', () => {
  it('lists the webhook sink with the retries its failed POSTs took, and the nats engine, as a table and as JSON', async () => {
    receiver.behave = (_body, n) => (n < 2 ? { status: 500 } : 'ok');
    const dir = tempDir();
    const config = join(dir, 'sluice.config.ts');
    writeFileSync(config, `export default ${JSON.stringify({ streams: { alerts: { partitions: 1 } }, sinks: { alerts: { kind: 'webhook', stream: 'alerts', url: hook } } })};\n`);
    const dev = await startDev({ dataDir: join(dir, 'data'), config, cwd: dir, args: ['--engine', nats.url], readyWhen: "pipeline 'alerts'" });
    try {
      const env = { SLUICE_URL: dev.url };
      expect((await sluice(['put', 'alerts', '-'], { cwd: dir, env, input: '{"video":"v1","errors":12}\n' })).code).toBe(0);
      await eventually('the webhook POST that succeeded', () => (receiver.delivered.length === 1 ? true : undefined));
      const webhook = `webhook:${new URL(hook).origin}`;
      const view = await eventually('the sink to count its success', async () => {
        const r = await sluice(['dependencies', '--json'], { cwd: dir, env });
        const v = JSON.parse(r.stdout) as DependenciesView;
        return v.dependencies.find((d) => d.name === webhook)?.successes === 1 ? v : undefined;
      });
      expect(receiver.requests.map((r) => r.answer)).toEqual([{ status: 500 }, { status: 500 }, 'ok']);
      expect(view.dependencies.map((d) => d.name)).toEqual(['nats', webhook]);
      expect(view.dependencies[1]).toEqual({
        name: webhook, threads: 1, calls: 1, successes: 1, failures: 0, attempts: 3, retries: 2, budgetRefusals: 0, timeouts: 0,
        bulkheadRejections: 0, breakerRejections: 0, breakerState: 'closed', breakerStates: { closed: 1 }, breakerTransitions: { open: 0, 'half-open': 0, closed: 0 },
      });
      const engine = view.dependencies[0]!;
      expect(engine.calls).toBeGreaterThan(0);
      expect([engine.threads, engine.failures, engine.retries, engine.breakerState]).toEqual([1, 0, 0, 'closed']);
      expect(view.serverBudget!.name).toBe('server');
      expect(view.serverBudget!.balance).toBeGreaterThanOrEqual(100); // the reserve: 10 retries a second over 10 s

      const text = await sluice(['dependencies'], { cwd: dir, env });
      expect(text.code).toBe(0);
      const lines = text.stdout.trimEnd().split('\n');
      expect(lines.map((l) => l.split(/ {2,}/))).toEqual([
        ['DEPENDENCY', 'CALLS', 'ATTEMPTS', 'RETRIES', 'FAILURES', 'TIMEOUTS', 'BUDGET REFUSALS', 'BREAKER', 'TRANSITIONS'],
        ['nats', expect.stringMatching(/^\d+$/), expect.stringMatching(/^\d+$/), '0', '0', '0', '0', 'closed', 'open 0, half-open 0, closed 0'],
        [webhook, '1', '3', '2', '0', '0', '0', 'closed', 'open 0, half-open 0, closed 0'],
        [expect.stringMatching(/^server-wide retry budget: \d+ retries available now$/)],
      ]);
      // Columns line up: each cell of a row starts where its title does.
      const starts = lines[0]!.split(/ {2,}/).map((title) => lines[0]!.indexOf(title));
      expect(starts.map((at) => lines[2]!.slice(at).split(/ {2,}/)[0])).toEqual([webhook, '1', '3', '2', '0', '0', '0', 'closed', 'open 0, half-open 0, closed 0']);
    } finally {
      await dev.stop();
    }
  }, 90_000);
});

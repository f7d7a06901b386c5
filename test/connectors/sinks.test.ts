// A thread's sinks (src/connectors/sinks.ts): sink steps calling one database or webhook origin
// share its dependency, so a pipeline whose steps ask it for different policies is refused at start.
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { pipeline } from '../../src/dataflow/index.js';
import { PipelineRun } from '../../src/dataflow/runtime/runner.js';
import { InvalidArgumentError } from '../../src/engine/errors.js';
import { SqliteEngine } from '../../src/engine/sqlite/index.js';
import { tempDir } from '../support/tmp.js';
import { freshDatabase } from './postgres-harness.js';

const engines: SqliteEngine[] = [];
afterEach(async () => {
  for (const e of engines.splice(0)) await e.close();
});

function twoTables(db: string, policyA: object | undefined, policyB: object | undefined) {
  const p = pipeline('two');
  const s = p.source<Record<string, unknown>>('in');
  s.toPostgres('a', { connection: db, key: ['id'], ...(policyA && { policy: policyA }) });
  s.toPostgres('b', { connection: db, key: ['id'], ...(policyB && { policy: policyB }) });
  return p;
}

async function engine(): Promise<SqliteEngine> {
  const e = new SqliteEngine({ dataDir: join(tempDir(), 'data') });
  engines.push(e);
  await e.createStream('in', { partitions: 1 });
  return e;
}

describe('sink steps sharing a database', () => {
  it('with different policies are refused at the start, naming both steps and the database', async () => {
    const e = await engine();
    const start = PipelineRun.start(e, twoTables('postgres://sluice@127.0.0.1:1/db', { timeout: { timeoutMs: 2_000 } }, undefined), { tablesPath: join(tempDir(), 't.db') });
    await expect(start).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(start).rejects.toThrow(/sink steps 'pg\.a' and 'pg\.b' both call postgres:\/\/127\.0\.0\.1:1\/db with different policies .*timeoutMs":2000.*give them the same policy/);
  });

  it('with the same policy start, sharing one dependency (a real PostgreSQL)', async () => {
    const e = await engine();
    const run = await PipelineRun.start(e, twoTables(await freshDatabase(), { retry: { maxAttempts: 2 } }, { retry: { maxAttempts: 2 } }), { tablesPath: join(tempDir(), 't.db') });
    expect(run.dependencyStats().map((d) => d.name)).toEqual([expect.stringMatching(/^postgres:\/\/127\.0\.0\.1:\d+\/t/)]);
    await run.stop();
  }, 60_000);
});

// Adversarial: schedules when the clock jumps forward (set by hand or NTP after a wrong boot time,
// a machine resumed from sleep), on virtual time. Every due time the jump passed would fire at once,
// one after another without yielding: years of a rate(1 minute) blocked Sluice for seconds and
// logged a line per due time. The schedule runs once, for the latest, and says so once.
import { setTimeout as delay } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { SqliteEngine } from '../../src/engine/sqlite/index.js';
import type { InvokeOutcome } from '../../src/functions/runtime/types.js';
import { createSchedule, type Schedule } from '../../src/functions/schedules/index.js';
import { tempDir } from '../support/tmp.js';

const T0 = Date.UTC(2026, 0, 1);
const DAY = 86_400_000;
const ok: InvokeOutcome = { ok: true, result: 'null', durationMs: 1, maxMemoryMB: 1, coldStart: false, logs: [] };

const open: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of open.splice(0)) await close();
});

async function scheduled(expression: string) {
  const clock = new ManualClock(T0);
  const engine = new SqliteEngine({ dataDir: tempDir(), retentionIntervalMs: 0 });
  const runs: string[] = [];
  const logs: string[] = [];
  const schedule: Schedule = createSchedule({
    engine, clock, functionName: 'tick', region: 'us-east-1', expression,
    invoke: async (json) => (runs.push(JSON.parse(json).time), ok),
    log: (line, level) => logs.push(`${level}: ${line}`),
  });
  await schedule.start();
  open.push(async () => (await schedule.stop(), await engine.close()));
  return { clock, schedule, runs, logs };
}

async function until(cond: () => boolean, what: string, timeoutMs = 3_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await delay(5);
  }
}

describe('a clock set forward past many due times', () => {
  it('runs a rate once, for the latest due time, counts the others skipped and logs it once', async () => {
    const { clock, schedule, runs, logs } = await scheduled('rate(1 minute)');
    await until(() => clock.sleeping > 0, 'the schedule to wait');
    clock.advance(5 * 365 * DAY);
    await until(() => runs.length === 1, 'the run');
    await until(() => clock.sleeping > 0, 'the schedule to wait again');
    expect(runs).toEqual(['2030-12-31T00:00:00Z']);
    expect(schedule.stats()).toMatchObject({ runs: 1, skipped: 2_627_999, nextRuns: expect.arrayContaining(['2030-12-31T00:01:00.000Z']) });
    expect(schedule.stats().nextRuns[0]).toBe('2030-12-31T00:01:00.000Z');
    expect(logs).toEqual([
      'warn: schedule tick-schedule of tick: the clock passed 2627999 due times after 2026-01-01T00:01:00Z at once (it was set forward?): running for the latest, 2030-12-31T00:00:00Z, only',
    ]);
  });

  it('runs a cron once, for the latest due time, and goes on from there', async () => {
    const { clock, schedule, runs, logs } = await scheduled('cron(* * * * ? *)');
    await until(() => clock.sleeping > 0, 'the schedule to wait');
    clock.advance(400 * DAY + 30_000);
    await until(() => runs.length === 1, 'the run');
    await until(() => clock.sleeping > 0, 'the schedule to wait again');
    expect(runs).toEqual([new Date(T0 + 400 * DAY).toISOString().replace('.000Z', 'Z')]);
    expect(schedule.stats().nextRuns[0]).toBe(new Date(T0 + 400 * DAY + 60_000).toISOString());
    expect(logs).toEqual([expect.stringMatching(/^warn: .*: the clock passed 100 or more due times after 2026-01-01T00:01:00Z at once \(it was set forward\?\): running for the latest, 2027-02-05T00:00:00Z, only$/)]);
    clock.advance(30_000);
    await until(() => runs.length === 2, 'the next run');
    expect(runs[1]).toBe('2027-02-05T00:01:00Z');
  });
});

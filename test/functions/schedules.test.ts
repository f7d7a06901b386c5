// Schedule triggers on virtual time: due times exact, EventBridge's scheduled event, never two runs
// at once, the missed-run policy across a restart (state kept in the engine), next runs, failures.
import { setTimeout as delay } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import type { Engine } from '../../src/engine/engine.js';
import type { InvokeOutcome } from '../../src/functions/runtime/types.js';
import { createSchedule, InvalidScheduleOptionError, type Schedule, type ScheduleOptions } from '../../src/functions/schedules/index.js';
import { sqliteFactory } from '../support/gateway.js';

const T0 = Date.parse('2024-01-01T10:00:00Z');
const MIN = 60_000;

const okOutcome: InvokeOutcome = { ok: true, result: 'null', durationMs: 1, maxMemoryMB: 1, coldStart: false, logs: [] };
const errOutcome: InvokeOutcome = {
  ok: false,
  kind: 'Unhandled',
  error: { errorType: 'Error', errorMessage: 'nope', trace: [] },
  durationMs: 1,
  maxMemoryMB: 1,
  coldStart: false,
  logs: [],
};

interface Run {
  event: any;
  at: number;
  end?: number;
}

const open: { schedules: Schedule[]; engines: Engine[] } = { schedules: [], engines: [] };
afterEach(async () => {
  await Promise.all(open.schedules.splice(0).map((s) => s.stop()));
  await Promise.all(open.engines.splice(0).map((e) => e.close()));
});

async function setup(expression: string, o: { options?: ScheduleOptions; runMs?: number; outcome?: InvokeOutcome; clock?: ManualClock; engine?: Engine } = {}) {
  const clock = o.clock ?? new ManualClock(T0);
  const engine = o.engine ?? (await sqliteFactory(clock));
  if (!o.engine) open.engines.push(engine);
  const runs: Run[] = [];
  const logs: string[] = [];
  const schedule = createSchedule({
    engine,
    clock,
    functionName: 'heartbeat',
    region: 'us-east-1',
    expression,
    options: o.options,
    invoke: async (json, signal) => {
      const run: Run = { event: JSON.parse(json), at: clock.now() };
      runs.push(run);
      if (o.runMs) await clock.sleep(o.runMs, signal);
      run.end = clock.now();
      return o.outcome ?? okOutcome;
    },
    log: (line, level) => logs.push(`${level}: ${line}`),
  });
  open.schedules.push(schedule);
  await schedule.start();
  return { clock, engine, runs, logs, schedule };
}

/** Moves virtual time to `t` one sleeper at a time, letting each woken task run. */
async function advanceTo(clock: ManualClock, t: number, step = 1000): Promise<void> {
  await tick();
  while (clock.now() < t) {
    clock.advance(Math.min(step, t - clock.now()));
    await tick();
  }
}
const tick = () => delay(1);

describe('schedules on virtual time', () => {
  it('rate(5 minutes) runs exactly every 5 minutes from its start, with EventBridge\'s scheduled event', async () => {
    const { clock, runs, schedule } = await setup('rate(5 minutes)');
    await advanceTo(clock, T0 + 16 * MIN, MIN);
    expect(runs.map((r) => (r.at - T0) / MIN)).toEqual([5, 10, 15]);
    expect(runs[0]!.event).toEqual({
      version: '0',
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      'detail-type': 'Scheduled Event',
      source: 'aws.events',
      account: '000000000000',
      time: '2024-01-01T10:05:00Z',
      region: 'us-east-1',
      resources: ['arn:aws:events:us-east-1:000000000000:rule/heartbeat-schedule'],
      detail: {},
    });
    expect(new Set(runs.map((r) => r.event.id)).size).toBe(3);
    expect(schedule.stats()).toMatchObject({ runs: 3, failures: 0, skipped: 0, lastRun: '2024-01-01T10:15:00.000Z', lastResult: 'OK', state: 'ENABLED' });
  });

  it('cron(0 12 * * ? *) runs at noon UTC to the millisecond, every day', async () => {
    const { clock, runs } = await setup('cron(0 12 * * ? *)');
    await advanceTo(clock, Date.parse('2024-01-03T00:00:00Z'), 30 * MIN);
    expect(runs.map((r) => new Date(r.at).toISOString())).toEqual(['2024-01-01T12:00:00.000Z', '2024-01-02T12:00:00.000Z']);
    expect(runs.map((r) => r.event.time)).toEqual(['2024-01-01T12:00:00Z', '2024-01-02T12:00:00Z']);
  });

  it('never runs twice at once: a due time while a run goes on is skipped, counted and logged', async () => {
    const { clock, runs, logs, schedule } = await setup('rate(5 minutes)', { runMs: 7 * MIN });
    await advanceTo(clock, T0 + 21 * MIN, MIN);
    // 10:05 runs until 10:12, so 10:10 is skipped; 10:15 runs until 10:22, so 10:20 is skipped.
    expect(runs.map((r) => (r.at - T0) / MIN)).toEqual([5, 15]);
    expect(schedule.stats()).toMatchObject({ runs: 2, skipped: 2, running: true });
    expect(logs).toContain('warn: schedule heartbeat-schedule of heartbeat: the run due 2024-01-01T10:10:00Z is skipped: the run due 2024-01-01T10:05:00Z is still going');
  });

  it('shows the next runs', async () => {
    const { clock, schedule } = await setup('cron(0/15 * * * ? *)');
    expect(schedule.stats().nextRuns).toEqual(['10:15', '10:30', '10:45', '11:00', '11:15'].map((t) => `2024-01-01T${t}:00.000Z`));
    await advanceTo(clock, T0 + 20 * MIN, MIN);
    expect(schedule.nextRuns(2)).toEqual([Date.parse('2024-01-01T10:30:00Z'), Date.parse('2024-01-01T10:45:00Z')]);
  });

  it('counts failures and keeps the last result', async () => {
    const { clock, logs, schedule } = await setup('rate(1 minute)', { outcome: errOutcome });
    await advanceTo(clock, T0 + 2 * MIN, MIN);
    expect(schedule.stats()).toMatchObject({ runs: 2, failures: 2, lastResult: 'Error: nope' });
    expect(logs.filter((l) => l.includes('failed: Error: nope'))).toHaveLength(2);
  });

  it('passes detail into the event, or input instead of the event', async () => {
    const a = await setup('rate(1 minute)', { options: { detail: { region: 'eu' } } });
    await advanceTo(a.clock, T0 + MIN, MIN);
    expect(a.runs[0]!.event.detail).toEqual({ region: 'eu' });
    const b = await setup('rate(1 minute)', { options: { input: { constant: true } } });
    await advanceTo(b.clock, T0 + MIN, MIN);
    expect(b.runs[0]!.event).toEqual({ constant: true });
  });

  it('a disabled schedule never runs', async () => {
    const { clock, runs, schedule } = await setup('rate(1 minute)', { options: { enabled: false } });
    await advanceTo(clock, T0 + 5 * MIN, MIN);
    expect(runs).toEqual([]);
    expect(schedule.stats()).toMatchObject({ state: 'DISABLED', nextRuns: [] });
  });

  it('refuses bad options naming the field', () => {
    const spec = { engine: {} as Engine, clock: new ManualClock(), functionName: 'f', region: 'r', invoke: async () => okOutcome };
    expect(() => createSchedule({ ...spec, expression: 'rate(1 minute)', options: { missedRuns: 'all' as 'once' } })).toThrow(InvalidScheduleOptionError);
    expect(() => createSchedule({ ...spec, expression: 'rate(1 minute)', options: { missedRuns: 'all' as 'once' } })).toThrow(/^missedRuns: must be 'once' or 'skip', not "all"/);
    expect(() => createSchedule({ ...spec, expression: 'rate(1 minute)', options: { enabled: 'yes' as unknown as boolean } })).toThrow(/^enabled:/);
    expect(() => createSchedule({ ...spec, expression: 'rate(1 minute)', options: { timezone: 'Nowhere/Land' } })).toThrow(/^timezone: must be an IANA time zone name/);
  });
});

describe('runs missed while Sluice was stopped', () => {
  async function stopAndRestart(missedRuns: 'once' | 'skip') {
    const clock = new ManualClock(T0);
    const engine = await sqliteFactory(clock);
    open.engines.push(engine);
    const first = await setup('rate(5 minutes)', { clock, engine });
    await advanceTo(clock, T0 + 11 * MIN, MIN);
    expect(first.runs.map((r) => (r.at - T0) / MIN)).toEqual([5, 10]);
    await first.schedule.stop();
    clock.set(T0 + 33 * MIN); // 10:15, 10:20, 10:25 and 10:30 pass while stopped
    const second = await setup('rate(5 minutes)', { clock, engine, options: { missedRuns } });
    await advanceTo(clock, T0 + 41 * MIN, MIN);
    return second;
  }

  it("'once' (the default) runs once on start for the latest missed time, then keeps the rate's phase", async () => {
    const { runs, schedule, logs } = await stopAndRestart('once');
    expect(runs.map((r) => [(r.at - T0) / MIN, r.event.time])).toEqual([
      [33, '2024-01-01T10:30:00Z'],
      [35, '2024-01-01T10:35:00Z'],
      [40, '2024-01-01T10:40:00Z'],
    ]);
    expect(schedule.stats()).toMatchObject({ missed: 4, catchUps: 1, runs: 3 });
    expect(logs).toContain('info: schedule heartbeat-schedule of heartbeat: 4 runs missed while stopped (the latest due 2024-01-01T10:30:00Z): running once now');
  });

  it("'skip' runs none of them, counts and logs them, and resumes at the next due time", async () => {
    const { runs, schedule, logs } = await stopAndRestart('skip');
    expect(runs.map((r) => (r.at - T0) / MIN)).toEqual([35, 40]);
    expect(schedule.stats()).toMatchObject({ missed: 4, catchUps: 0 });
    expect(logs.some((l) => l.includes("4 runs missed while stopped (the latest due 2024-01-01T10:30:00Z): skipped (missedRuns: 'skip')"))).toBe(true);
  });

  it('a restart with nothing missed runs nothing extra; a changed expression starts afresh', async () => {
    const clock = new ManualClock(T0);
    const engine = await sqliteFactory(clock);
    open.engines.push(engine);
    const first = await setup('rate(5 minutes)', { clock, engine });
    await advanceTo(clock, T0 + 6 * MIN, MIN);
    await first.schedule.stop();
    clock.set(T0 + 8 * MIN);
    const same = await setup('rate(5 minutes)', { clock, engine });
    await advanceTo(clock, T0 + 11 * MIN, MIN);
    expect(same.runs.map((r) => (r.at - T0) / MIN)).toEqual([10]);
    await same.schedule.stop();
    clock.set(T0 + 30 * MIN);
    const changed = await setup('rate(10 minutes)', { clock, engine });
    await advanceTo(clock, T0 + 41 * MIN, MIN);
    expect(changed.runs.map((r) => (r.at - T0) / MIN)).toEqual([40]); // new anchor at 10:30, no catch-up
    expect(changed.schedule.stats().missed).toBe(0);
  });

  it('cron: a day missed while stopped runs once on start', async () => {
    const clock = new ManualClock(Date.parse('2024-01-01T11:00:00Z'));
    const engine = await sqliteFactory(clock);
    open.engines.push(engine);
    const first = await setup('cron(0 12 * * ? *)', { clock, engine });
    await advanceTo(clock, Date.parse('2024-01-01T13:00:00Z'), 30 * MIN);
    await first.schedule.stop();
    clock.set(Date.parse('2024-01-04T09:00:00Z')); // noon on the 2nd and 3rd passed
    const second = await setup('cron(0 12 * * ? *)', { clock, engine });
    await advanceTo(clock, Date.parse('2024-01-04T13:00:00Z'), 30 * MIN);
    expect(second.runs.map((r) => [new Date(r.at).toISOString(), r.event.time])).toEqual([
      ['2024-01-04T09:00:00.000Z', '2024-01-03T12:00:00Z'],
      ['2024-01-04T12:00:00.000Z', '2024-01-04T12:00:00Z'],
    ]);
    expect(second.schedule.stats().missed).toBe(2);
  });
});

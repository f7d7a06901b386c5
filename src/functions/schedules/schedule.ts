// A schedule trigger: invokes its function with EventBridge's scheduled event at each due time, on
// the injected clock. Never two runs at once: a run still going when the next is due makes that next
// one skipped (counted and logged). Runs missed while Sluice was stopped: the last scheduled time is
// kept in the engine's state; on start, when one or more due times passed unrun, the schedule runs
// once (for the latest of them) and then resumes its normal times — or, with missedRuns: 'skip',
// only counts and logs them. A rate keeps its phase across restarts (its anchor is kept too).
import { setMaxListeners } from 'node:events';
import type { Clock } from '../../clock.js';
import type { Engine } from '../../engine/engine.js';
import type { InvokeOutcome } from '../runtime/types.js';
import { InvalidScheduleOptionError } from './errors.js';
import { eventTime, ruleArnOf, scheduledEvent } from './event.js';
import { DEFAULT_TIME_ZONE, parseSchedule, type ScheduleExpression } from './expression.js';

export const DEFAULT_MISSED_RUNS = 'once';
export const NEXT_RUNS_SHOWN = 5;
const MAX_TIMER_MS = 2 ** 31 - 1; // setTimeout's limit (about 24.8 days): longer waits are taken in steps
const MAX_MISSED_COUNTED = 100_000; // due times counted one by one after a long stop, at most
const MAX_LOOK_BACK_MS = 8 * 366 * 86_400_000; // how far back the latest due time of a cron is looked for (its years may be sparse)
const MAX_JUMP_COUNTED = 100; // due times counted one by one when the clock jumps while running (the loop waits on it), at most

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface ScheduleOptions {
  /** A disabled schedule runs nothing. Default true. */
  enabled?: boolean;
  /** The IANA time zone cron fields are read in. Default 'UTC', as EventBridge rules. */
  timezone?: string;
  /** Due times passed while Sluice was stopped: 'once' runs one on start (the latest), 'skip' none. Default 'once'. */
  missedRuns?: 'once' | 'skip';
  /** The scheduled event's `detail`. Default {}. */
  detail?: unknown;
  /** EventBridge's constant input: when set, the function gets this value instead of the scheduled event. */
  input?: unknown;
}

export interface ScheduleSpec {
  engine: Engine;
  clock: Clock;
  functionName: string;
  /** The region the event and its rule ARN name. */
  region: string;
  /** 'rate(5 minutes)', 'cron(0 12 * * ? *)' or a 5-field cron ('*\/5 * * * *'). */
  expression: string;
  /** The rule's name (resources[0] is its ARN; the kept state is under it). Default '<functionName>-schedule'. */
  name?: string;
  options?: ScheduleOptions;
  /** Runs one invocation; the schedule waits for it (that is what "still running" means). */
  invoke: (eventJson: string, signal: AbortSignal) => Promise<InvokeOutcome>;
  log?: (line: string, level: LogLevel) => void;
}

export interface ScheduleStats {
  name: string;
  ruleArn: string;
  expression: string;
  timezone: string;
  /** EventBridge's rule State. */
  state: 'ENABLED' | 'DISABLED';
  /** The next due times (ISO 8601, UTC), soonest first. */
  nextRuns: string[];
  /** The scheduled time of the last run begun. */
  lastRun?: string;
  /** 'OK', or what went wrong with the last run. */
  lastResult?: string;
  running: boolean;
  runs: number;
  failures: number;
  /** Due times skipped because the previous run was still going. */
  skipped: number;
  /** Due times that passed while Sluice was stopped. */
  missed: number;
  /** Runs made on start for missed due times. */
  catchUps: number;
}

interface Kept {
  expression: string;
  anchor: number;
  lastRun?: number;
}

export class Schedule {
  readonly name: string;
  readonly ruleArn: string;
  readonly expression: ScheduleExpression;
  private readonly enabled: boolean;
  private readonly timezone: string;
  private readonly missedRuns: 'once' | 'skip';
  private readonly ac = new AbortController();
  private readonly key: string;
  private anchor = 0;
  private lastRun?: number;
  private running?: Promise<void>;
  private runningFor = 0;
  private lastResult?: string;
  private saves: Promise<void> = Promise.resolve();
  private done: Promise<void> = Promise.resolve();
  private started = false;
  private readonly counts = { runs: 0, failures: 0, skipped: 0, missed: 0, catchUps: 0 };

  /** Parses the expression and options; throws InvalidScheduleExpressionError or InvalidScheduleOptionError. */
  constructor(private readonly spec: ScheduleSpec) {
    const o = spec.options ?? {};
    this.enabled = option('enabled', o.enabled ?? true, (v) => typeof v === 'boolean', 'true or false');
    this.timezone = option('timezone', o.timezone ?? DEFAULT_TIME_ZONE, isTimeZone, "an IANA time zone name (e.g. 'UTC', 'Europe/Paris')");
    this.missedRuns = option('missedRuns', o.missedRuns ?? DEFAULT_MISSED_RUNS, (v) => v === 'once' || v === 'skip', "'once' or 'skip'");
    this.expression = parseSchedule(spec.expression, this.timezone);
    this.name = spec.name ?? `${spec.functionName}-schedule`;
    this.ruleArn = ruleArnOf(spec.region, this.name);
    this.key = `fn-schedule:${spec.functionName}:${this.name}`;
    setMaxListeners(20, this.ac.signal);
  }

  /** Loads the kept state, runs once for missed due times (per missedRuns) and starts waiting for the next. */
  async start(signal?: AbortSignal): Promise<void> {
    if (!this.enabled) return;
    const kept = await this.load(signal);
    const now = this.spec.clock.now();
    const same = kept?.expression === this.expression.text;
    this.anchor = same ? kept.anchor : now;
    this.lastRun = same ? kept.lastRun : undefined;
    const missed = this.lastRun === undefined ? undefined : this.missedBetween(this.lastRun, now);
    await this.save();
    signal?.addEventListener('abort', () => this.ac.abort(signal.reason), { once: true });
    this.started = true;
    if (missed) this.catchUp(missed);
    this.done = this.loop(now);
  }

  /** Stops waiting and lets a run in progress end (its invoke sees the abort). */
  async stop(): Promise<void> {
    this.ac.abort(new Error('schedule stopped'));
    await this.done;
    await this.running;
    await this.saves;
  }

  /** The next `count` due times (epoch ms) from now. */
  nextRuns(count = NEXT_RUNS_SHOWN): number[] {
    const out: number[] = [];
    let after = Math.max(this.spec.clock.now(), this.lastRun ?? -Infinity);
    const anchor = this.started ? this.anchor : this.spec.clock.now();
    while (out.length < count) {
      const t = this.expression.next(after, anchor);
      if (t === undefined) break;
      out.push(t);
      after = t;
    }
    return out;
  }

  stats(): ScheduleStats {
    return {
      name: this.name,
      ruleArn: this.ruleArn,
      expression: this.expression.text,
      timezone: this.timezone,
      state: this.enabled && !this.ac.signal.aborted ? 'ENABLED' : 'DISABLED',
      nextRuns: this.enabled && !this.ac.signal.aborted ? this.nextRuns().map((t) => new Date(t).toISOString()) : [],
      ...(this.lastRun !== undefined && { lastRun: new Date(this.lastRun).toISOString() }),
      ...(this.lastResult !== undefined && { lastResult: this.lastResult }),
      running: this.running !== undefined,
      ...this.counts,
    };
  }

  private async loop(from: number): Promise<void> {
    let after = from;
    for (;;) {
      const due = this.expression.next(after, this.anchor);
      if (due === undefined) {
        this.log(`${this.expression.text} has no due times left`, 'info');
        return;
      }
      try {
        await this.sleepUntil(due);
      } catch {
        return; // stopped
      }
      after = due;
      // A clock set forward (or a machine resumed) can pass many due times at once: fire for the latest only, not one by one.
      const passed = this.missedBetween(due, this.spec.clock.now(), MAX_JUMP_COUNTED);
      if (passed) after = this.jumped(due, passed);
      else this.fire(due);
    }
  }

  /** The clock passed `passed` due times after `due` at once: they and `due` are skipped but the latest, which runs. Returns it. */
  private jumped(due: number, passed: { count: number; latest: number }): number {
    this.counts.skipped += passed.count;
    const count = passed.count >= MAX_JUMP_COUNTED && this.expression.periodMs === undefined ? `${MAX_JUMP_COUNTED} or more` : String(passed.count);
    this.log(`the clock passed ${count} due time${passed.count === 1 ? '' : 's'} after ${eventTime(due)} at once (it was set forward?): running for the latest, ${eventTime(passed.latest)}, only`, 'warn');
    this.fire(passed.latest);
    return passed.latest;
  }

  private catchUp(missed: { count: number; latest: number }): void {
    this.counts.missed += missed.count;
    const what = `${missed.count >= MAX_MISSED_COUNTED ? `${MAX_MISSED_COUNTED} or more` : missed.count} run${missed.count === 1 ? '' : 's'} missed while stopped (the latest due ${eventTime(missed.latest)})`;
    if (this.missedRuns === 'skip') {
      this.log(`${what}: skipped (missedRuns: 'skip')`, 'info');
      return;
    }
    this.log(`${what}: running once now`, 'info');
    this.counts.catchUps++;
    this.fire(missed.latest);
  }

  /** Due times in (lastRun, now]: how many (a cron's counted up to `cap`), and the latest. */
  private missedBetween(lastRun: number, now: number, cap = MAX_MISSED_COUNTED): { count: number; latest: number } | undefined {
    const first = this.expression.next(lastRun, this.anchor);
    if (first === undefined || first > now) return undefined;
    const period = this.expression.periodMs;
    if (period !== undefined) {
      const count = Math.floor((now - first) / period) + 1;
      return { count, latest: first + (count - 1) * period };
    }
    let count = 1;
    let latest = first;
    for (let t = this.expression.next(first, this.anchor); t !== undefined && t <= now && count < cap; t = this.expression.next(t, this.anchor)) {
      count++;
      latest = t;
    }
    if (count >= cap) latest = this.latestBefore(now) ?? latest;
    return { count, latest };
  }

  /**
   * The latest due time at or before `now`, found in windows back from it that double from a minute
   * (a cron's next() costs about a millisecond: a day of a minutely cron stepped through took 2 s).
   */
  private latestBefore(now: number): number | undefined {
    for (let back = 60_000; back <= MAX_LOOK_BACK_MS; back *= 2) {
      let latest: number | undefined;
      for (let t = this.expression.next(now - back, this.anchor); t !== undefined && t <= now; t = this.expression.next(t, this.anchor)) latest = t;
      if (latest !== undefined) return latest;
    }
    return undefined;
  }

  /** Starts a run for `due`, unless one is still going: then this due time is skipped. */
  private fire(due: number): void {
    if (this.running) {
      this.counts.skipped++;
      this.log(`the run due ${eventTime(due)} is skipped: the run due ${eventTime(this.runningFor)} is still going`, 'warn');
      return;
    }
    this.lastRun = due;
    this.runningFor = due;
    this.counts.runs++;
    void this.save();
    const { options = {} } = this.spec;
    const event = options.input !== undefined ? options.input : scheduledEvent(due, this.spec.region, this.ruleArn, options.detail ?? {});
    this.running = this.spec
      .invoke(JSON.stringify(event), this.ac.signal)
      .then(
        (outcome) => {
          if (outcome.ok) this.lastResult = 'OK';
          else this.failed(due, `${outcome.error.errorType}: ${outcome.error.errorMessage}`);
        },
        (e: Error) => this.failed(due, `not invoked: ${e.message}`),
      )
      .finally(() => {
        this.running = undefined;
      });
  }

  private failed(due: number, why: string): void {
    this.counts.failures++;
    this.lastResult = why;
    if (!this.ac.signal.aborted) this.log(`the run due ${eventTime(due)} failed: ${why}`, 'warn');
  }

  private async sleepUntil(due: number): Promise<void> {
    for (let left = due - this.spec.clock.now(); left > 0; left = due - this.spec.clock.now()) {
      await this.spec.clock.sleep(Math.min(left, MAX_TIMER_MS), this.ac.signal);
    }
    if (this.ac.signal.aborted) throw this.ac.signal.reason;
  }

  private async load(signal?: AbortSignal): Promise<Kept | undefined> {
    const entry = await this.spec.engine.getState(this.key, { signal });
    if (!entry) return undefined;
    try {
      return JSON.parse(Buffer.from(entry.value).toString('utf8')) as Kept;
    } catch {
      return undefined;
    }
  }

  /** Keeps the expression, anchor and last run (one write at a time, so the last one wins). */
  private save(): Promise<void> {
    const kept: Kept = { expression: this.expression.text, anchor: this.anchor, ...(this.lastRun !== undefined && { lastRun: this.lastRun }) };
    const write = async () => {
      try {
        await this.spec.engine.commit({ state: [{ key: this.key, value: Buffer.from(JSON.stringify(kept)) }] });
      } catch (e) {
        this.log(`keeping the last run time failed: ${(e as Error).message}`, 'warn');
      }
    };
    this.saves = this.saves.then(write);
    return this.saves;
  }

  private log(line: string, level: LogLevel): void {
    this.spec.log?.(`schedule ${this.name} of ${this.spec.functionName}: ${line}`, level);
  }
}

function isTimeZone(v: unknown): boolean {
  if (typeof v !== 'string' || v === '') return false;
  try {
    new Intl.DateTimeFormat('en', { timeZone: v });
    return true;
  } catch {
    return false;
  }
}

function option<T>(field: string, v: unknown, ok: (v: unknown) => boolean, what: string): T {
  if (!ok(v)) throw new InvalidScheduleOptionError(field, `must be ${what}, not ${JSON.stringify(v)}`);
  return v as T;
}

/** Creates a schedule (expression and options validated now); call start() to run it. */
export const createSchedule = (spec: ScheduleSpec): Schedule => new Schedule(spec);

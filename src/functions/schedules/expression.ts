// Schedule expressions: AWS's `rate(5 minutes)` and EventBridge's 6-field `cron(min hour dom month
// dow year)`, and the classic 5-field cron (`*/5 * * * *`). Cron times come from croner, in UTC
// unless a time zone is given (EventBridge rules run in UTC). EventBridge's cron is checked for its
// own rules (one of day-of-month and day-of-week is `?`, day-of-week 1-7 = SUN-SAT, years
// 1970-2199) and handed to croner in Quartz mode; `L`, `W`, `LW` and `#` are croner's.
import { Cron } from 'croner';
import { InvalidScheduleExpressionError } from './errors.js';

export const DEFAULT_TIME_ZONE = 'UTC';
const MINUTE_MS = 60_000;
const UNIT_MS: Record<string, number> = { minute: MINUTE_MS, hour: 60 * MINUTE_MS, day: 24 * 60 * MINUTE_MS };

/** A parsed schedule: when it is next due. */
export interface ScheduleExpression {
  readonly kind: 'rate' | 'cron';
  readonly text: string;
  /** For rate(): the period, ms. */
  readonly periodMs?: number;
  /**
   * The first due time strictly after `after` (epoch ms), or undefined when none is left (a cron
   * whose years are over). A rate's due times are anchor + k·period.
   */
  next(after: number, anchor: number): number | undefined;
}

/**
 * Parses `rate(N unit)`, `cron(<6 fields>)` or a 5-field cron; throws InvalidScheduleExpressionError.
 * Example: parseSchedule('cron(0 12 ? * MON-FRI *)').next(Date.now(), 0).
 */
export function parseSchedule(text: string, timeZone = DEFAULT_TIME_ZONE): ScheduleExpression {
  const t = text.trim();
  if (t.startsWith('rate(')) return parseRate(t);
  if (t.startsWith('cron(')) {
    if (!t.endsWith(')')) throw new InvalidScheduleExpressionError(text, 'cron( is not closed');
    return cronOf(text, eventBridgePattern(text, t.slice(5, -1).trim()), { alternativeWeekdays: true, domAndDow: true }, timeZone);
  }
  const fields = t.split(/\s+/);
  if (fields.length !== 5) {
    throw new InvalidScheduleExpressionError(text, "not rate(…), cron(…) or a 5-field cron ('min hour day-of-month month day-of-week')");
  }
  // Classic cron: day-of-week 0-7 (0 and 7 are Sunday); day-of-month and day-of-week ORed, as Vixie cron.
  return cronOf(text, `0 ${t}`, { alternativeWeekdays: false, domAndDow: false }, timeZone);
}

function parseRate(text: string): ScheduleExpression {
  const m = /^rate\(\s*(\d+)\s+([a-z]+?)(s?)\s*\)$/.exec(text);
  const fail = (message: string) => new InvalidScheduleExpressionError(text, message);
  if (!m) throw fail("a rate is rate(<whole number> <minute(s)|hour(s)|day(s)>), e.g. 'rate(5 minutes)'");
  const value = Number(m[1]);
  const unit = m[2]!;
  const plural = m[3] === 's';
  if (!UNIT_MS[unit]) throw fail(`the unit must be minute(s), hour(s) or day(s), not '${unit}${m[3]}'`);
  if (value < 1) throw fail('the value must be a positive whole number');
  if (value === 1 && plural) throw fail(`a value of 1 takes the singular: rate(1 ${unit})`);
  if (value > 1 && !plural) throw fail(`a value above 1 takes the plural: rate(${value} ${unit}s)`);
  const periodMs = value * UNIT_MS[unit]!;
  return {
    kind: 'rate',
    text,
    periodMs,
    next: (after, anchor) => anchor + (Math.floor((after - anchor) / periodMs) + 1) * periodMs,
  };
}

const LIMITS = [59, 23, 31, 12, 7, 2199]; // minutes, hours, day-of-month, month, day-of-week (1-7), year
const NAMES = ['Minutes', 'Hours', 'Day-of-month', 'Month', 'Day-of-week', 'Year'];
const ALLOWED = [/^[\d,\-*/]+$/, /^[\d,\-*/]+$/, /^[\d,\-*/?LW]+$/, /^[\d,\-*/A-Z]+$/, /^[\d,\-*/?L#A-Z]+$/, /^[\d,\-*/]+$/];

/** EventBridge's cron fields, checked for its rules, as a 7-field croner pattern (seconds first). */
function eventBridgePattern(text: string, body: string): string {
  const fail = (message: string) => new InvalidScheduleExpressionError(text, message);
  const fields = body.toUpperCase().split(/\s+/);
  if (fields.length !== 6) throw fail(`cron() takes 6 fields (minutes hours day-of-month month day-of-week year), not ${fields.length}`);
  fields.forEach((f, i) => {
    if (!ALLOWED[i]!.test(f)) throw fail(`${NAMES[i]} field '${f}' has a character EventBridge does not allow there`);
  });
  const [, , dom, , dow, year] = fields as [string, string, string, string, string, string];
  if ((dom === '?') === (dow === '?')) {
    throw fail('one of Day-of-month and Day-of-week must be ? (EventBridge takes a value or * in one of them, ? in the other)');
  }
  if (dow.includes('#') && dow.includes(',')) throw fail("with '#', Day-of-week holds one expression only (e.g. 3#2)");
  for (const n of year.match(/\d+/g) ?? []) if (Number(n) < 1970 || Number(n) > 2199) throw fail(`Year ${n} is outside 1970-2199`);
  const translated = fields.map((f, i) => {
    if (f === '?') return '*';
    if (i === 4 && f === 'L') return '7'; // the last day of the week: Saturday
    // 'a/b' (from a, every b) is croner's 'a-max/b'.
    return f.replace(/^(\d+)\/(\d+)$/, (_, a: string, b: string) => `${a}-${LIMITS[i]}/${b}`);
  });
  return `0 ${translated.join(' ')}`;
}

function cronOf(text: string, pattern: string, mode: { alternativeWeekdays: boolean; domAndDow: boolean }, timeZone: string): ScheduleExpression {
  let cron: Cron;
  try {
    cron = new Cron(pattern, { paused: true, timezone: timeZone, ...mode });
    cron.nextRun(new Date(0)); // croner checks the time zone only when it computes a time
  } catch (e) {
    throw new InvalidScheduleExpressionError(text, (e as Error).message.replace(/^Cron(Pattern|Date): /, ''));
  }
  return {
    kind: 'cron',
    text,
    next: (after) => cron.nextRun(new Date(after))?.getTime() ?? undefined,
  };
}

// Schedule expressions: AWS's rate() and EventBridge's cron() and classic 5-field cron, their due
// times exact and in UTC, and the expressions AWS refuses refused with the reason.
import { describe, expect, it } from 'vitest';
import { InvalidScheduleExpressionError, parseSchedule } from '../../src/functions/schedules/index.js';

const at = (iso: string) => Date.parse(iso);
/** The next `n` due times after `from`, as ISO text. */
const dues = (expr: string, from: string, n = 3, tz?: string) => {
  const s = parseSchedule(expr, tz);
  const out: string[] = [];
  let t = at(from);
  for (let i = 0; i < n; i++) {
    const next = s.next(t, at(from));
    if (next === undefined) break;
    out.push(new Date(next).toISOString());
    t = next;
  }
  return out;
};

describe('rate()', () => {
  it('is due every period from its anchor', () => {
    expect(dues('rate(5 minutes)', '2024-01-01T10:00:00.000Z')).toEqual(['2024-01-01T10:05:00.000Z', '2024-01-01T10:10:00.000Z', '2024-01-01T10:15:00.000Z']);
    expect(dues('rate(1 hour)', '2024-01-01T10:00:30.000Z', 2)).toEqual(['2024-01-01T11:00:30.000Z', '2024-01-01T12:00:30.000Z']);
    expect(dues('rate(2 days)', '2024-01-01T00:00:00.000Z', 1)).toEqual(['2024-01-03T00:00:00.000Z']);
    const s = parseSchedule('rate(1 minute)');
    expect(s.next(at('2024-01-01T00:02:30Z'), at('2024-01-01T00:00:10Z'))).toBe(at('2024-01-01T00:03:10Z')); // keeps the anchor's phase
  });

  it.each([
    ['rate(1 minutes)', /a value of 1 takes the singular: rate\(1 minute\)/],
    ['rate(5 minute)', /a value above 1 takes the plural: rate\(5 minutes\)/],
    ['rate(0 minutes)', /positive whole number/],
    ['rate(5 seconds)', /minute\(s\), hour\(s\) or day\(s\), not 'seconds'/],
    ['rate(1.5 hours)', /rate\(<whole number>/],
    ['rate(5minutes)', /rate\(<whole number>/],
  ])('%s is refused', (expr, message) => {
    expect(() => parseSchedule(expr)).toThrow(InvalidScheduleExpressionError);
    expect(() => parseSchedule(expr)).toThrow(message);
  });
});

describe("EventBridge's cron()", () => {
  it.each([
    ['cron(0 12 * * ? *)', '2024-01-01T11:00:00Z', ['2024-01-01T12:00:00.000Z', '2024-01-02T12:00:00.000Z', '2024-01-03T12:00:00.000Z']],
    ['cron(0 12 * * ? *)', '2024-01-01T12:00:00Z', ['2024-01-02T12:00:00.000Z', '2024-01-03T12:00:00.000Z', '2024-01-04T12:00:00.000Z']],
    ['cron(15 10 ? * 6L 2024)', '2024-01-01T00:00:00Z', ['2024-01-26T10:15:00.000Z', '2024-02-23T10:15:00.000Z', '2024-03-29T10:15:00.000Z']], // last Friday
    ['cron(0 18 ? * MON-FRI *)', '2024-01-05T19:00:00Z', ['2024-01-08T18:00:00.000Z', '2024-01-09T18:00:00.000Z', '2024-01-10T18:00:00.000Z']],
    ['cron(0 8 ? * 2-6 *)', '2024-01-05T19:00:00Z', ['2024-01-08T08:00:00.000Z', '2024-01-09T08:00:00.000Z', '2024-01-10T08:00:00.000Z']], // 2-6 is MON-FRI
    ['cron(0 8 ? * 1 *)', '2024-01-01T00:00:00Z', ['2024-01-07T08:00:00.000Z', '2024-01-14T08:00:00.000Z', '2024-01-21T08:00:00.000Z']], // 1 is Sunday
    ['cron(0 8 1 * ? *)', '2024-01-01T09:00:00Z', ['2024-02-01T08:00:00.000Z', '2024-03-01T08:00:00.000Z', '2024-04-01T08:00:00.000Z']],
    ['cron(0/15 * * * ? *)', '2024-01-01T00:01:00Z', ['2024-01-01T00:15:00.000Z', '2024-01-01T00:30:00.000Z', '2024-01-01T00:45:00.000Z']],
    ['cron(1/10 * * * ? *)', '2024-01-01T00:00:00Z', ['2024-01-01T00:01:00.000Z', '2024-01-01T00:11:00.000Z', '2024-01-01T00:21:00.000Z']],
    ['cron(0 12 L * ? *)', '2024-01-01T00:00:00Z', ['2024-01-31T12:00:00.000Z', '2024-02-29T12:00:00.000Z', '2024-03-31T12:00:00.000Z']],
    ['cron(0 12 3W * ? *)', '2024-02-01T00:00:00Z', ['2024-02-02T12:00:00.000Z', '2024-03-04T12:00:00.000Z', '2024-04-03T12:00:00.000Z']], // Feb 3 2024 is a Saturday
    ['cron(0 12 ? * 3#2 *)', '2024-01-01T00:00:00Z', ['2024-01-09T12:00:00.000Z', '2024-02-13T12:00:00.000Z', '2024-03-12T12:00:00.000Z']], // second Tuesday
    ['cron(0 12 ? * L *)', '2024-01-01T00:00:00Z', ['2024-01-06T12:00:00.000Z', '2024-01-13T12:00:00.000Z', '2024-01-20T12:00:00.000Z']], // L: the week's last day, Saturday
    ['cron(0 0 1 1 ? 2025-2026)', '2024-06-01T00:00:00Z', ['2025-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z']],
    ['cron(0 12 * jan,feb ? *)', '2024-02-29T13:00:00Z', ['2025-01-01T12:00:00.000Z', '2025-01-02T12:00:00.000Z', '2025-01-03T12:00:00.000Z']],
  ])('%s after %s', (expr, from, expected) => {
    expect(dues(expr, from)).toEqual(expected);
  });

  it('reads fields in UTC unless a time zone is given', () => {
    expect(dues('cron(0 12 * * ? *)', '2024-01-01T00:00:00Z', 1)).toEqual(['2024-01-01T12:00:00.000Z']);
    expect(dues('cron(0 12 * * ? *)', '2024-01-01T00:00:00Z', 1, 'America/New_York')).toEqual(['2024-01-01T17:00:00.000Z']);
    expect(dues('cron(0 12 * * ? *)', '2024-07-01T00:00:00Z', 1, 'America/New_York')).toEqual(['2024-07-01T16:00:00.000Z']);
  });

  it('has no due time left once its years are over', () => {
    expect(parseSchedule('cron(0 0 1 1 ? 2024)').next(at('2024-06-01T00:00:00Z'), 0)).toBeUndefined();
  });

  it.each([
    ['cron(0 12 * * *)', /takes 6 fields .* not 5/],
    ['cron(0 12 * * * *)', /one of Day-of-month and Day-of-week must be \?/],
    ['cron(0 12 ? * ? *)', /one of Day-of-month and Day-of-week must be \?/],
    ['cron(0 12 * * MON *)', /must be \?/],
    ['cron(0 ? * * MON *)', /Hours field '\?' has a character EventBridge does not allow/],
    ['cron(0 12 ? * 2#1,4#2 *)', /with '#', Day-of-week holds one expression only/],
    ['cron(0 12 * * ? 1969)', /Year 1969 is outside 1970-2199/],
    ['cron(0 12 * * ? 2200)', /Year 2200 is outside/],
    ['cron(0 25 * * ? *)', /Invalid value for hour: 25/],
    ['cron(0 12 * * ? *', /not closed/],
  ])('%s is refused', (expr, message) => {
    expect(() => parseSchedule(expr)).toThrow(InvalidScheduleExpressionError);
    expect(() => parseSchedule(expr)).toThrow(message);
  });
});

describe('5-field cron', () => {
  it("is classic cron: minute hour day-of-month month day-of-week, 0 or 7 Sunday, in UTC", () => {
    expect(dues('*/5 * * * *', '2024-01-01T00:01:00Z')).toEqual(['2024-01-01T00:05:00.000Z', '2024-01-01T00:10:00.000Z', '2024-01-01T00:15:00.000Z']);
    expect(dues('0 0 * * 0', '2024-01-01T00:00:00Z', 2)).toEqual(['2024-01-07T00:00:00.000Z', '2024-01-14T00:00:00.000Z']);
    expect(dues('0 0 * * 7', '2024-01-01T00:00:00Z', 1)).toEqual(['2024-01-07T00:00:00.000Z']);
    expect(dues('30 9 * * 1-5', '2024-01-05T10:00:00Z', 1)).toEqual(['2024-01-08T09:30:00.000Z']);
  });

  it('ORs day-of-month and day-of-week, as Vixie cron', () => {
    expect(dues('0 0 13 * 5', '2024-09-01T00:00:00Z', 3)).toEqual(['2024-09-06T00:00:00.000Z', '2024-09-13T00:00:00.000Z', '2024-09-20T00:00:00.000Z']);
  });

  it.each([
    ['* * * *', /not rate\(…\), cron\(…\) or a 5-field cron/],
    ['every 5 minutes', /not rate/],
    ['61 * * * *', /minute/i],
  ])('%s is refused', (expr, message) => {
    expect(() => parseSchedule(expr)).toThrow(InvalidScheduleExpressionError);
    expect(() => parseSchedule(expr)).toThrow(message);
  });

  it('an unknown time zone is refused', () => {
    expect(() => parseSchedule('0 0 * * *', 'Mars/Olympus')).toThrow(/Invalid timezone 'Mars\/Olympus'/);
  });
});

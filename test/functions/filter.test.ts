// The filter language of stream mappings: EventBridge's matching rules for the operators Lambda's
// filterCriteria uses, on records shaped as Lambda matches them (Kinesis fields, data decoded).
import { describe, expect, it } from 'vitest';
import { compileFilterCriteria, compilePattern, InvalidFilterPatternError, InvalidMappingOptionError, UNPARSEABLE } from '../../src/functions/streams/index.js';

const record = (data: unknown, partitionKey = 'user-1') => ({ kinesisSchemaVersion: '1.0', partitionKey, sequenceNumber: '1', approximateArrivalTimestamp: 1.5, data });
const matches = (pattern: object, data: unknown, key?: string) => compilePattern(JSON.stringify(pattern)).matches(record(data, key));

describe('matching', () => {
  it('equals: strings, numbers, booleans and null exactly, ORed within a list, ANDed across keys', () => {
    const p = { data: { kind: ['click', 'view'], n: [5], ok: [true], gone: [null] } };
    expect(matches(p, { kind: 'view', n: 5, ok: true, gone: null })).toBe(true);
    expect(matches(p, { kind: 'view', n: 5.0, ok: true, gone: null })).toBe(true);
    expect(matches(p, { kind: 'buy', n: 5, ok: true, gone: null })).toBe(false);
    expect(matches(p, { kind: 'view', n: '5', ok: true, gone: null })).toBe(false); // a string is not a number
    expect(matches(p, { kind: 'view', n: 5, ok: 'true', gone: null })).toBe(false);
    expect(matches(p, { kind: 'view', n: 5, ok: true })).toBe(false); // null is a value, not absence
    expect(matches({ data: { kind: ['Click'] } }, { kind: 'click' })).toBe(false); // case matters
  });

  it('nested objects match by path, and an array matches when one element does', () => {
    const p = { data: { user: { tier: ['gold'] }, tags: ['a'] } };
    expect(matches(p, { user: { tier: 'gold' }, tags: ['b', 'a'] })).toBe(true);
    expect(matches(p, { user: { tier: 'gold' }, tags: ['b'] })).toBe(false);
    expect(matches(p, { user: [{ tier: 'silver' }, { tier: 'gold' }], tags: 'a' })).toBe(true);
    expect(matches(p, { user: 'gold', tags: 'a' })).toBe(false);
  });

  it('prefix, suffix and equals-ignore-case match strings only', () => {
    expect(matches({ data: { path: [{ prefix: '/api/' }] } }, { path: '/api/v1' })).toBe(true);
    expect(matches({ data: { path: [{ prefix: '/api/' }] } }, { path: '/web' })).toBe(false);
    expect(matches({ data: { file: [{ suffix: '.png' }] } }, { file: 'a.png' })).toBe(true);
    expect(matches({ data: { file: [{ suffix: '.png' }] } }, { file: 'a.jpg' })).toBe(false);
    expect(matches({ data: { n: [{ prefix: '1' }] } }, { n: 12 })).toBe(false);
    expect(matches({ data: { s: [{ 'equals-ignore-case': 'ABC' }] } }, { s: 'aBc' })).toBe(true);
  });

  it('numeric compares numbers with =, <, <=, >, >= and ranges', () => {
    const range = { data: { ms: [{ numeric: ['>', 0, '<=', 5] }] } };
    expect([0, 0.1, 5, 5.01, '3'].map((ms) => matches(range, { ms }))).toEqual([false, true, true, false, false]);
    expect(matches({ data: { n: [{ numeric: ['=', 300] }] } }, { n: 300 })).toBe(true);
    expect(matches({ data: { n: [{ numeric: ['>=', 10] }] } }, { n: 10 })).toBe(true);
    expect(matches({ data: { n: [{ numeric: ['<', 10] }] } }, { n: 10 })).toBe(false);
  });

  it('exists: true needs a value at the path, false its absence', () => {
    expect(matches({ data: { id: [{ exists: true }] } }, { id: 0 })).toBe(true);
    expect(matches({ data: { id: [{ exists: true }] } }, { id: null })).toBe(true);
    expect(matches({ data: { id: [{ exists: true }] } }, {})).toBe(false);
    expect(matches({ data: { id: [{ exists: false }] } }, {})).toBe(true);
    expect(matches({ data: { id: [{ exists: false }] } }, { id: 'x' })).toBe(false);
    expect(matches({ data: { a: { b: [{ exists: false }] } } }, {})).toBe(true); // a missing parent has no b either
    expect(matches({ data: { a: [{ exists: true }] } }, { a: { b: 1 } })).toBe(false); // an object is not a leaf
  });

  it('anything-but: values, lists, prefix and suffix; a missing field is not "anything"', () => {
    expect(matches({ data: { s: [{ 'anything-but': 'x' }] } }, { s: 'y' })).toBe(true);
    expect(matches({ data: { s: [{ 'anything-but': 'x' }] } }, { s: 'x' })).toBe(false);
    expect(matches({ data: { s: [{ 'anything-but': ['x', 'y'] }] } }, { s: 'y' })).toBe(false);
    expect(matches({ data: { n: [{ 'anything-but': [1, 2] }] } }, { n: 3 })).toBe(true);
    expect(matches({ data: { s: [{ 'anything-but': { prefix: 'init' } }] } }, { s: 'initial' })).toBe(false);
    expect(matches({ data: { s: [{ 'anything-but': { prefix: 'init' } }] } }, { s: 'done' })).toBe(true);
    expect(matches({ data: { s: [{ 'anything-but': { suffix: '.tmp' } }] } }, { s: 'a.tmp' })).toBe(false);
    expect(matches({ data: { s: [{ 'anything-but': 'x' }] } }, {})).toBe(false);
  });

  it('$or needs one of its patterns, alongside the other keys', () => {
    const p = { data: { kind: ['click'], $or: [{ ms: [{ numeric: ['>', 100] }] }, { slow: [true] }] } };
    expect(matches(p, { kind: 'click', ms: 150 })).toBe(true);
    expect(matches(p, { kind: 'click', ms: 50, slow: true })).toBe(true);
    expect(matches(p, { kind: 'click', ms: 50 })).toBe(false);
    expect(matches(p, { kind: 'view', ms: 150 })).toBe(false);
    expect(matches({ $or: [{ partitionKey: ['a'] }, { data: { x: [1] } }] }, { x: 1 }, 'b')).toBe(true);
  });

  it("matches the record's own fields beside data", () => {
    expect(matches({ partitionKey: [{ prefix: 'user-' }] }, 'anything', 'user-9')).toBe(true);
    expect(matches({ partitionKey: [{ prefix: 'user-' }] }, 'anything', 'device-9')).toBe(false);
    expect(matches({ kinesisSchemaVersion: ['1.0'], approximateArrivalTimestamp: [{ numeric: ['<', 2] }] }, {})).toBe(true);
  });

  it('data that is not JSON matches no pattern on data, not even exists: false; patterns on other fields still apply', () => {
    expect(compilePattern('{"data":{"x":[{"exists":false}]}}').matches(record(UNPARSEABLE))).toBe(false);
    expect(compilePattern('{"data":[{"exists":false}]}').matches(record(UNPARSEABLE))).toBe(false);
    expect(compilePattern('{"partitionKey":["user-1"]}').matches(record(UNPARSEABLE))).toBe(true);
  });

  it('data that is JSON but not an object is matched as a value', () => {
    expect(matches({ data: [42] }, 42)).toBe(true);
    expect(matches({ data: [{ prefix: 'he' }] }, 'hello')).toBe(true);
  });

  it('filterCriteria passes a record matching any of its filters', () => {
    const f = compileFilterCriteria({ Filters: [{ Pattern: '{"data":{"a":[1]}}' }, { Pattern: '{"data":{"b":[2]}}' }] });
    expect([{ a: 1 }, { b: 2 }, { a: 2 }].map((d) => f.matches(record(d)))).toEqual([true, true, false]);
  });
});

describe('invalid patterns are refused with the place and the reason', () => {
  const refused = (pattern: string) => {
    try {
      compilePattern(pattern, 'filterCriteria.Filters[0].Pattern');
    } catch (e) {
      expect(e).toBeInstanceOf(InvalidFilterPatternError);
      return (e as Error).message;
    }
    throw new Error(`accepted ${pattern}`);
  };

  it.each([
    ['{"data":', /not valid JSON/],
    ['[1]', /must be a JSON object/],
    ['{}', /empty objects/],
    ['{"data":"x"}', /at data: a pattern's values must be arrays or objects.*write \["x"\]/],
    ['{"data":{"x":[]}}', /at data\.x: empty arrays/],
    ['{"data":{"x":[[1]]}}', /at data\.x\[0\]: \[1\] is not a value or a matcher/],
    ['{"data":{"x":[{"prefix":1}]}}', /at data\.x\[0\]: prefix takes a string/],
    ['{"data":{"x":[{"prefix":"a","suffix":"b"}]}}', /exactly one operator, not 2/],
    ['{"data":{"x":[{"numeric":[">"]}]}}', /one or two operator\/number pairs/],
    ['{"data":{"x":[{"numeric":["!=",1]}]}}', /"!=" is not one of/],
    ['{"data":{"x":[{"numeric":[">",1,">",2]}]}}', /two lower bounds/],
    ['{"data":{"x":[{"numeric":["=",1,"<",2]}]}}', /'=' stands alone/],
    ['{"data":{"x":[{"numeric":[">","1"]}]}}', /needs a number/],
    ['{"data":{"x":[{"exists":"yes"}]}}', /exists takes true or false/],
    ['{"data":{"x":[{"anything-but":[]}]}}', /anything-but takes/],
    ['{"data":{"x":[{"anything-but":{"numeric":[">",1]}}]}}', /anything-but takes/],
    ['{"data":{"x":[{"wildcard":"a*"}]}}', /'wildcard' operator is not supported/],
    ['{"data":{"x":[{"regex":"a"}]}}', /unknown operator 'regex'/],
    ['{"$or":[{"a":[1]}]}', /at \$or: \$or takes an array of at least two/],
    ['{"$or":[{"a":[1]},{}]}', /at \$or\[1\]: empty objects/],
  ])('%s', (pattern, message) => {
    const text = refused(pattern);
    expect(text).toMatch(/^filterCriteria\.Filters\[0\]\.Pattern/);
    expect(text).toMatch(message);
  });

  it('filterCriteria needs 1 to 5 filters, each a pattern of at most 4096 characters', () => {
    expect(() => compileFilterCriteria({ filters: [] })).toThrow(InvalidMappingOptionError);
    expect(() => compileFilterCriteria({ Filters: [] })).toThrow(/filterCriteria\.Filters: takes 1 to 5 filters, not 0/);
    expect(() => compileFilterCriteria({ Filters: Array(6).fill({ Pattern: '{"a":[1]}' }) })).toThrow(/not 6/);
    expect(() => compileFilterCriteria({ Filters: [{ Pattern: { a: [1] } }] })).toThrow(/Filters\[0\]\.Pattern: must be the pattern as JSON text/);
    const long = JSON.stringify({ data: { x: ['y'.repeat(4100)] } });
    expect(() => compileFilterCriteria({ Filters: [{ Pattern: long }] })).toThrow(/more than Lambda's 4096/);
  });
});

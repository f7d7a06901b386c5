// EventBridge event patterns, as Lambda's filterCriteria uses them on stream records: a pattern is
// compiled once (an invalid one refused with the path of the bad part) and then matched per record.
// Supported: exact values (strings, numbers, booleans, null), prefix, suffix, equals-ignore-case,
// numeric ranges, exists, anything-but (values, prefix, suffix) and $or. Matching follows
// EventBridge: keys are ANDed, the values in one array ORed, an event array matches when one of
// its elements does, and a missing field matches only `exists: false`.
import { InvalidFilterPatternError, InvalidMappingOptionError } from './errors.js';

export const MAX_FILTERS = 5; // Lambda's default quota of filters per event source mapping
export const MAX_PATTERN_CHARS = 4096; // Lambda's limit on one pattern's length

/** Lambda's FilterCriteria: a record passes when it matches any of the patterns. */
export interface FilterCriteria {
  Filters: { Pattern: string }[];
}

/** A value no pattern matches, not even `exists: false`: Lambda's `data` when it is not JSON. */
export const UNPARSEABLE: unique symbol = Symbol('unparseable');

/** A compiled pattern. */
export interface EventPattern {
  matches(event: Record<string, unknown>): boolean;
}

type Leaf = (value: unknown) => boolean;
interface Compiled {
  fields: { key: string; leaf?: Leaf[]; nested?: Compiled }[];
  or: Compiled[][];
}

const NUMERIC_OPS = new Set(['=', '<', '<=', '>', '>=']);

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Compiles an EventBridge pattern (JSON text or its parsed object); `field` names it in errors.
 * Example: compilePattern('{"data":{"kind":["click"],"ms":[{"numeric":[">",100]}]}}', 'filterCriteria.Filters[0].Pattern').
 */
export function compilePattern(pattern: string | object, field = 'pattern'): EventPattern {
  let parsed: unknown = pattern;
  if (typeof pattern === 'string') {
    try {
      parsed = JSON.parse(pattern);
    } catch (e) {
      throw new InvalidFilterPatternError(field, '', `not valid JSON (${(e as Error).message})`);
    }
  }
  const compiled = compileObject(parsed, field, '');
  return { matches: (event) => matchObject(compiled, event) };
}

/** Compiles Lambda's FilterCriteria into one pattern that matches when any filter does. */
export function compileFilterCriteria(criteria: unknown, field = 'filterCriteria'): EventPattern {
  const filters = isObject(criteria) ? criteria.Filters : undefined;
  if (!Array.isArray(filters)) throw new InvalidMappingOptionError(field, "takes { Filters: [{ Pattern: '<json>' }, ...] }");
  if (filters.length === 0 || filters.length > MAX_FILTERS) throw new InvalidMappingOptionError(`${field}.Filters`, `takes 1 to ${MAX_FILTERS} filters, not ${filters.length}`);
  const patterns = filters.map((f, i) => {
    const at = `${field}.Filters[${i}].Pattern`;
    const text = isObject(f) ? f.Pattern : undefined;
    if (typeof text !== 'string') throw new InvalidMappingOptionError(at, 'must be the pattern as JSON text');
    if (text.length > MAX_PATTERN_CHARS) throw new InvalidMappingOptionError(at, `is ${text.length} characters, more than Lambda's ${MAX_PATTERN_CHARS}`);
    return compilePattern(text, at);
  });
  if (patterns.length === 1) return patterns[0]!;
  return { matches: (event) => patterns.some((p) => p.matches(event)) };
}

function compileObject(v: unknown, field: string, path: string): Compiled {
  const fail = (message: string) => new InvalidFilterPatternError(field, path, message);
  if (!isObject(v)) throw fail('a pattern must be a JSON object');
  const keys = Object.keys(v);
  if (keys.length === 0) throw fail('empty objects are not allowed in a pattern');
  const out: Compiled = { fields: [], or: [] };
  for (const key of keys) {
    const at = path ? `${path}.${key}` : key;
    const value = v[key];
    if (key === '$or') {
      if (!Array.isArray(value) || value.length < 2) throw new InvalidFilterPatternError(field, at, '$or takes an array of at least two patterns');
      out.or.push(value.map((p, i) => compileObject(p, field, `${at}[${i}]`)));
    } else if (Array.isArray(value)) {
      if (value.length === 0) throw new InvalidFilterPatternError(field, at, 'empty arrays are not allowed: list the values to match');
      out.fields.push({ key, leaf: value.map((m, i) => compileLeaf(m, field, `${at}[${i}]`)) });
    } else if (isObject(value)) {
      out.fields.push({ key, nested: compileObject(value, field, at) });
    } else {
      throw new InvalidFilterPatternError(field, at, `a pattern's values must be arrays or objects, not ${JSON.stringify(value)} (write [${JSON.stringify(value)}])`);
    }
  }
  return out;
}

function compileLeaf(m: unknown, field: string, path: string): Leaf {
  const fail = (message: string) => new InvalidFilterPatternError(field, path, message);
  if (m === null || typeof m === 'string' || typeof m === 'boolean') return (v) => v === m;
  if (typeof m === 'number') {
    if (!Number.isFinite(m)) throw fail('numbers must be finite');
    return (v) => v === m;
  }
  if (!isObject(m)) throw fail(`${JSON.stringify(m)} is not a value or a matcher object`);
  const ops = Object.keys(m);
  if (ops.length !== 1) throw fail(`a matcher object has exactly one operator, not ${ops.length} (${ops.join(', ') || 'none'})`);
  const op = ops[0]!;
  const arg = m[op];
  switch (op) {
    case 'prefix':
    case 'suffix':
    case 'equals-ignore-case':
      return stringMatcher(op, arg, fail);
    case 'numeric':
      return numericMatcher(arg, fail);
    case 'exists':
      if (typeof arg !== 'boolean') throw fail('exists takes true or false');
      return arg ? (v) => v !== undefined : (v) => v === undefined;
    case 'anything-but':
      return anythingBut(arg, fail);
    case 'wildcard':
    case 'cidr':
      throw fail(`the '${op}' operator is not supported by Sluice (supported: prefix, suffix, equals-ignore-case, numeric, exists, anything-but, $or)`);
    default:
      throw fail(`unknown operator '${op}'`);
  }
}

function stringMatcher(op: string, arg: unknown, fail: (m: string) => Error): Leaf {
  if (typeof arg !== 'string') throw fail(`${op} takes a string`);
  if (op === 'prefix') return (v) => typeof v === 'string' && v.startsWith(arg);
  if (op === 'suffix') return (v) => typeof v === 'string' && v.endsWith(arg);
  const lower = arg.toLowerCase();
  return (v) => typeof v === 'string' && v.toLowerCase() === lower;
}

function numericMatcher(arg: unknown, fail: (m: string) => Error): Leaf {
  if (!Array.isArray(arg) || (arg.length !== 2 && arg.length !== 4)) throw fail('numeric takes one or two operator/number pairs, e.g. [">", 0, "<=", 5]');
  const tests: Leaf[] = [];
  let lower = false;
  let upper = false;
  for (let i = 0; i < arg.length; i += 2) {
    const op = arg[i];
    const n = arg[i + 1];
    if (typeof op !== 'string' || !NUMERIC_OPS.has(op)) throw fail(`numeric operator ${JSON.stringify(op)} is not one of =, <, <=, >, >=`);
    if (typeof n !== 'number' || !Number.isFinite(n)) throw fail(`numeric operator '${op}' needs a number, not ${JSON.stringify(n)}`);
    if (op === '=' && arg.length !== 2) throw fail("numeric '=' stands alone");
    if (op.startsWith('>')) {
      if (lower) throw fail('numeric has two lower bounds');
      lower = true;
    }
    if (op.startsWith('<')) {
      if (upper) throw fail('numeric has two upper bounds');
      upper = true;
    }
    tests.push(compare(op, n));
  }
  return (v) => typeof v === 'number' && tests.every((t) => t(v));
}

function compare(op: string, n: number): Leaf {
  switch (op) {
    case '=':
      return (v) => (v as number) === n;
    case '<':
      return (v) => (v as number) < n;
    case '<=':
      return (v) => (v as number) <= n;
    case '>':
      return (v) => (v as number) > n;
    default:
      return (v) => (v as number) >= n;
  }
}

function anythingBut(arg: unknown, fail: (m: string) => Error): Leaf {
  const scalar = (x: unknown) => typeof x === 'string' || (typeof x === 'number' && Number.isFinite(x));
  let excluded: Leaf;
  if (scalar(arg)) excluded = (v) => v === arg;
  else if (Array.isArray(arg)) {
    if (arg.length === 0 || !arg.every(scalar)) throw fail('anything-but takes a string, a number, a non-empty list of them, or {prefix|suffix|equals-ignore-case}');
    const set = new Set<unknown>(arg);
    excluded = (v) => set.has(v);
  } else if (isObject(arg) && Object.keys(arg).length === 1 && ['prefix', 'suffix', 'equals-ignore-case'].includes(Object.keys(arg)[0]!)) {
    const op = Object.keys(arg)[0]!;
    const inner = stringMatcher(op, arg[op], (m) => fail(`anything-but: ${m}`));
    // "anything but prefix x" speaks of strings: other values never match it.
    return (v) => typeof v === 'string' && !inner(v);
  } else {
    throw fail('anything-but takes a string, a number, a non-empty list of them, or {prefix|suffix|equals-ignore-case}');
  }
  return (v) => v !== undefined && !isObject(v) && !excluded(v);
}

function matchObject(c: Compiled, event: unknown): boolean {
  const obj = isObject(event) ? event : undefined;
  for (const f of c.fields) {
    const value = obj && Object.hasOwn(obj, f.key) ? obj[f.key] : undefined;
    if (value === UNPARSEABLE) return false;
    if (f.nested ? !matchNested(f.nested, value) : !matchLeaf(f.leaf!, value)) return false;
  }
  for (const alternatives of c.or) if (!alternatives.some((alt) => matchObject(alt, event))) return false;
  return true;
}

/** A nested pattern: an object, or an array with an element that matches; anything else is "no such fields". */
function matchNested(c: Compiled, value: unknown): boolean {
  if (Array.isArray(value)) {
    const objects = value.filter(isObject);
    return objects.length ? objects.some((o) => matchObject(c, o)) : matchObject(c, undefined);
  }
  return matchObject(c, isObject(value) ? value : undefined);
}

/** A leaf: the field's value (or, for an array, one of its elements) passes one of the matchers. */
function matchLeaf(matchers: Leaf[], value: unknown): boolean {
  // An object is an intermediate node, and an empty array holds no value: both are "absent" to leaves.
  const leafValue = isObject(value) || (Array.isArray(value) && value.length === 0) ? undefined : value;
  if (Array.isArray(leafValue)) return leafValue.some((v) => !isObject(v) && matchers.some((m) => m(v)));
  return matchers.some((m) => m(leafValue));
}

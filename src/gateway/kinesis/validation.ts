// Request members checked as AWS's JSON 1.1 front end checks them: first each member's JSON type
// (the first mismatch is a SerializationException; unknown members and nulls are dropped), then
// every constraint, reported together as one ValidationException ("2 validation errors detected:
// Value '' at 'streamName' failed to satisfy constraint: …; …").
import { KinesisError, serialization } from './errors.js';
import type { Params } from './types.js';

export const MAX_VALIDATION_ERRORS = 10; // AWS lists at most ten failures in one message
const INT_MAX = 2 ** 31 - 1; // AWS truncates a JSON number to a Java int
const INT_MIN = -(2 ** 31);

export type StringShape = { kind: 'string'; pattern?: string; min?: number; max?: number; values?: readonly string[] };
export type Shape =
  | StringShape
  | { kind: 'integer'; min?: number; max?: number }
  | { kind: 'boolean' }
  | { kind: 'timestamp' }
  | { kind: 'blob'; max?: number }
  | { kind: 'list'; member: Shape; min?: number; max?: number }
  | { kind: 'map'; key: StringShape; value: StringShape; min?: number; max?: number }
  | { kind: 'structure'; members: Members };
export type Member = Shape & { required?: boolean };
export type Members = Record<string, Member>;

/** The members of a request body, typed and validated, or the Serialization/ValidationException AWS gives. */
export function checkInput(body: Record<string, unknown>, members: Members): Params {
  const params = readStructure(body, members);
  const errors: string[] = [];
  checkMembers(params, members, '', errors);
  if (errors.length > 0) {
    const listed = errors.slice(0, MAX_VALIDATION_ERRORS);
    const count = `${listed.length} validation error${listed.length > 1 ? 's' : ''} detected`;
    throw new KinesisError('ValidationException', `${count}: ${listed.join('; ')}`);
  }
  return params;
}

function readStructure(body: Record<string, unknown>, members: Members): Params {
  const out: Params = {};
  for (const [name, shape] of Object.entries(members)) {
    const value = Object.hasOwn(body, name) ? body[name] : undefined;
    if (value !== undefined && value !== null) out[name] = read(value, shape);
  }
  return out;
}

const where = (v: unknown) => (Array.isArray(v) ? 'list' : typeof v === 'object' ? 'object' : typeof v);
const NOT_LIST = 'Start of list found where not expected';
const NOT_STRUCTURE = 'Start of structure or map found where not expected.';
const JAVA_CLASS: Record<string, string> = {
  boolean: 'java.lang.Boolean',
  number: 'com.amazon.coral.value.json.numbers.TruncatingBigNumber',
  string: 'java.lang.String',
};

/** One value of a shape, converted (blobs decoded, numbers truncated) or refused with AWS's message. */
function read(value: unknown, shape: Shape): unknown {
  const kind = where(value);
  if (kind === 'list' && shape.kind !== 'list') throw serialization(NOT_LIST);
  if (kind === 'object' && shape.kind !== 'map' && shape.kind !== 'structure') throw serialization(NOT_STRUCTURE);
  switch (shape.kind) {
    case 'string':
      if (kind !== 'string') throw serialization(`class ${JAVA_CLASS[kind]} can not be converted to an String`);
      return value;
    case 'integer':
      if (kind !== 'number') throw serialization(`class ${JAVA_CLASS[kind]} can not be converted to an Integer`);
      return Math.max(INT_MIN, Math.min(INT_MAX, Math.trunc(value as number)));
    case 'boolean':
      return readBoolean(value);
    case 'timestamp':
      if (kind !== 'number') throw serialization(`class ${JAVA_CLASS[kind]} can not be converted to milliseconds since epoch`);
      return value;
    case 'blob':
      if (kind !== 'string') throw serialization(`class ${JAVA_CLASS[kind]} can not be converted to a Blob`);
      return readBlob(value as string);
    case 'list':
      if (kind === 'object') throw serialization(NOT_STRUCTURE);
      if (kind !== 'list') throw serialization('Expected list or null');
      return (value as unknown[]).map((v) => (v === null ? null : read(v, shape.member)));
    case 'map':
      if (kind !== 'object') throw serialization('Expected map or null');
      return new Map(Object.entries(value as object).map(([k, v]) => [k, v === null ? '' : read(v, shape.value)]));
    case 'structure':
      if (kind !== 'object') throw serialization('Expected null');
      return readStructure(value as Record<string, unknown>, shape.members);
  }
}

function readBoolean(value: unknown): boolean {
  if (typeof value === 'boolean') return value;
  if (typeof value === 'string' && /^(true|false)$/i.test(value)) return value.toLowerCase() === 'true';
  if (typeof value === 'string') throw serialization(`'${value.toUpperCase()}' can not be converted to an Boolean`);
  throw serialization(`class ${JAVA_CLASS.number} can not be converted to an Boolean`);
}

function readBlob(text: string): Buffer {
  const refuse = (why: string) => serialization(`'${text}' can not be converted to a Blob: ${why}`);
  if (text.length % 4 !== 0) throw refuse(`Base64 encoded length is expected a multiple of 4 bytes but found: ${text.length}`);
  const bad = /[^a-zA-Z0-9+/=]|=[^=]/.exec(text);
  if (bad) throw refuse(`Invalid Base64 character: '${bad[0][0]}'`);
  if (!padBitsClear(text)) throw refuse('Invalid last non-pad Base64 character dectected'); // sic, AWS' spelling
  return Buffer.from(text, 'base64');
}

const BASE64_DIGITS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/** True when the bits padding drops are zero, so the text is the one encoding of its bytes. */
function padBitsClear(text: string): boolean {
  const pad = text.endsWith('==') ? 2 : text.endsWith('=') ? 1 : 0;
  if (pad === 0) return true;
  const last = BASE64_DIGITS.indexOf(text[text.length - pad - 1] ?? '');
  return last >= 0 && (last & (pad === 1 ? 0b11 : 0b1111)) === 0;
}

const lowerFirst = (name: string) => name[0]!.toLowerCase() + name.slice(1);

function checkMembers(params: Params, members: Members, parent: string, errors: string[]): void {
  for (const [name, shape] of Object.entries(members)) {
    const path = parent + lowerFirst(name);
    const value = params[name];
    if (value === undefined || value === null) {
      if (shape.required) errors.push(failure(null, shape, path, 'Member must not be null'));
      continue;
    }
    checkValue(value, shape, path, errors);
  }
}

function checkValue(value: unknown, shape: Shape, path: string, errors: string[]): void {
  const fail = (constraint: string) => errors.push(failure(value, shape, path, constraint));
  if (shape.kind === 'structure') return checkMembers(value as Params, shape.members, `${path}.`, errors);
  if (shape.kind === 'string') return checkString(value as string, shape, fail);
  if (shape.kind === 'integer') return checkRange(value as number, shape, 'value', fail);
  if (shape.kind === 'blob') return checkRange((value as Buffer).length, shape, 'length', fail);
  if (shape.kind === 'map') return checkMap(value as Map<string, string>, shape, fail);
  if (shape.kind !== 'list') return;
  const items = value as unknown[];
  checkRange(items.length, shape, 'length', fail);
  if (shape.member.kind === 'string') {
    const { min, max } = shape.member;
    if (items.some((s) => s !== null && !within((s as string).length, min, max))) fail(`Member must satisfy constraint: [${lengths(min, max)}]`);
    return;
  }
  items.forEach((item, i) => {
    const at = `${path}.${i + 1}.member`;
    if (item === null) errors.push(failure(null, shape.member, at, 'Member must not be null'));
    else checkValue(item, shape.member, at, errors);
  });
}

function checkString(value: string, shape: StringShape, fail: (c: string) => void): void {
  if (shape.pattern !== undefined && !new RegExp(`^(?:${shape.pattern})$`).test(value)) {
    fail(`Member must satisfy regular expression pattern: ${shape.pattern}`);
  }
  checkRange(value.length, shape, 'length', fail);
  if (shape.values && !shape.values.includes(value)) fail(`Member must satisfy enum value set: [${shape.values.join(', ')}]`);
}

function checkRange(n: number, bounds: { min?: number; max?: number }, what: 'value' | 'length', fail: (c: string) => void): void {
  if (bounds.min !== undefined && n < bounds.min) fail(`Member must have ${what} greater than or equal to ${bounds.min}`);
  if (bounds.max !== undefined && n > bounds.max) fail(`Member must have ${what} less than or equal to ${bounds.max}`);
}

function checkMap(value: Map<string, string>, shape: Extract<Shape, { kind: 'map' }>, fail: (c: string) => void): void {
  checkRange(value.size, shape, 'length', fail);
  const keys = [...value.keys()];
  const values = [...value.values()];
  if (keys.some((k) => !within(k.length, shape.key.min, shape.key.max))) fail(`Map keys must satisfy constraint: [${lengths(shape.key.min, shape.key.max)}]`);
  if (values.some((v) => !within(v.length, shape.value.min, shape.value.max))) {
    fail(`Map value must satisfy constraint: [${lengths(shape.value.min, shape.value.max)}]`);
  }
}

const within = (n: number, min = 0, max = Infinity) => n >= min && n <= max;
const lengths = (min = 0, max = Infinity) =>
  `Member must have length less than or equal to ${max}, Member must have length greater than or equal to ${min}`;

/** "Value 'x' at 'path' failed to satisfy constraint: …", the value shown as AWS (Java) shows it. */
function failure(value: unknown, shape: Shape, path: string, constraint: string): string {
  return `Value ${value === null ? 'null' : `'${show(value, shape)}'`} at '${path}' failed to satisfy constraint: ${constraint}`;
}

function show(value: unknown, shape: Shape): string {
  if (shape.kind === 'blob') return `java.nio.HeapByteBuffer[pos=0 lim=${(value as Buffer).length} cap=${(value as Buffer).length}]`;
  if (shape.kind === 'list') return `[${(value as unknown[]).map(String).join(', ')}]`;
  if (shape.kind === 'map') return `{${[...(value as Map<string, string>)].map(([k, v]) => `${k}=${v}`).join(', ')}}`;
  return String(value);
}

import { describe, expect, it } from 'vitest';
import { ConfigError, validateConfig } from '../../src/config/index.js';

const issues = (value: unknown) => {
  try {
    validateConfig(value, 'sluice.config.ts');
  } catch (e) {
    return (e as ConfigError).issues;
  }
  return [];
};

describe('configuration validation', () => {
  it('accepts both engines and turns durations into milliseconds', () => {
    const c = validateConfig({ engine: { kind: 'nats', servers: ['nats://a:4222'], replicas: 3, requestTimeout: '5s' }, streams: { s: { retention: '12h' } } });
    expect(c.engine).toEqual({ kind: 'nats', servers: ['nats://a:4222'], replicas: 3, requestTimeout: 5000 });
    expect(c.streams?.s?.retention).toBe(43_200_000);
    expect(validateConfig({ engine: { kind: 'sqlite', durability: 'fsync' } }).engine).toEqual({ kind: 'sqlite', durability: 'fsync' });
  });

  it('takes the nats engine\'s request policies as plain data, and names each bad field of them', () => {
    const policy = { timeout: { timeoutMs: 3000 }, retry: { maxAttempts: 2, baseDelayMs: 100 }, breaker: { minimumCalls: 50, window: { kind: 'time', durationMs: 60_000 } }, bulkhead: false, budget: { percentCanRetry: 0.1 } };
    expect(validateConfig({ engine: { kind: 'nats', servers: 'nats://a:4222', policy } }).engine).toEqual({ kind: 'nats', servers: 'nats://a:4222', policy });
    const bad = (policy: unknown) => issues({ engine: { kind: 'nats', servers: 'nats://a:4222', policy } });
    expect(bad({ retry: { maxAttempts: 0, retryOn: 'always' }, breaker: { failureRateThreshold: 2 }, circuit: {} })).toEqual([
      'engine.policy.retry.maxAttempts: Too small: expected number to be >=1',
      'engine.policy.retry: Unrecognized key: "retryOn"', // functions cannot be configured: a config is plain data (it crosses to worker threads)
      'engine.policy.breaker.failureRateThreshold: Too big: expected number to be <=1',
      'engine.policy: Unrecognized key: "circuit"',
    ]);
    expect(bad({ breaker: { window: { kind: 'count', size: 0 } }, timeout: { timeoutMs: 0 } })).toEqual([
      'engine.policy.timeout.timeoutMs: Too small: expected number to be >=1',
      'engine.policy.breaker.window.size: Too small: expected number to be >=1',
    ]);
    // A part is `false` or an object: a bad field of the object is named, not "Invalid input" for the part.
    expect(bad({ breaker: { window: { kind: 'sliding' } }, bulkhead: { maxQueued: -1 } })).toEqual([
      "engine.policy.breaker.window.kind: Invalid discriminator value. Expected 'count' | 'time'",
      'engine.policy.bulkhead.maxQueued: Too small: expected number to be >=0',
    ]);
    expect(bad({ retry: 'yes', breaker: { window: 'x' } })).toEqual([
      'engine.policy.retry: Invalid input: expected false, or expected object, received string',
      'engine.policy.breaker.window: Invalid input: expected object, received string',
    ]);
  });

  it('names every bad field of an engine', () => {
    expect(issues({ engine: { kind: 'nats', replicas: 7 } })).toEqual([
      'engine.servers: Invalid input: expected string, received undefined',
      'engine.replicas: Too big: expected number to be <=5',
    ].map((m) => expect.stringContaining(m.split(':')[0]!)));
    expect(issues({ engine: { kind: 'kafka' } })[0]).toMatch(/^engine.kind: /);
    expect(issues({ engine: { kind: 'sqlite', durability: 'sometimes' } })[0]).toMatch(/^engine.durability: /);
    expect(issues({ auth: { principals: [{ id: 'a b', scopes: { '*': ['fly'] } }] } })).toEqual([
      'auth.principals.0.id: use 1-64 letters, digits, _ or -',
      expect.stringMatching(/^auth\.principals\.0\.scopes\.\*\.0: /),
    ]);
  });

  it('refuses two principals of one id or one access key, and ids of the fn- functions keep for themselves', () => {
    const p = (id: string, accessKeyId?: string) => ({ id, apiKeyHash: `sha256:${'0'.repeat(64)}`, ...(accessKeyId ? { accessKeyId, secretAccessKey: 's' } : {}), scopes: { '*': ['read'] } });
    expect(issues({ auth: { principals: [p('ana', 'AKIDA'), p('bo', 'AKIDA'), p('ana'), p('fn-enrich')] } })).toEqual([
      "auth.principals.1.accessKeyId: 'AKIDA' is principal 0's accessKeyId too",
      "auth.principals.2.id: 'ana' is principal 0's id too",
      "auth.principals.3.id: 'fn-enrich': ids starting with fn- are functions' own principals",
    ]);
    expect(issues({ auth: { principals: [p('ana', 'AKIDA'), p('bo', 'AKIDB')] } })).toEqual([]);
  });

  it('accepts buckets with S3 names and names each bad one', () => {
    expect(validateConfig({ buckets: { uploads: {}, 'logs.2026-archive': {} } }).buckets).toEqual({ uploads: {}, 'logs.2026-archive': {} });
    expect(issues({ buckets: { Uploads: {}, ab: {}, metrics: {}, fine: { versioning: true } } })).toEqual([
      'buckets.fine: Unrecognized key: "versioning"',
      expect.stringMatching(/^buckets\.Uploads: invalid bucket name 'Uploads': a bucket name is lowercase/),
      expect.stringMatching(/^buckets\.ab: invalid bucket name 'ab': a bucket name is 3 to 63 characters long/),
      expect.stringMatching(/^buckets\.metrics: invalid bucket name 'metrics': 'metrics' is a path the gateway serves itself/),
    ]);
  });

  it('names every bad field of dataflow', () => {
    expect(issues({ dataflow: { pipelines: [] } })).toEqual([expect.stringMatching(/^dataflow\.pipelines: Too small/)]);
    expect(issues({ dataflow: { pipelines: ['p.ts'], workers: -1, keyGroups: 0, batch: 1e9, maxDrift: 'soon', stateKeysInMemory: 0, extra: 1 } })).toEqual([
      expect.stringMatching(/^dataflow\.workers: Too small/),
      expect.stringMatching(/^dataflow\.keyGroups: Too small/),
      expect.stringMatching(/^dataflow\.batch: Too big/),
      expect.stringMatching(/^dataflow\.maxDrift: /),
      expect.stringMatching(/^dataflow\.stateKeysInMemory: Too small/),
      expect.stringMatching(/^\(root\)|^dataflow: Unrecognized key/),
    ]);
    expect(validateConfig({ dataflow: { pipelines: ['p.ts'], workers: 0 } }).dataflow).toEqual({ pipelines: ['p.ts'], workers: 0 });
    expect(validateConfig({ dataflow: { pipelines: ['p.ts'], maxDrift: '2m' } }).dataflow?.maxDrift).toBe(120_000);
    expect(issues({ dataflow: { pipelines: ['p.ts'], maxDrift: -5, stateKeysInMemory: 1.5 } })).toEqual([
      expect.stringMatching(/^dataflow\.maxDrift: expected milliseconds/),
      expect.stringMatching(/^dataflow\.stateKeysInMemory: /),
    ]);
  });
});

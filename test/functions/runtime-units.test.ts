// The runtimes' parts that need no worker: Lambda's error texts, the spec's checks, log stream
// names, and the context's Sluice client against a real gateway.
import { describe, expect, it } from 'vitest';
import { InvalidRuntimeSpecError, isPermissionDeniedError, isSluiceRequestError, PermissionDeniedError } from '../../src/functions/runtime/errors.js';
import { exitError, timeoutError, toFunctionError } from '../../src/functions/runtime/lambda-errors.js';
import { processRuntime } from '../../src/functions/runtime/process.js';
import { sluiceClient } from '../../src/functions/runtime/sluice-client.js';
import { checkSpec, logStreamName, PROCESS_MAX_TIMEOUT_MS, THREAD_MAX_TIMEOUT_MS } from '../../src/functions/runtime/spec.js';
import { threadRuntime } from '../../src/functions/runtime/thread.js';
import type { RuntimeSpec } from '../../src/functions/runtime/types.js';
import { createApiKey } from '../../src/gateway/auth/api-keys.js';
import { startGateway } from '../support/gateway.js';

const spec: RuntimeSpec = { name: 'fn', file: '/srv/fn.ts', exportName: '', timeoutMs: 3000, memoryMB: 128, environment: {}, concurrency: 10, arn: 'arn:aws:lambda:us-east-1:000000000000:function:fn' };

describe('Lambda error texts', () => {
  it('the timeout names the function timeout in seconds with two decimals', () => {
    expect(timeoutError(3000).errorMessage).toBe('Task timed out after 3.00 seconds');
    expect(timeoutError(2500).errorMessage).toBe('Task timed out after 2.50 seconds');
    expect(timeoutError(900_000).errorMessage).toBe('Task timed out after 900.00 seconds');
    expect(timeoutError(1).errorType).toBe('Sandbox.Timedout');
  });

  it('an exit is described as Lambda does: exit status, signal, or no reason', () => {
    expect(exitError(1, null).errorMessage).toBe('Runtime exited with error: exit status 1');
    expect(exitError(null, 'SIGKILL').errorMessage).toBe('Runtime exited with error: signal: killed');
    expect(exitError(null, 'SIGABRT').errorMessage).toBe('Runtime exited with error: signal: aborted');
    expect(exitError(0, null)).toEqual({ errorType: 'Runtime.ExitError', errorMessage: 'Runtime exited without providing a reason', trace: [] });
  });

  it('a thrown non-error is its typeof and text; one whose text cannot be read is Lambda\'s "handled"', () => {
    expect(toFunctionError(42)).toEqual({ errorType: 'number', errorMessage: '42', trace: [] });
    expect(toFunctionError({ reason: 'x' })).toEqual({ errorType: 'object', errorMessage: '[object Object]', trace: [] });
    expect(toFunctionError(null).errorType).toBe('handled');
    const e = new RangeError('too far');
    expect(toFunctionError(e)).toEqual({ errorType: 'RangeError', errorMessage: 'too far', trace: e.stack!.split('\n') });
  });
});

describe('runtime spec', () => {
  it('defaults the export to handler and refuses each bad field by name', () => {
    expect(checkSpec(spec, THREAD_MAX_TIMEOUT_MS).exportName).toBe('handler');
    const refuse = (over: Partial<RuntimeSpec>) => {
      try {
        checkSpec({ ...spec, ...over }, THREAD_MAX_TIMEOUT_MS);
      } catch (e) {
        expect(e).toBeInstanceOf(InvalidRuntimeSpecError);
        return (e as Error).message;
      }
      throw new Error('accepted');
    };
    expect(refuse({ file: 'fn.ts' })).toBe("file: must be an absolute path, got 'fn.ts'");
    expect(refuse({ timeoutMs: 0 })).toBe('timeoutMs: must be a whole number from 1 to 900000, got 0');
    expect(refuse({ memoryMB: 8 })).toBe('memoryMB: must be a whole number from 16 to 10240, got 8');
    expect(refuse({ concurrency: 1.5 })).toBe('concurrency: must be a whole number from 1 to 1000, got 1.5');
    expect(refuse({ environment: { A: 1 as unknown as string } })).toBe('environment.A: must be a string, got number');
  });

  it('a thread runs for at most 15 minutes, a process for 24 hours', () => {
    expect(() => threadRuntime({ ...spec, timeoutMs: THREAD_MAX_TIMEOUT_MS + 1 })).toThrow(/^timeoutMs: must be a whole number from 1 to 900000/);
    const long = processRuntime({ ...spec, timeoutMs: PROCESS_MAX_TIMEOUT_MS });
    expect(long.stats).toEqual({ workers: 0, busy: 0, coldStarts: 0, replaced: 0 });
    return long.close();
  });

  it('a log stream is named as Lambda names one: the UTC date, [$LATEST], 32 hex digits', () => {
    expect(logStreamName(new Date('2025-01-31T23:59:59Z'))).toMatch(/^2025\/01\/31\/\[\$LATEST\][0-9a-f]{32}$/);
    expect(logStreamName()).not.toBe(logStreamName());
  });
});

describe('context.sluice', () => {
  it('answers per record; a refused key is a PermissionDeniedError, another refusal a SluiceRequestError; no gateway, a clear error', async () => {
    const { key, hash } = createApiKey('fn-orders');
    const g = await startGateway({ principals: [{ id: 'fn-orders', apiKeyHash: hash, scopes: { 'orders*': ['write'] } }] });
    try {
      await g.engine.createStream('orders', { partitions: 2 });
      await g.engine.createStream('audit', { partitions: 1 });
      const client = sluiceClient({ SLUICE_URL: g.url, SLUICE_API_KEY: key });
      const results = await client.append('orders', [{ n: 1 }, { n: 2 }, { n: 3 }], { key: 'same' });
      expect(results).toHaveLength(3);
      expect(new Set(results.map((r) => ('partition' in r ? r.partition : -1))).size).toBe(1); // one key, one partition
      expect(await client.append('orders', [])).toEqual([]);
      const denied = await client.append('audit', [{ n: 1 }]).catch((e: unknown) => e);
      expect(denied).toBeInstanceOf(PermissionDeniedError);
      expect(isPermissionDeniedError(denied)).toBe(true);
      expect(denied).toMatchObject({ message: "key 'fn-orders' may not write stream 'audit'", stream: 'audit', action: 'write', code: 'PermissionDenied' });
      const missing = await client.append('orders-late', [{ n: 1 }]).catch((e: unknown) => e);
      expect(isSluiceRequestError(missing)).toBe(true);
      expect(missing).toMatchObject({ status: 404, code: 'StreamNotFound' });
      await expect(sluiceClient({}).append('orders', [1])).rejects.toThrow('SLUICE_URL is not set: the function has no Sluice gateway to write to');
      // A guard that holds across copies of the module (a handler importing the package's build).
      expect(isPermissionDeniedError(Object.assign(new Error('x'), { name: 'PermissionDeniedError', code: 'PermissionDenied' }))).toBe(true);
    } finally {
      await g.close();
    }
  });
});

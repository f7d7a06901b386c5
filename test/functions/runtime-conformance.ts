// The function runtime conformance suite: every runtime (threads, child processes) must pass it
// unmodified. A runtime's test file calls runtimeConformance() with its factory. Handlers are in
// fixtures/; deadlines are measured from the call, not slept past.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { isFunctionInitError, isRuntimeClosedError } from '../../src/functions/runtime/errors.js';
import { createApiKey } from '../../src/gateway/auth/api-keys.js';
import { eventText, type KinesisBatch } from '../../src/functions/runtime/payload.js';
import type { FunctionRuntime, InvokeOutcome, RuntimeFactory, RuntimeSpec } from '../../src/functions/runtime/types.js';
import { startGateway } from '../support/gateway.js';
import { tempDir } from '../support/tmp.js';

const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
const LOG_STREAM = /^(\d{4})\/(\d{2})\/(\d{2})\/\[\$LATEST\][0-9a-f]{32}$/;
/** How far past its deadline an invocation may end. */
// How late a deadline's end may be seen on a loaded 2-core machine (the handler, on a core of its
// own in `while (true)`, leaves one for the test and the other file): it shows the handler was not
// left to run, not the timer's precision (its lower bound is the proof of the deadline).
const DEADLINE_SLACK_MS = 1000;
/** A timer may fire up to a millisecond before performance.now() says its time has passed (libuv counts from the loop's cached time). */
const TIMER_EARLY_MS = 2;

let seq = 0;
const request = (event: unknown, extra: { clientContext?: unknown; identity?: unknown } = {}) => ({ requestId: `req-${++seq}`, payload: JSON.stringify(event), ...extra });
const okResult = (o: InvokeOutcome): unknown => {
  if (!o.ok) throw new Error(`invocation failed (${o.kind}): ${o.error.errorType}: ${o.error.errorMessage}`);
  return JSON.parse(o.result);
};
const failure = (o: InvokeOutcome) => {
  if (o.ok) throw new Error(`invocation succeeded with ${o.result}`);
  return o;
};
const messages = (o: InvokeOutcome) => o.logs.map((l) => `${l.level} ${l.message}`);

export function runtimeConformance(name: string, factory: RuntimeFactory): void {
  describe(`function runtime conformance: ${name}`, () => {
    const open: FunctionRuntime[] = [];
    const make = (file: string, spec: Partial<RuntimeSpec> = {}): FunctionRuntime => {
      const rt = factory({
        name: 'fn-test',
        file: file.startsWith('/') ? file : fixture(file),
        exportName: 'handler',
        timeoutMs: 3000,
        memoryMB: 128,
        environment: {},
        concurrency: 1,
        arn: 'arn:aws:lambda:us-east-1:000000000000:function:fn-test',
        ...spec,
      });
      open.push(rt);
      return rt;
    };
    afterEach(async () => {
      await Promise.all(open.splice(0).map((rt) => rt.close()));
    });

    describe('handlers and results', () => {
      it('an async handler answers with its result as JSON text; the first invocation is a cold start', async () => {
        const rt = make('echo.ts');
        const first = await rt.invoke(request({ a: 1, b: [true, null, 'x'] }));
        expect(first).toMatchObject({ ok: true, result: '{"a":1,"b":[true,null,"x"]}', coldStart: true, logs: [] });
        expect(first.initDurationMs).toBeGreaterThan(0);
        expect(first.durationMs).toBeGreaterThanOrEqual(0);
        expect(first.maxMemoryMB).toBeGreaterThan(0);
        const second = await rt.invoke(request('again'));
        expect(second).toMatchObject({ ok: true, result: '"again"', coldStart: false });
        expect(second.initDurationMs).toBeUndefined();
        expect(rt.stats).toEqual({ workers: 1, busy: 0, coldStarts: 1, replaced: 0 });
      });

      it('a stream mapping’s Kinesis batch reaches the handler as Lambda’s event, the same as its JSON text would parse to', async () => {
        const rt = make('echo.ts');
        const values = ['{"a":1}', '', 'ü ✓', '\u0000\u00ff'].map((v) => Buffer.from(v, 'latin1'));
        // The data as a view into a larger buffer, as a read of many records may give it.
        const whole = Buffer.concat([Buffer.from('xx'), ...values]);
        const batch: KinesisBatch = {
          shardId: 'shardId-000000000002', invokeIdentityArn: 'arn:aws:iam::000000000000:role/r', awsRegion: 'eu-west-1',
          eventSourceARN: 'arn:aws:kinesis:eu-west-1:000000000000:stream/s',
          partitionKeys: ['k', '', 'with "quote"', 'lone \ud800'], sequenceNumbers: ['1', '2', '3', '49'],
          arrivals: Float64Array.from([1_700_000_000_000, 1_700_000_000_450, 1_700_000_000_001, 0]),
          data: whole.subarray(2), ends: Uint32Array.from(values.map((_, i) => values.slice(0, i + 1).reduce((n, v) => n + v.length, 0))),
        };
        const text = eventText(batch);
        const outcome = await rt.invoke({ requestId: 'kinesis-1', payload: batch });
        expect(outcome.ok && outcome.result).toBe(text);
        const event = JSON.parse(text);
        expect(event.Records.map((r: any) => Buffer.from(r.kinesis.data, 'base64').toString('latin1'))).toEqual(values.map((v) => v.toString('latin1')));
        expect(event.Records.map((r: any) => r.kinesis.approximateArrivalTimestamp)).toEqual([1_700_000_000, 1_700_000_000.45, 1_700_000_000.001, 0]);
        expect(event.Records[3]).toEqual({
          kinesis: { kinesisSchemaVersion: '1.0', partitionKey: 'lone \ud800', sequenceNumber: '49', data: Buffer.from('\u0000\u00ff', 'latin1').toString('base64'), approximateArrivalTimestamp: 0 },
          eventSource: 'aws:kinesis', eventVersion: '1.0', eventID: 'shardId-000000000002:49', eventName: 'aws:kinesis:record',
          invokeIdentityArn: 'arn:aws:iam::000000000000:role/r', awsRegion: 'eu-west-1', eventSourceARN: 'arn:aws:kinesis:eu-west-1:000000000000:stream/s',
        });
      });

      it('plain JavaScript modules load natively: ESM .mjs and a CommonJS callback handler written for Lambda', async () => {
        expect(okResult(await make('echo.mjs').invoke(request({ n: 1 })))).toEqual({ js: true, event: { n: 1 } });
        expect(okResult(await make('callback.cjs').invoke(request({ name: 'ada' })))).toEqual({ greeting: 'hello ada', fn: 'fn-test' });
      });

      it('a callback handler succeeds with callback(null, result), fails with callback(error), and the first call wins', async () => {
        const rt = make('callback.ts');
        expect(okResult(await rt.invoke(request({ mode: 'ok', n: 21 })))).toEqual({ doubled: 42 });
        const failed = failure(await rt.invoke(request({ mode: 'fail' })));
        expect(failed.kind).toBe('Unhandled');
        expect(failed.error.errorType).toBe('Error');
        expect(failed.error.errorMessage).toBe('nope');
        expect(failed.error.trace[0]).toBe('Error: nope');
        expect(failed.error.trace[1]).toMatch(/^ {4}at .*callback\.ts/);
        expect(failure(await rt.invoke(request({ mode: 'string' }))).error).toEqual({ errorType: 'string', errorMessage: 'plain failure', trace: [] });
        expect(okResult(await rt.invoke(request({ mode: 'succeed' })))).toBe('legacy');
        expect(okResult(await rt.invoke(request({ mode: 'twice' })))).toBe('first');
        // Never called back, nothing pending: Lambda answers null once the event loop is empty.
        expect(await rt.invoke(request({ mode: 'silent' }))).toMatchObject({ ok: true, result: 'null' });
      });

      it('callbackWaitsForEmptyEventLoop: true holds the result until a timer the handler left has run; false answers at once', async () => {
        const rt = make('callback.ts');
        await rt.warm(1);
        let t = performance.now();
        expect(okResult(await rt.invoke(request({ mode: 'linger', wait: true })))).toBe('answered');
        expect(performance.now() - t).toBeGreaterThanOrEqual(290);
        await new Promise((r) => setTimeout(r, 350)); // let the next timer start on an empty loop
        t = performance.now();
        expect(okResult(await rt.invoke(request({ mode: 'linger', wait: false, lingerMs: 5000 })))).toBe('answered');
        expect(performance.now() - t).toBeLessThan(2500); // answered before the 5 s timer it left
      });

      it('results are serialised as Lambda does: undefined is null, text and numbers as JSON, a non-async handler its return value', async () => {
        const rt = make('failures.ts');
        expect(await rt.invoke(request({ mode: 'nothing' }))).toMatchObject({ ok: true, result: 'null' });
        expect(await rt.invoke(request({ mode: 'text' }))).toMatchObject({ ok: true, result: '"just text"' });
        expect(await rt.invoke(request({ mode: 'number' }))).toMatchObject({ ok: true, result: '42' });
        expect(await make('failures.ts', { exportName: 'sync' }).invoke(request({ mode: 'yes' }))).toMatchObject({ ok: true, result: '{"sync":"yes"}' });
      });

      it('a result JSON cannot carry (a cycle, a BigInt) fails with Lambda\'s "Unable to stringify response body"', async () => {
        const rt = make('failures.ts');
        for (const mode of ['cyclic', 'bigint']) {
          const f = failure(await rt.invoke(request({ mode })));
          expect(f.kind).toBe('Unhandled');
          expect(f.error.errorType).toBe('Error');
          expect(f.error.errorMessage).toBe('Unable to stringify response body');
          expect(f.error.trace[0]).toBe('Error: Unable to stringify response body');
        }
      });

      it('thrown errors, rejections and thrown strings have Lambda\'s shapes, and are logged as "Invoke Error"', async () => {
        const rt = make('failures.ts');
        const thrown = failure(await rt.invoke(request({ mode: 'thrown' })));
        expect(thrown.kind).toBe('Unhandled');
        expect(thrown.error.errorType).toBe('TypeError');
        expect(thrown.error.errorMessage).toBe('bad type');
        expect(thrown.error.trace[0]).toBe('TypeError: bad type');
        expect(thrown.error.trace[1]).toMatch(/^ {4}at .*failures\.ts/);
        expect(thrown.logs).toHaveLength(1);
        expect(thrown.logs[0]!.level).toBe('ERROR');
        const logged = thrown.logs[0]!.message;
        expect(logged.startsWith('Invoke Error \t')).toBe(true);
        expect(JSON.parse(logged.slice('Invoke Error \t'.length))).toMatchObject({ errorType: 'TypeError', errorMessage: 'bad type', stack: thrown.error.trace });
        const custom = failure(await rt.invoke(request({ mode: 'custom' })));
        expect(custom.error.errorType).toBe('ValidationError');
        expect(custom.error.errorMessage).toBe('bad input');
        expect(custom.error.trace[0]).toBe('ValidationError: bad input');
        expect(JSON.parse(custom.logs[0]!.message.slice('Invoke Error \t'.length))).toMatchObject({ errorType: 'ValidationError', field: 'email' });
        expect(failure(await rt.invoke(request({ mode: 'string' }))).error).toEqual({ errorType: 'string', errorMessage: 'plain failure', trace: [] });
        expect(failure(await rt.invoke(request({ mode: 'undefined' }))).error).toEqual({ errorType: 'string', errorMessage: 'handled', trace: [] });
        expect(rt.stats.replaced).toBe(0); // a handled failure leaves the worker trusted
        expect(rt.stats.workers).toBe(1);
      });

      it('an event that is not JSON fails the invocation with the SyntaxError, as the runtime parsing it would', async () => {
        const rt = make('echo.ts');
        const f = failure(await rt.invoke({ requestId: 'bad-json', payload: '{"a":' }));
        expect(f.kind).toBe('Unhandled');
        expect(f.error.errorType).toBe('SyntaxError');
      });
    });

    describe('deadlines', () => {
      it('a handler stuck in while (true) {} is ended at its deadline with Lambda\'s timeout, and the next invocation runs on a fresh worker', async () => {
        const rt = make('deadline.ts', { timeoutMs: 1000 });
        await rt.warm(1);
        const before = okResult(await rt.invoke(request({}))) as { logStreamName: string };
        const t = performance.now();
        const f = failure(await rt.invoke(request({ mode: 'loop' })));
        const elapsed = performance.now() - t;
        expect(elapsed).toBeGreaterThanOrEqual(1000 - TIMER_EARLY_MS);
        expect(elapsed).toBeLessThan(1000 + DEADLINE_SLACK_MS);
        expect(f.kind).toBe('Timeout');
        expect(f.error).toEqual({ errorType: 'Sandbox.Timedout', errorMessage: 'Task timed out after 1.00 seconds', trace: [] });
        expect(f.durationMs).toBeGreaterThanOrEqual(1000 - TIMER_EARLY_MS);
        expect(messages(f)).toEqual(['INFO looping']); // written before the loop, kept
        expect(rt.stats.replaced).toBe(1);
        const next = await rt.invoke(request({}));
        expect(next.coldStart).toBe(true);
        expect((okResult(next) as { logStreamName: string }).logStreamName).not.toBe(before.logStreamName);
        expect(rt.stats.workers).toBe(1);
      });

      it('a handler whose promise never settles is timed out the same way', async () => {
        const rt = make('deadline.ts', { timeoutMs: 500 });
        await rt.warm(1);
        const t = performance.now();
        const f = failure(await rt.invoke(request({ mode: 'never' })));
        const elapsed = performance.now() - t;
        expect(elapsed).toBeGreaterThanOrEqual(500 - TIMER_EARLY_MS);
        expect(elapsed).toBeLessThan(500 + DEADLINE_SLACK_MS);
        expect(f.error).toEqual({ errorType: 'Sandbox.Timedout', errorMessage: 'Task timed out after 0.50 seconds', trace: [] });
        expect(messages(f)).toEqual(['INFO waiting']);
        expect(await rt.invoke(request({}))).toMatchObject({ ok: true, coldStart: true });
      });

      it('getRemainingTimeInMillis() counts down to the deadline', async () => {
        const rt = make('context.ts', { timeoutMs: 2500 });
        await rt.warm(1);
        const t = performance.now();
        const { remainingMs } = okResult(await rt.invoke(request({}))) as { remainingMs: number };
        const took = performance.now() - t;
        expect(remainingMs).toBeLessThanOrEqual(2500);
        expect(remainingMs).toBeGreaterThanOrEqual(2500 - took - 5); // no more gone than the call took
      });
    });

    describe('memory and crashes', () => {
      it('allocation past the memory limit fails with Runtime.OutOfMemory; the worker is replaced and the next invocation runs', { timeout: 60_000 }, async () => {
        const rt = make('memory.ts', { memoryMB: 64, timeoutMs: 30_000 });
        await rt.warm(1);
        const f = failure(await rt.invoke(request({ allocate: true })));
        expect(f.kind).toBe('OutOfMemory');
        expect(f.error).toEqual({ errorType: 'Runtime.OutOfMemory', errorMessage: 'Runtime exited with error: JavaScript heap out of memory', trace: [] });
        expect(f.maxMemoryMB).toBe(64);
        expect(rt.stats.replaced).toBe(1);
        expect(await rt.invoke(request({}))).toMatchObject({ ok: true, coldStart: true });
      });

      it('an unhandled rejection from a timer fails that invocation with Runtime.UnhandledPromiseRejection; the worker is replaced', async () => {
        const rt = make('crash.ts');
        const before = okResult(await rt.invoke(request({}))) as { logStreamName: string };
        const t = performance.now();
        const f = failure(await rt.invoke(request({ mode: 'rejection' })));
        expect(performance.now() - t).toBeLessThan(1000); // not left to run its 2 s
        expect(f.kind).toBe('Unhandled');
        expect(f.error.errorType).toBe('Runtime.UnhandledPromiseRejection');
        expect(f.error.errorMessage).toBe('Error: later');
        expect(f.error.trace[0]).toBe('Runtime.UnhandledPromiseRejection: Error: later');
        expect(f.logs).toHaveLength(1);
        expect(f.logs[0]!.message).toMatch(/^Unhandled Promise Rejection \t\{"errorType":"Runtime.UnhandledPromiseRejection","errorMessage":"Error: later"/);
        expect(rt.stats.replaced).toBe(1);
        const next = okResult(await rt.invoke(request({}))) as { logStreamName: string };
        expect(next.logStreamName).not.toBe(before.logStreamName);
      });

      it('an uncaught exception from a timer fails that invocation with the error itself; the worker is replaced', async () => {
        const rt = make('crash.ts');
        const f = failure(await rt.invoke(request({ mode: 'uncaught' })));
        expect(f.kind).toBe('Unhandled');
        expect(f.error.errorType).toBe('Error');
        expect(f.error.errorMessage).toBe('from a timer');
        expect(f.error.trace[0]).toBe('Error: from a timer');
        expect(f.logs[0]!.message).toMatch(/^Uncaught Exception \t\{"errorType":"Error","errorMessage":"from a timer"/);
        expect(rt.stats.replaced).toBe(1);
        expect(await rt.invoke(request({}))).toMatchObject({ ok: true, coldStart: true });
      });

      it('an uncaught exception after an invocation ended retires the worker; the next runs on a fresh one, with the line', async () => {
        const rt = make('crash.ts');
        const first = okResult(await rt.invoke(request({ mode: 'after' }))) as { logStreamName: string };
        for (const end = Date.now() + 10_000; rt.stats.workers !== 0 && Date.now() < end; ) await new Promise((r) => setTimeout(r, 10)); // its timer throws 10 ms after
        expect(rt.stats).toMatchObject({ workers: 0, replaced: 1 });
        const next = await rt.invoke(request({}));
        expect((okResult(next) as { logStreamName: string }).logStreamName).not.toBe(first.logStreamName);
        expect(next.coldStart).toBe(true);
        expect(next.logs.map((l) => l.message.split('\t')[0])).toEqual(['Uncaught Exception ']);
      });

      it('process.exit() during an invocation fails it with Runtime.ExitError', async () => {
        const rt = make('crash.ts');
        const f = failure(await rt.invoke(request({ mode: 'exit' })));
        expect(f.kind).toBe('Unhandled');
        expect(f.error).toEqual({ errorType: 'Runtime.ExitError', errorMessage: 'Runtime exited with error: exit status 3', trace: [] });
        expect(await rt.invoke(request({}))).toMatchObject({ ok: true, coldStart: true });
      });
    });

    describe('init errors', () => {
      it('a missing module fails with Runtime.ImportModuleError, and warm() rejects naming the file', async () => {
        const file = fixture('no-such-handler.ts');
        const rt = make(file);
        const f = failure(await rt.invoke(request({})));
        expect(f.kind).toBe('InitError');
        expect(f.coldStart).toBe(true);
        expect(f.error.errorType).toBe('Runtime.ImportModuleError');
        expect(f.error.errorMessage).toBe(`Error: Cannot find module '${file}'`);
        expect(f.error.trace[0]).toBe(`Runtime.ImportModuleError: Error: Cannot find module '${file}'`);
        const e = await rt.warm(1).catch((x: unknown) => x);
        expect(isFunctionInitError(e)).toBe(true);
        expect((e as Error).message).toBe(`function 'fn-test' could not load ${file}: Runtime.ImportModuleError: Error: Cannot find module '${file}'`);
        expect(rt.stats.workers).toBe(0);
      });

      it('a module that throws while loading fails with its error; what it logged comes with it', async () => {
        const rt = make('throws-at-import.ts');
        const f = failure(await rt.invoke(request({})));
        expect(f.kind).toBe('InitError');
        expect(f.error.errorType).toBe('Error');
        expect(f.error.errorMessage).toBe('cannot start: DATABASE_URL is not set');
        expect(f.logs.map((l) => l.message.split('\t')[0])).toEqual(['connecting', 'Uncaught Exception ']);
        const e = await rt.warm(1).catch((x: unknown) => x);
        expect((e as Error).message).toContain(fixture('throws-at-import.ts'));
        expect((e as { logs: unknown[] }).logs).toHaveLength(2);
      });

      it('a missing export and an export that is not a function fail with Runtime.HandlerNotFound', async () => {
        expect(failure(await make('no-export.ts').invoke(request({}))).error).toMatchObject({ errorType: 'Runtime.HandlerNotFound', errorMessage: 'no-export.handler is undefined or not exported' });
        expect(failure(await make('not-a-function.ts').invoke(request({}))).error).toMatchObject({ errorType: 'Runtime.HandlerNotFound', errorMessage: 'not-a-function.handler is not a function' });
        expect(failure(await make('echo.ts', { exportName: 'missing' }).invoke(request({}))).error.errorMessage).toBe('echo.missing is undefined or not exported');
      });

      it('a module that does not parse fails with Runtime.UserCodeSyntaxError', async () => {
        const f = failure(await make('syntax-error.mjs').invoke(request({})));
        expect(f.kind).toBe('InitError');
        expect(f.error.errorType).toBe('Runtime.UserCodeSyntaxError');
        expect(f.error.errorMessage).toMatch(/^SyntaxError: /);
      });
    });

    describe('logs', () => {
      it('console methods and stdout/stderr become lines of the invocation, with levels, in order; none reaches Sluice\'s own streams', async () => {
        const rt = make('logs.ts');
        const leaked: string[] = [];
        const spy = (stream: NodeJS.WriteStream) => {
          const real = stream.write;
          stream.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
            leaked.push(String(chunk));
            return (real as (...a: unknown[]) => boolean).apply(stream, [chunk, ...rest]);
          }) as typeof stream.write;
          return () => void (stream.write = real);
        };
        const restore = [spy(process.stdout), spy(process.stderr)];
        let o: InvokeOutcome;
        try {
          o = await rt.invoke(request({ mode: 'levels' }));
          await new Promise((r) => setTimeout(r, 50)); // what a worker writes reaches its parent asynchronously
        } finally {
          for (const r of restore) r();
        }
        expect(leaked.filter((w) => /cart has|out one|err bytes|module loaded/.test(w))).toEqual([]);
        expect(messages(o)).toEqual([
          'INFO module loaded', // written at init: it goes with the first invocation
          'INFO cart has 3 items',
          'INFO info { a: 1 }',
          'WARN warn',
          'ERROR error',
          'DEBUG debug',
          'TRACE trace',
          'INFO out one',
          'INFO out two',
          'ERROR err bytes',
          'INFO partial line', // a line without its newline ends with the invocation
        ]);
        for (const l of o.logs) expect(Math.abs(l.time - Date.now())).toBeLessThan(5000);
        expect(messages(await rt.invoke(request({ mode: 'levels' })))[0]).toBe('INFO cart has 3 items');
      });

      it('AWS_LAMBDA_LOG_LEVEL drops the levels below it', async () => {
        const rt = make('logs.ts', { environment: { AWS_LAMBDA_LOG_LEVEL: 'WARN' } });
        expect(messages(await rt.invoke(request({ mode: 'levels' })))).toEqual(['WARN warn', 'ERROR error', 'INFO out one', 'INFO out two', 'ERROR err bytes', 'INFO partial line']);
      });

      it('two invocations running at once on two workers never get each other\'s lines', async () => {
        const rt = make('logs.ts', { concurrency: 2 });
        await rt.warm(2);
        await Promise.all([rt.invoke(request({ mode: 'tagged', tag: 'warm-a' })), rt.invoke(request({ mode: 'tagged', tag: 'warm-b' }))]);
        const [a, b] = await Promise.all([rt.invoke(request({ mode: 'tagged', tag: 'alpha' })), rt.invoke(request({ mode: 'tagged', tag: 'beta' }))]);
        expect(messages(a!)).toEqual([0, 1, 2, 3, 4].map((i) => `INFO alpha ${i}`));
        expect(messages(b!)).toEqual([0, 1, 2, 3, 4].map((i) => `INFO beta ${i}`));
      });

      it('one invocation keeps at most 256 KB of logs, and a last line says they were cut', async () => {
        const rt = make('logs.ts');
        await rt.warm(1);
        await rt.invoke(request({ mode: 'tagged', tag: 'x' })); // takes the init line
        const o = await rt.invoke(request({ mode: 'flood' }));
        const bytes = o.logs.slice(0, -1).reduce((n, l) => n + Buffer.byteLength(l.message), 0);
        expect(bytes).toBeLessThanOrEqual(256 * 1024);
        expect(o.logs.length).toBe(256 + 1);
        expect(o.logs.at(-1)!.message).toBe('[Sluice] log output cut here: more than 256 KB written');
        expect(await rt.invoke(request({ mode: 'tagged', tag: 'y' }))).toMatchObject({ logs: [{ message: 'y 0' }, { message: 'y 1' }, { message: 'y 2' }, { message: 'y 3' }, { message: 'y 4' }] });
      });

      it('a line written after an invocation ended goes with the next one', async () => {
        const rt = make('logs.ts');
        await rt.invoke(request({ mode: 'tagged', tag: 'first' }));
        expect(messages(await rt.invoke(request({ mode: 'linger' })))).toEqual([]);
        await new Promise((r) => setTimeout(r, 100));
        expect(messages(await rt.invoke(request({ mode: 'tagged', tag: 'next' })))[0]).toBe('INFO after the end');
      });
    });

    describe('context and environment', () => {
      it('context has Lambda\'s fields, exactly', async () => {
        const rt = make('context.ts', { name: 'orders-listener', memoryMB: 256, arn: 'arn:aws:lambda:eu-west-1:000000000000:function:orders-listener' });
        const c = okResult(await rt.invoke({ requestId: 'c0ffee00-0000-4000-8000-000000000001', payload: '{}', identity: { cognitoIdentityId: 'id-1' }, clientContext: { custom: { app: 'web' } } })) as Record<string, unknown>;
        expect(c).toMatchObject({
          awsRequestId: 'c0ffee00-0000-4000-8000-000000000001',
          functionName: 'orders-listener',
          functionVersion: '$LATEST',
          invokedFunctionArn: 'arn:aws:lambda:eu-west-1:000000000000:function:orders-listener',
          memoryLimitInMB: '256',
          logGroupName: '/aws/lambda/orders-listener',
          callbackWaitsForEmptyEventLoop: true,
          identity: { cognitoIdentityId: 'id-1' },
          clientContext: { custom: { app: 'web' } },
        });
        const m = LOG_STREAM.exec(c.logStreamName as string);
        expect(m).not.toBeNull();
        const today = new Date();
        expect(m!.slice(1, 4).map(Number)).toEqual([today.getUTCFullYear(), today.getUTCMonth() + 1, today.getUTCDate()]);
        expect(c.keys).toEqual([
          'awsRequestId', 'callbackWaitsForEmptyEventLoop', 'clientContext', 'done', 'fail', 'functionName', 'functionVersion', 'getRemainingTimeInMillis',
          'identity', 'invokedFunctionArn', 'logGroupName', 'logStreamName', 'memoryLimitInMB', 'sluice', 'succeed',
        ]);
        const plain = okResult(await rt.invoke(request({}))) as Record<string, unknown>;
        expect(plain).toMatchObject({ identity: 'none', clientContext: 'none', logStreamName: c.logStreamName });
      });

      it('the handler sees exactly the environment it was given', async () => {
        const environment = { AWS_REGION: 'us-east-1', AWS_LAMBDA_FUNCTION_NAME: 'fn-test', ORDERS_TABLE: 'orders' };
        expect(okResult(await make('env.ts', { environment }).invoke(request({})))).toEqual(environment);
      });

      it('context.sluice appends with the function\'s key; a stream outside its permissions is a PermissionDeniedError naming it', async () => {
        const { key, hash } = createApiKey('fn-writer');
        const g = await startGateway({ principals: [{ id: 'fn-writer', apiKeyHash: hash, scopes: { orders: ['write'] } }] });
        try {
          await g.engine.createStream('orders', { partitions: 1 });
          await g.engine.createStream('audit', { partitions: 1 });
          const rt = make('append.ts', { environment: { SLUICE_URL: g.url, SLUICE_API_KEY: key } });
          expect(okResult(await rt.invoke(request({ stream: 'orders', records: [{ id: 1 }, { id: 2 }], key: 'k' })))).toEqual({ results: [{ partition: 0, offset: 0 }, { partition: 0, offset: 1 }] });
          expect(okResult(await rt.invoke(request({ stream: 'audit', records: [{ id: 1 }] })))).toEqual({
            denied: true,
            name: 'PermissionDeniedError',
            message: "key 'fn-writer' may not write stream 'audit'",
            stream: 'audit',
            action: 'write',
          });
          await rt.close();
        } finally {
          await g.close();
        }
      });
    });

    describe('the pool', () => {
      it('N invocations run at once on N workers', async () => {
        const rt = make('sleep.ts', { concurrency: 3 });
        await rt.warm(3);
        const t = performance.now();
        const runs = (await Promise.all([0, 1, 2].map((i) => rt.invoke(request({ ms: 300, tag: `t${i}` }))))).map(okResult) as { start: number; end: number; logStreamName: string }[];
        expect(performance.now() - t).toBeLessThan(900); // one after another would take 900 ms
        expect(Math.max(...runs.map((r) => r.start))).toBeLessThan(Math.min(...runs.map((r) => r.end))); // all overlap
        expect(new Set(runs.map((r) => r.logStreamName)).size).toBe(3);
        expect(rt.stats).toMatchObject({ workers: 3, busy: 0 });
      });

      it('the pool never grows beyond concurrency: more invocations than workers wait their turn', async () => {
        const rt = make('sleep.ts', { concurrency: 2 });
        let most = 0;
        const watch = setInterval(() => (most = Math.max(most, rt.stats.workers, rt.stats.busy)), 5);
        const t = performance.now();
        const runs = (await Promise.all([0, 1, 2, 3, 4, 5].map((i) => rt.invoke(request({ ms: 100, tag: `t${i}` }))))).map(okResult) as { logStreamName: string }[];
        clearInterval(watch);
        expect(performance.now() - t).toBeGreaterThanOrEqual(300); // 6 × 100 ms on at most 2 workers
        expect(new Set(runs.map((r) => r.logStreamName)).size).toBeLessThanOrEqual(2);
        expect(most).toBe(2);
        expect(rt.stats.workers).toBe(2);
      });

      it('warm() starts workers ahead of need: the first invocation is not a cold start', async () => {
        const rt = make('echo.ts', { concurrency: 4 });
        await rt.warm(2);
        expect(rt.stats).toMatchObject({ workers: 2, busy: 0, coldStarts: 0 });
        await rt.warm(9); // at most concurrency
        expect(rt.stats.workers).toBe(4);
        expect(await rt.invoke(request(1))).toMatchObject({ ok: true, coldStart: false });
      });

      it('an invocation waiting for a worker is dropped when its signal aborts', async () => {
        const rt = make('sleep.ts');
        await rt.warm(1);
        const running = rt.invoke(request({ ms: 200 }));
        const ac = new AbortController();
        const waiting = rt.invoke(request({ ms: 0, tag: 'never' }), ac.signal);
        ac.abort(new Error('caller went away'));
        await expect(waiting).rejects.toThrow('caller went away');
        expect(okResult(await running)).toMatchObject({});
        expect(rt.stats.coldStarts).toBe(0);
      });

      it('reload(): new invocations run the file as it is now, a running one finishes on the old code', async () => {
        const dir = tempDir('sluice-fn-');
        const file = join(dir, 'version.ts');
        const version = (v: number) => `export const handler = async (e: { ms?: number }) => { await new Promise((r) => setTimeout(r, e.ms ?? 0)); return ${v}; };\n`;
        writeFileSync(file, version(1));
        const rt = make(file, { concurrency: 2 });
        expect(okResult(await rt.invoke(request({})))).toBe(1);
        const running = rt.invoke(request({ ms: 300 }));
        await new Promise((r) => setTimeout(r, 50));
        writeFileSync(file, version(2));
        await rt.reload();
        expect(okResult(await rt.invoke(request({})))).toBe(2);
        expect(okResult(await running)).toBe(1);
        await new Promise((r) => setTimeout(r, 20));
        expect(rt.stats.workers).toBe(1); // the old worker ended once it finished
        writeFileSync(file, 'export const handler = async () => { return ; +;\n');
        await expect(rt.reload()).rejects.toSatisfy(isFunctionInitError);
        writeFileSync(file, version(3));
        await rt.reload();
        expect(okResult(await rt.invoke(request({})))).toBe(3);
      });

      it('close() lets a running invocation finish, then ends the workers; later invocations are refused', async () => {
        const rt = make('sleep.ts', { concurrency: 2 });
        await rt.warm(2);
        const running = rt.invoke(request({ ms: 300 }));
        await new Promise((r) => setTimeout(r, 20));
        let closed = false;
        const closing = rt.close().then(() => (closed = true));
        const outcome = await running;
        expect(outcome.ok).toBe(true);
        await closing;
        expect(closed).toBe(true);
        expect(rt.stats.workers).toBe(0);
        await expect(rt.invoke(request({ ms: 0 }))).rejects.toSatisfy(isRuntimeClosedError);
      });
    });
  });
}

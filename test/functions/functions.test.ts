// Functions through the tools users already have: the AWS Lambda API with the official
// @aws-sdk/client-lambda (default settings), function URLs, permissions held by a function's own
// keys (its context client and an unchanged KinesisClient inside the handler), Lambda's async
// retries ending in the on-failure destination, throttling, and logs in Lambda's format.
import { GetFunctionCommand, InvokeCommand, LambdaClient, ListFunctionsCommand } from '@aws-sdk/client-lambda';
import { fileURLToPath } from 'node:url';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock, systemClock, type Clock } from '../../src/clock.js';
import { SqliteEngine } from '../../src/engine/sqlite/index.js';
import { Functions } from '../../src/functions/functions.js';
import { mappingGroup } from '../../src/functions/streams/index.js';
import { functionsSchema, type FunctionConfig } from '../../src/functions/config.js';
import { threadRuntime } from '../../src/functions/runtime/thread.js';
import { processRuntime } from '../../src/functions/runtime/process.js';
import type { RuntimeFactory } from '../../src/functions/runtime/types.js';
import { createApiKey } from '../../src/gateway/auth/api-keys.js';
import type { Principal } from '../../src/gateway/auth/scopes.js';
import { Gateway } from '../../src/gateway/gateway.js';
import { Observer } from '../../src/observe/observer.js';
import { allRecords } from '../support/engines.js';
import { tempDir } from '../support/tmp.js';

const FIXTURES = fileURLToPath(new URL('./registry-fixtures/', import.meta.url));
const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
});

async function stack(functions: Record<string, FunctionConfig>, clock: Clock = systemClock, principals: Principal[] = []) {
  const engine = new SqliteEngine({ dataDir: tempDir(), retentionIntervalMs: 0 });
  const observer = new Observer({ clock });
  const gw = new Gateway(engine, { port: 0, principals }, systemClock, observer);
  await gw.listen();
  const fns = await Functions.start({
    engine, functions: functionsSchema.parse(functions), baseDir: FIXTURES, gatewayUrl: gw.url, region: 'us-east-1', observer, clock,
    runtimes: { thread: threadRuntime, process: processRuntime }, addPrincipal: (p) => gw.addPrincipal(p),
  });
  gw.functions = fns;
  closers.push(async () => (await gw.close(), await fns.close(), await engine.close()));
  const lambda = new LambdaClient({ endpoint: gw.url, region: 'us-east-1', credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'secret' } });
  closers.push(async () => lambda.destroy());
  return { engine, gw, fns, lambda };
}

const text = (b: Uint8Array | undefined) => Buffer.from(b ?? []).toString();

describe('the Lambda Invoke API through @aws-sdk/client-lambda', () => {
  it('answers RequestResponse with the result, a handler error as FunctionError Unhandled, and the log tail in Lambda\'s format', async () => {
    const { lambda } = await stack({ hello: { handler: './hello.ts' } });
    const ok = await lambda.send(new InvokeCommand({ FunctionName: 'hello', Payload: Buffer.from('{"name":"ana"}'), LogType: 'Tail' }));
    expect([ok.StatusCode, ok.FunctionError, JSON.parse(text(ok.Payload)), ok.ExecutedVersion]).toEqual([200, undefined, { greeting: 'hi ana', fn: 'hello' }, '$LATEST']);
    const log = Buffer.from(ok.LogResult!, 'base64').toString().trimEnd().split('\n');
    expect(log[0]).toMatch(/^START RequestId: [0-9a-f-]{36} Version: \$LATEST$/);
    const id = log[0]!.split(' ')[2];
    expect(log[1]).toMatch(new RegExp(`^\\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z\\t${id}\\tINFO\\thello ana$`));
    expect(log[2]).toMatch(new RegExp(`\\t${id}\\tWARN\\tcareful$`));
    expect(log[3]).toBe(`END RequestId: ${id}`);
    expect(log[4]).toMatch(new RegExp(`^REPORT RequestId: ${id}\\tDuration: [\\d.]+ ms\\tBilled Duration: \\d+ ms\\tMemory Size: 128 MB\\tMax Memory Used: \\d+ MB`));
    const failed = await lambda.send(new InvokeCommand({ FunctionName: 'arn:aws:lambda:us-east-1:000000000000:function:hello', Payload: Buffer.from('{"name":"bo","fail":true}') }));
    expect([failed.StatusCode, failed.FunctionError]).toEqual([200, 'Unhandled']);
    expect(JSON.parse(text(failed.Payload))).toMatchObject({ errorType: 'TypeError', errorMessage: 'no bo', trace: expect.arrayContaining([expect.stringMatching(/^TypeError: no bo/)]) });
  });

  it('answers DryRun 204 running nothing, Event 202 and runs it, and refuses what Lambda refuses with its exceptions', async () => {
    const { lambda, gw, fns } = await stack({ hello: { handler: './hello.ts' } });
    expect((await lambda.send(new InvokeCommand({ FunctionName: 'hello', InvocationType: 'DryRun', Payload: Buffer.from('{}') }))).StatusCode).toBe(204);
    expect(fns.get('hello').invocations).toBe(0);
    expect((await lambda.send(new InvokeCommand({ FunctionName: 'hello', InvocationType: 'Event', Payload: Buffer.from('{"name":"later"}') }))).StatusCode).toBe(202);
    for (let i = 0; i < 200 && fns.get('hello').invocations === 0; i++) await new Promise((r) => setTimeout(r, 20));
    expect(fns.get('hello').invocations).toBe(1);
    const refused = async (input: ConstructorParameters<typeof InvokeCommand>[0]) => lambda.send(new InvokeCommand(input)).then(() => 'answered', (e: Error & { $metadata: { httpStatusCode: number } }) => `${e.name} ${e.$metadata.httpStatusCode}`);
    expect(await refused({ FunctionName: 'nope', Payload: Buffer.from('{}') })).toBe('ResourceNotFoundException 404');
    expect(await refused({ FunctionName: 'hello', Payload: Buffer.from('{not json') })).toBe('InvalidRequestContentException 400');
    expect(await refused({ FunctionName: 'hello', InvocationType: 'Event', Payload: Buffer.from(JSON.stringify({ x: 'y'.repeat(300_000) })) })).toBe('RequestTooLargeException 413');
    expect(await refused({ FunctionName: 'hello', Payload: Buffer.from(JSON.stringify({ x: 'y'.repeat(7_000_000) })) })).toBe('RequestTooLargeException 413');
    const list = await lambda.send(new ListFunctionsCommand({}));
    expect(list.Functions!.map((f) => [f.FunctionName, f.FunctionArn, f.Runtime, f.Timeout, f.MemorySize])).toEqual([['hello', 'arn:aws:lambda:us-east-1:000000000000:function:hello', 'nodejs20.x', 3, 128]]);
    expect((await lambda.send(new GetFunctionCommand({ FunctionName: 'hello' }))).Configuration).toMatchObject({ FunctionName: 'hello', Handler: './hello.ts', State: 'Active' });
    expect(gw.functions).toBe(fns);
  });

  it('throttles a synchronous invocation past the function\'s concurrency with TooManyRequestsException (429)', async () => {
    const { lambda, fns, gw } = await stack({ slow: { handler: './slow.ts', concurrency: 1, timeout: '10s' } });
    const first = lambda.send(new InvokeCommand({ FunctionName: 'slow', Payload: Buffer.from('{"ms":2500}') })); // past the SDK's own retries of a 429
    for (const end = Date.now() + 15_000; fns.get('slow').slots.inFlight === 0; await new Promise((r) => setTimeout(r, 10))) {
      if (Date.now() > end) throw new Error('the first invocation never held the slot');
    }
    // (A client that does not retry: the default one retries a 429 for up to ~3 s, and might outwait the first call.)
    const once = new LambdaClient({ endpoint: gw.url, region: 'us-east-1', credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'secret' }, maxAttempts: 1 });
    const second = await once.send(new InvokeCommand({ FunctionName: 'slow', Payload: Buffer.from('{}') })).catch((e: Error & { $metadata: { httpStatusCode: number } }) => `${e.name} ${e.$metadata.httpStatusCode}`);
    once.destroy();
    expect(second).toBe('TooManyRequestsException 429');
    expect(fns.get('slow').throttles).toBe(1);
    expect(text((await first).Payload)).toBe('"done"');
  });
});

describe('permissions: what a function may do through Sluice', () => {
  it('lets its context client and an unchanged KinesisClient write where its permissions allow, and names the missing one elsewhere', async () => {
    const { engine, fns } = await stack({ writer: { handler: './writer.ts', permissions: { allowed: ['write'] } } });
    await engine.createStream('allowed', { partitions: 1 });
    await engine.createStream('secret', { partitions: 1 });
    const run = async (payload: object) => (await fns.invoke('writer', JSON.stringify(payload)))!.outcome;
    const viaContext = await run({ stream: 'allowed', via: 'sluice' });
    expect(viaContext.ok).toBe(true);
    const viaSdk = await run({ stream: 'allowed', via: 'sdk' });
    expect(viaSdk).toMatchObject({ ok: true, result: '{"failed":0}' });
    const deniedContext = await run({ stream: 'secret', via: 'sluice' });
    expect(deniedContext).toMatchObject({ ok: false, error: { errorType: 'PermissionDeniedError', errorMessage: expect.stringContaining("may not write stream 'secret'") } });
    const deniedSdk = await run({ stream: 'secret', via: 'sdk' });
    expect(deniedSdk).toMatchObject({ ok: false, error: { errorType: 'AccessDeniedException', errorMessage: "User 'fn-writer' is not authorized to write stream 'secret'" } });
    expect((await allRecords(engine, 'allowed')).map((r) => JSON.parse(Buffer.from(r.value).toString()))).toEqual([{ from: 'context' }, { from: 'sdk' }]);
    expect(await allRecords(engine, 'secret')).toEqual([]);
  }, 30_000);
});

describe('asynchronous invocations', () => {
  it('are retried twice, 1 min then 2 min later (virtual time), then sent to the on-failure destination in Lambda\'s record shape', async () => {
    const clock = new ManualClock(Date.UTC(2026, 0, 1));
    const { engine, fns } = await stack({ hello: { handler: './hello.ts', destinations: { onFailure: { stream: 'failed' } } } }, clock);
    await engine.createStream('failed', { partitions: 1 });
    await fns.invoke('hello', '{"name":"x","fail":true}', 'Event');
    const attempts = async (n: number) => {
      for (let i = 0; i < 300 && fns.get('hello').invocations < n; i++) await new Promise((r) => setTimeout(r, 10));
      return fns.get('hello').invocations;
    };
    expect(await attempts(1)).toBe(1);
    const waiting = async () => {
      for (let i = 0; i < 300 && clock.sleeping === 0; i++) await new Promise((r) => setTimeout(r, 10));
    };
    await waiting();
    clock.advance(59_000);
    expect(fns.get('hello').invocations).toBe(1); // not before its minute
    clock.advance(1_000);
    expect(await attempts(2)).toBe(2);
    await waiting();
    clock.advance(119_000);
    await new Promise((r) => setTimeout(r, 50));
    expect(fns.get('hello').invocations).toBe(2);
    clock.advance(1_000);
    expect(await attempts(3)).toBe(3);
    let records: unknown[] = [];
    for (let i = 0; i < 300 && records.length === 0; i++) {
      records = (await allRecords(engine, 'failed')).map((r) => JSON.parse(Buffer.from(r.value).toString()));
      await new Promise((r) => setTimeout(r, 10));
    }
    expect(records).toEqual([{
      version: '1.0', timestamp: new Date(clock.now()).toISOString(),
      requestContext: { requestId: expect.stringMatching(/^[0-9a-f-]{36}$/), functionArn: 'arn:aws:lambda:us-east-1:000000000000:function:hello:$LATEST', condition: 'RetriesExhausted', approximateInvokeCount: 3 },
      requestPayload: { name: 'x', fail: true },
      responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' },
      responsePayload: { errorType: 'TypeError', errorMessage: 'no x', trace: expect.any(Array) },
    }]);
    expect(fns.get('hello').invocations).toBe(3);
  }, 30_000);
});

describe('the async queue', () => {
  it('passes over a record that is not an event (not JSON, or not its shape) and goes on with the next', async () => {
    const { engine, fns } = await stack({ hello: { handler: './hello.ts' } });
    await engine.append('_sluice.fn.hello.async', [{ value: Buffer.from('{not json') }, { value: Buffer.from('{"requestId":7}') }, { value: Buffer.from('null') }]);
    await fns.invoke('hello', '{"name":"after"}', 'Event');
    for (let i = 0; i < 300 && fns.get('hello').invocations === 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(fns.get('hello').invocations).toBe(1);
    for (let i = 0; i < 300 && fns.get('hello').queue.stats().committed < 4; i++) await new Promise((r) => setTimeout(r, 10));
    expect(fns.get('hello').queue.stats()).toMatchObject({ committed: 4, inFlight: 0 });
  });
});

describe('schedule triggers', () => {
  /** The events a function logged as JSON (its invocation logs' INFO lines), in order. */
  async function logged(engine: SqliteEngine, fn: string, n: number) {
    let events: any[] = [];
    for (let i = 0; i < 300 && events.length < n; i++) {
      const records = await allRecords(engine, `_sluice.fn.${fn}.logs`);
      events = records.flatMap((r) => (JSON.parse(Buffer.from(r.value).toString()).lines as string[]).filter((l) => l.includes('\tINFO\t')).map((l) => JSON.parse(l.split('\t')[3]!)));
      await new Promise((r) => setTimeout(r, 10));
    }
    return events;
  }
  const asleep = async (clock: ManualClock, n = 1) => {
    for (let i = 0; i < 300 && clock.sleeping < n; i++) await new Promise((r) => setTimeout(r, 10));
  };

  it("invoke the function with EventBridge's scheduled event at each due time (virtual time), named rules kept apart", async () => {
    const clock = new ManualClock(Date.UTC(2026, 0, 1, 0, 0, 30));
    const { engine, fns } = await stack({ tick: { handler: './tick.ts', triggers: [{ schedule: 'rate(1 minute)' }, { schedule: 'cron(0 12 * * ? *)', name: 'noon', detail: { at: 'noon' } }] } }, clock);
    await asleep(clock, 2);
    expect((await fns.describe('tick')).schedules.map((s) => [s.name, s.ruleArn, s.nextRuns[0], s.state])).toEqual([
      ['tick-schedule', 'arn:aws:events:us-east-1:000000000000:rule/tick-schedule', '2026-01-01T00:01:30.000Z', 'ENABLED'],
      ['noon', 'arn:aws:events:us-east-1:000000000000:rule/noon', '2026-01-01T12:00:00.000Z', 'ENABLED'],
    ]);
    clock.advance(59_999);
    await new Promise((r) => setTimeout(r, 50));
    expect(fns.get('tick').invocations).toBe(0); // not before its minute
    clock.advance(1);
    const [first] = await logged(engine, 'tick', 1);
    expect(first).toEqual({
      version: '0', id: expect.stringMatching(/^[0-9a-f-]{36}$/), 'detail-type': 'Scheduled Event', source: 'aws.events', account: '000000000000',
      time: '2026-01-01T00:01:30Z', region: 'us-east-1', resources: ['arn:aws:events:us-east-1:000000000000:rule/tick-schedule'], detail: {},
    });
    await asleep(clock, 2);
    clock.advance(60_000);
    expect((await logged(engine, 'tick', 2)).map((e) => [e.time, e.resources[0]])).toEqual([['2026-01-01T00:01:30Z', expect.any(String)], ['2026-01-01T00:02:30Z', expect.any(String)]]);
    expect(fns.get('tick').invocations).toBe(2);
    expect((await fns.describe('tick')).schedules[0]).toMatchObject({ runs: 2, failures: 0, lastResult: 'OK', lastRun: '2026-01-01T00:02:30.000Z' });
  }, 30_000);

  it('are asynchronous invocations: a failed run is retried 1 min later through the queue and reaches the on-failure destination', async () => {
    const clock = new ManualClock(Date.UTC(2026, 0, 1));
    const { engine, fns } = await stack({ tick: { handler: './tick.ts', async: { maximumRetryAttempts: 1 }, destinations: { onFailure: { stream: 'failed' } }, triggers: [{ schedule: 'rate(5 minutes)', detail: { fail: true } }] } }, clock);
    await engine.createStream('failed', { partitions: 1 });
    await asleep(clock);
    clock.advance(300_000);
    await logged(engine, 'tick', 1);
    for (let i = 0; i < 300 && fns.get('tick').invocations < 1; i++) await new Promise((r) => setTimeout(r, 10));
    await asleep(clock, 2); // the schedule's next due time, and the retry's minute
    clock.advance(60_000);
    const events = await logged(engine, 'tick', 2);
    expect(events.map((e) => e.time)).toEqual(['2026-01-01T00:05:00Z', '2026-01-01T00:05:00Z']); // the same event, retried
    expect(events[1].id).toBe(events[0].id);
    let failed: any[] = [];
    for (let i = 0; i < 300 && failed.length === 0; i++) {
      failed = (await allRecords(engine, 'failed')).map((r) => JSON.parse(Buffer.from(r.value).toString()));
      await new Promise((r) => setTimeout(r, 10));
    }
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatchObject({ requestContext: { condition: 'RetriesExhausted', approximateInvokeCount: 2 }, requestPayload: events[0], responsePayload: { errorMessage: 'tick failed' } });
    expect((await fns.describe('tick')).schedules[0]).toMatchObject({ runs: 1, failures: 1, lastResult: 'Error: tick failed' });
  }, 30_000);

  it('are checked at config load: a bad expression, a bad time zone, two schedules of one name, two triggers on one stream', () => {
    const issues = (f: FunctionConfig) => functionsSchema.safeParse({ f }).error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    expect(issues({ handler: './tick.ts', triggers: [{ schedule: 'rate(1 minutes)' }] })).toEqual(['f.triggers.0.schedule: schedule "rate(1 minutes)": a value of 1 takes the singular: rate(1 minute)']);
    expect(issues({ handler: './tick.ts', triggers: [{ schedule: 'rate(1 minute)', timezone: 'Mars/Olympus' }] })).toEqual([expect.stringMatching(/^f\.triggers\.0\.timezone: expected an IANA time zone name/)]);
    expect(issues({ handler: './tick.ts', triggers: [{ schedule: 'rate(1 minute)', name: 'a' }, { schedule: 'rate(2 minutes)', name: 'a' }] })).toEqual(["f.triggers.1.name: two schedules are named 'a': give each its own name"]);
    expect(issues({ handler: './tick.ts', triggers: [{ stream: 's' }, { stream: 's', batchSize: 10 }] })).toEqual(["f.triggers.1.stream: the function has a trigger on stream 's' already"]);
    expect(issues({ handler: './tick.ts', triggers: [{ schedule: 'cron(0 12 * * ? *)', timezone: 'Europe/Paris', missedRuns: 'skip' }] })).toBeUndefined();
  });
});

describe('function URLs', () => {
  it("take a key with invoke and do not hand it to the handler; reading a function's configuration and logs wants read, which invoke does not give", async () => {
    const [invoker, reader, streams] = [createApiKey('invoker'), createApiKey('reader'), createApiKey('streams')];
    const { gw } = await stack({ echo: { handler: './echo.ts', url: { auth: 'key' }, environment: { DB_PASSWORD: 'hunter2' } }, open: { handler: './echo.ts', url: { auth: 'none' } } }, systemClock, [
      { id: 'invoker', apiKeyHash: invoker.hash, scopes: { 'function:echo': ['invoke'] } },
      { id: 'reader', apiKeyHash: reader.hash, accessKeyId: 'AKIDREADER', secretAccessKey: 'reader-secret', scopes: { 'function:echo': ['read'] } },
      { id: 'streams', apiKeyHash: streams.hash, scopes: { '*': ['read'], 'e*': ['read'] } }, // a stream reader: no function's secrets
    ]);
    const call = async (path: string, headers: Record<string, string>) => {
      const r = await fetch(`${gw.url}${path}`, { headers });
      return [r.status, await r.json()] as [number, any];
    };
    // The scheme is case-insensitive; the key (either header) never reaches the event.
    for (const headers of [{ authorization: `Bearer ${invoker.key}` }, { authorization: `bearer ${invoker.key}` }, { 'x-api-key': invoker.key }] as Record<string, string>[]) {
      const [status, event] = await call('/fn/echo/x', { ...headers, 'x-trace': 't1' });
      expect([status, event.headers['x-trace'], event.headers.authorization, event.headers['x-api-key']]).toEqual([200, 't1', undefined, undefined]);
    }
    expect((await call('/fn/echo/x', { authorization: `Bearer ${reader.key}` }))[0]).toBe(403);
    // A public URL's headers are the caller's own: they go as sent.
    expect((await call('/fn/open/x', { authorization: 'Bearer their-own-token' }))[1].headers.authorization).toBe('Bearer their-own-token');
    // The configuration (its environment) and every invocation's logs: read, not invoke.
    const refused = { error: { code: 'Forbidden', message: "key 'invoker' may not read function 'echo'", stream: 'function:echo', action: 'read' } };
    for (const path of ['/v1/functions/echo', '/v1/functions/echo/logs']) expect(await call(path, { authorization: `Bearer ${invoker.key}` })).toEqual([403, refused]);
    expect((await call('/v1/functions', { authorization: `Bearer ${invoker.key}` }))[1]).toEqual({ functions: [] });
    expect((await call('/v1/functions/echo', { authorization: `Bearer ${reader.key}` }))[1]).toMatchObject({ name: 'echo' });
    const getFunction = (key: string) => call('/2015-03-31/functions/echo', { authorization: `Bearer ${key}` });
    expect(await getFunction(invoker.key)).toEqual([403, { Type: 'User', message: 'User: invoker is not authorized to perform: lambda:GetFunction on resource: function:echo' }]);
    expect((await getFunction(reader.key))[1].Configuration.Environment).toEqual({ Variables: { DB_PASSWORD: 'hunter2' } });
    expect((await getFunction(streams.key))[0]).toBe(403);
    // SigV4: the Lambda client's signature is taken; one scoped to another service is not (the Kinesis API's tests do the body).
    const sigv4 = (signingName?: string) => new LambdaClient({ endpoint: gw.url, region: 'us-east-1', credentials: { accessKeyId: 'AKIDREADER', secretAccessKey: 'reader-secret' }, maxAttempts: 1, ...(signingName ? { signingName } : {}) } as NonNullable<ConstructorParameters<typeof LambdaClient>[0]>);
    const [lambdaSigned, kinesisSigned] = [sigv4(), sigv4('kinesis')];
    closers.push(async () => (lambdaSigned.destroy(), kinesisSigned.destroy()));
    expect((await lambdaSigned.send(new GetFunctionCommand({ FunctionName: 'echo' }))).Configuration?.FunctionName).toBe('echo');
    await expect(kinesisSigned.send(new GetFunctionCommand({ FunctionName: 'echo' }))).rejects.toMatchObject({ name: 'InvalidSignatureException', message: "Credential should be scoped to correct service: 'lambda'." });
    expect((await call('/v1/functions/echo/logs', { authorization: `Bearer ${streams.key}` }))[0]).toBe(403);
    expect((await call('/2015-03-31/functions/', { authorization: `Bearer ${streams.key}` }))[1]).toEqual({ Functions: [] });
    expect((await call('/v1/functions/echo/logs', { authorization: `Bearer ${reader.key}` }))[0]).toBe(200);
  });

  it('deliver an API Gateway v2 event and answer with the result; plain JSON is 200, a malformed result 502', async () => {
    const { gw } = await stack({ web: { handler: './url.ts', url: { auth: 'none' } } });
    const res = await fetch(`${gw.url}/fn/web/some/path?a=1&b=2`, { method: 'POST', body: 'hi there', headers: { cookie: 'c=3' } });
    expect([res.status, res.headers.get('x-echo'), res.headers.get('set-cookie')]).toEqual([201, 'yes', 'a=1']);
    expect(await res.json()).toEqual({ path: '/some/path', q: { a: '1', b: '2' }, body: 'hi there' });
    const raw = await fetch(`${gw.url}/fn/web/raw`);
    expect([raw.status, raw.headers.get('content-type'), await raw.json()]).toEqual([200, 'application/json', { hello: 'json' }]);
    expect((await fetch(`${gw.url}/fn/web/bad`)).status).toBe(502);
    expect((await fetch(`${gw.url}/fn/nope/x`)).status).toBe(404);
  });
});

describe('starting functions', () => {
  it('refuses a handler file that does not exist, or that throws at import, naming the file', async () => {
    await expect(stack({ gone: { handler: './missing.ts' } })).rejects.toThrow(`function 'gone': ${FIXTURES}missing.ts: the handler file does not exist`);
    await expect(stack({ broken: { handler: './slow.ts#nothere' } })).rejects.toThrow(new RegExp(`^function 'broken': ${FIXTURES}slow.ts: `));
  });
});

describe('stream triggers on both runtimes', () => {
  it('give a thread function 8+ Kinesis records in the compact form and a process function the text, and each handler the same event', async () => {
    const engine = new SqliteEngine({ dataDir: tempDir(), retentionIntervalMs: 0 });
    await engine.createStream('clicks', { partitions: 1 });
    await engine.append('clicks', Array.from({ length: 10 }, (_, i) => ({ partition: 0, key: `user-${i}`, value: Buffer.from(JSON.stringify({ i })) })));
    const seen: { fn: string; payload: string; result: string }[] = [];
    const spy = (factory: RuntimeFactory): RuntimeFactory => (spec) => {
      const rt = factory(spec);
      return { ...rt, invoke: async (req, signal) => {
        const outcome = await rt.invoke(req, signal);
        seen.push({ fn: spec.name, payload: typeof req.payload, result: outcome.ok ? outcome.result : outcome.error.errorMessage });
        return outcome;
      }, reload: () => rt.reload(), warm: (n) => rt.warm(n), close: () => rt.close(), get stats() { return rt.stats; } };
    };
    const trigger = { stream: 'clicks', batchSize: 10, maximumBatchingWindow: 1, startingPosition: 'TRIM_HORIZON' as const };
    const fns = await Functions.start({
      engine, functions: functionsSchema.parse({ t: { handler: './echo.ts', triggers: [trigger] }, p: { handler: './echo.ts', runtime: 'process', triggers: [trigger] } }),
      baseDir: FIXTURES, gatewayUrl: 'http://127.0.0.1:9', region: 'us-east-1', observer: new Observer({ clock: systemClock }), clock: systemClock,
      runtimes: { thread: spy(threadRuntime), process: spy(processRuntime) }, addPrincipal: () => undefined,
    });
    closers.push(async () => (await fns.close(), await engine.close()));
    for (let i = 0; i < 500 && seen.length < 2; i++) await new Promise((r) => setTimeout(r, 20));
    const t = seen.find((s) => s.fn === 't')!;
    const p = seen.find((s) => s.fn === 'p')!;
    expect([seen.length, t.payload, p.payload]).toEqual([2, 'object', 'string']);
    const event = JSON.parse(t.result);
    expect(event.Records.map((r: any) => [r.kinesis.partitionKey, Buffer.from(r.kinesis.data, 'base64').toString()])).toEqual(Array.from({ length: 10 }, (_, i) => [`user-${i}`, JSON.stringify({ i })]));
    expect(t.result.replaceAll('role/t"', 'role/p"')).toBe(p.result);
  }, 30_000);
});

describe('a stream trigger on the process runtime, its worker killed with kill -9', () => {
  it('mid-batch and then while idle: the killed batch is delivered again, whole, by a new worker, every other record once, and every offset committed', async () => {
    const dir = tempDir();
    const [seen, held] = [join(dir, 'seen'), join(dir, 'held')];
    const engine = new SqliteEngine({ dataDir: tempDir(), retentionIntervalMs: 0 });
    await engine.createStream('clicks', { partitions: 1 });
    const append = (from: number, to: number) => engine.append('clicks', Array.from({ length: to - from }, (_, i) => ({ partition: 0, value: Buffer.from(`r${from + i}`) })));
    await append(0, 20);
    const fns = await Functions.start({
      engine, baseDir: FIXTURES, gatewayUrl: 'http://127.0.0.1:9', region: 'us-east-1', observer: new Observer({ clock: systemClock }), clock: systemClock,
      functions: functionsSchema.parse({ held: { handler: './held.ts', runtime: 'process', timeout: '30s', environment: { SEEN: seen, HELD: held, HOLD_AT: 'r15' },
        triggers: [{ stream: 'clicks', batchSize: 10, startingPosition: 'TRIM_HORIZON', retryBaseDelayMs: 10 }] } }),
      runtimes: { thread: threadRuntime, process: processRuntime }, addPrincipal: () => undefined,
    });
    closers.push(async () => (await fns.close(), await engine.close()));
    const lines = () => (existsSync(seen) ? readFileSync(seen, 'utf8').trim().split('\n').map((l) => { const [pid, data] = l.split(' '); return { pid: Number(pid), data: data!.split(',') }; }) : []);
    const until = async (what: string, ok: () => boolean | Promise<boolean>) => {
      for (let i = 0; i < 1500; i++) if (await ok()) return; else await new Promise((r) => setTimeout(r, 20));
      throw new Error(`timed out waiting for ${what}`);
    };
    const replaced = async () => (await fns.describe('held')).workers.replaced;
    // Mid-call: the second batch is in its handler.
    await until('the batch to be held', () => existsSync(held));
    const killedMidCall = Number(readFileSync(held, 'utf8'));
    process.kill(killedMidCall, 'SIGKILL');
    await until('the held batch to be delivered again', () => lines().filter((l) => l.data.includes('r15')).length === 2);
    expect(await replaced()).toBe(1);
    // Idle: the worker that ran the retry has nothing to do once its batch is committed (its line is
    // written before it returns, so killing it at the line alone could end the retry itself).
    const group = mappingGroup('held', 'clicks');
    await until('the retried batch to be committed', async () => (await engine.getOffsets(group, 'clicks')).get(0) === 20);
    const idle = lines().at(-1)!.pid;
    process.kill(idle, 'SIGKILL');
    await until('the idle worker to be replaced', async () => (await replaced()) === 2);
    await append(20, 30);
    await until('every offset to be committed', async () => (await engine.getOffsets(group, 'clicks')).get(0) === 30);

    const got = lines();
    const batch = (from: number) => Array.from({ length: 10 }, (_, i) => `r${from + i}`);
    expect(got.map((l) => l.data)).toEqual([batch(0), batch(10), batch(10), batch(20)]);
    expect([got[1]!.pid, new Set([killedMidCall, idle, got[3]!.pid]).size]).toEqual([killedMidCall, 3]); // three workers: killed, killed, new
    const d = await fns.describe('held');
    expect([d.counters.invocations, d.counters.errors, d.workers.replaced]).toEqual([4, 1, 2]);
  }, 60_000);
});

// Adversarial: hostile input on the synchronous paths into a function — the Lambda Invoke API
// (through the official @aws-sdk/client-lambda where it can send the input, raw HTTP where it
// cannot), function URL requests, and what a handler answers with (too large, framing headers,
// CR/LF in a header, a status HTTP cannot send) or writes (raw output past the log budget).
import { GetFunctionCommand, InvokeCommand, LambdaClient, type InvokeCommandInput } from '@aws-sdk/client-lambda';
import { writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/clock.js';
import { SqliteEngine } from '../../src/engine/sqlite/index.js';
import { functionsSchema, type FunctionConfig } from '../../src/functions/config.js';
import { SYNC_RESPONSE_LIMIT } from '../../src/functions/errors.js';
import { Functions } from '../../src/functions/functions.js';
import { processRuntime } from '../../src/functions/runtime/process.js';
import { LOG_LIMIT_BYTES } from '../../src/functions/runtime/spec.js';
import { threadRuntime } from '../../src/functions/runtime/thread.js';
import { Gateway } from '../../src/gateway/gateway.js';
import { Observer } from '../../src/observe/observer.js';
import { allRecords } from '../support/engines.js';
import { tempDir } from '../support/tmp.js';

const FIXTURES = fileURLToPath(new URL('./adversarial-fixtures/', import.meta.url));
const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
});

const HOSTILE: FunctionConfig = { handler: './hostile.ts', url: { auth: 'none' }, timeout: '20s', memory: 512 };

async function stack(functions: Record<string, FunctionConfig> = { hostile: HOSTILE }) {
  const engine = new SqliteEngine({ dataDir: tempDir(), retentionIntervalMs: 0 });
  const observer = new Observer({ clock: systemClock });
  const gw = new Gateway(engine, { port: 0 }, systemClock, observer);
  await gw.listen();
  const fns = await Functions.start({
    engine, functions: functionsSchema.parse(functions), baseDir: FIXTURES, gatewayUrl: gw.url, region: 'us-east-1', observer, clock: systemClock,
    runtimes: { thread: threadRuntime, process: processRuntime }, addPrincipal: (p) => gw.addPrincipal(p),
  });
  gw.functions = fns;
  closers.push(async () => (await gw.close(), await fns.close(), await engine.close()));
  const lambda = new LambdaClient({ endpoint: gw.url, region: 'us-east-1', credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'secret' }, maxAttempts: 1 });
  closers.push(async () => lambda.destroy());
  return { engine, gw, fns, lambda };
}

const text = (b: Uint8Array | undefined) => Buffer.from(b ?? []).toString();
type SdkError = Error & { $metadata: { httpStatusCode: number } };
/** What the SDK makes of a refused call: `<exception> <status>: <message>`. */
const refused = (lambda: LambdaClient, input: InvokeCommandInput) =>
  lambda.send(new InvokeCommand(input)).then((r) => `answered ${r.StatusCode}`, (e: SdkError) => `${e.name} ${e.$metadata.httpStatusCode}: ${e.message}`);

/** One raw HTTP exchange: the path and headers exactly as given, the answer's raw headers. */
function raw(base: string, method: string, path: string, body?: Buffer | string, headers: Record<string, string> = {}): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const req = request({ hostname, port, method, path, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** A function URL request whose body is the result the handler answers with. */
const respond = (base: string, result: unknown) => raw(base, 'POST', '/fn/hostile/respond', JSON.stringify(result), { 'content-type': 'application/json' });

async function until<T>(get: () => Promise<T> | T, ok: (v: T) => boolean, what: string): Promise<T> {
  for (let i = 0; i < 1_000; i++) {
    const v = await get();
    if (ok(v)) return v;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('Invoke: a result over Lambda\'s 6 MB response limit', () => {
  it('is Function.ResponseSizeTooLarge (FunctionError Unhandled); a result of exactly 6 MB + 100 bytes is answered', async () => {
    const { lambda, fns } = await stack();
    // The result is a JSON string: its quotes count.
    const over = await lambda.send(new InvokeCommand({ FunctionName: 'hostile', Payload: Buffer.from(JSON.stringify({ do: 'huge', n: SYNC_RESPONSE_LIMIT - 1 })) }));
    expect([over.StatusCode, over.FunctionError, over.ExecutedVersion]).toEqual([200, 'Unhandled', '$LATEST']);
    expect(JSON.parse(text(over.Payload))).toEqual({ errorType: 'Function.ResponseSizeTooLarge', errorMessage: 'Response payload size exceeded maximum allowed payload size (6291556 bytes).', trace: [] });
    const at = await lambda.send(new InvokeCommand({ FunctionName: 'hostile', Payload: Buffer.from(JSON.stringify({ do: 'huge', n: SYNC_RESPONSE_LIMIT - 2 })) }));
    expect([at.StatusCode, at.FunctionError, at.Payload!.length]).toEqual([200, undefined, SYNC_RESPONSE_LIMIT]);
    expect([fns.get('hostile').invocations, fns.get('hostile').errors]).toEqual([2, 1]);
  }, 60_000);
});

describe('Invoke: X-Amz-Client-Context', () => {
  const b64 = (s: string) => Buffer.from(s).toString('base64');

  it('is decoded into context.clientContext for a synchronous invocation, and not passed to an Event one', async () => {
    const { lambda, engine } = await stack();
    const clientContext = { client: { installation_id: 'i-1', app_title: 'Player' }, custom: { tenant: 'acme', 'ünï': '✓' }, env: { platform: 'web' } };
    const sync = await lambda.send(new InvokeCommand({ FunctionName: 'hostile', Payload: Buffer.from('{"do":"context"}'), ClientContext: b64(JSON.stringify(clientContext)) }));
    expect(JSON.parse(text(sync.Payload))).toEqual({ clientContext, identity: null });
    const none = await lambda.send(new InvokeCommand({ FunctionName: 'hostile', Payload: Buffer.from('{"do":"context"}') }));
    expect(JSON.parse(text(none.Payload))).toEqual({ clientContext: null, identity: null });
    expect((await lambda.send(new InvokeCommand({ FunctionName: 'hostile', InvocationType: 'Event', Payload: Buffer.from('{"do":"log-context"}'), ClientContext: b64(JSON.stringify(clientContext)) }))).StatusCode).toBe(202);
    const logged = await until(
      async () => (await allRecords(engine, '_sluice.fn.hostile.logs')).flatMap((r) => (JSON.parse(Buffer.from(r.value).toString()).lines as string[]).filter((l) => l.includes('\tINFO\t{"clientContext"'))),
      (lines) => lines.length > 0, 'the Event invocation\'s log',
    );
    expect(logged.map((l) => JSON.parse(l.split('\t')[3]!))).toEqual([{ clientContext: null }]);
  }, 30_000);

  it("is refused with Lambda's InvalidRequestContentException when it is not base64 of a JSON object, and past 3,583 characters", async () => {
    const { lambda, fns } = await stack();
    const message = 'InvalidRequestContentException 400: Client context must be a valid Base64-encoded JSON object.';
    const call = (ClientContext: string) => refused(lambda, { FunctionName: 'hostile', Payload: Buffer.from('{}'), ClientContext });
    expect(await call('not base64!')).toBe(message);
    expect(await call('abc')).toBe(message); // not a multiple of 4
    expect(await call(b64('{"custom":'))).toBe(message); // not JSON
    expect(await call(b64('[1,2]'))).toBe(message); // JSON, not an object
    expect(await call(b64('null'))).toBe(message);
    expect(await call(b64('"text"'))).toBe(message);
    expect(await call(b64(JSON.stringify({ custom: { pad: 'x'.repeat(2_700) } })))).toBe('ValidationException 400: 1 validation error detected: Value at \'clientContext\' failed to satisfy constraint: Member must have length less than or equal to 3583');
    expect(await call(b64(JSON.stringify({ custom: { pad: 'x'.repeat(2_650) } })))).toBe('answered 200');
    expect(fns.get('hostile').invocations).toBe(1);
  }, 30_000);
});

describe('Invoke: payloads and headers the API refuses', () => {
  it('refuses a payload that is not UTF-8 (even inside a JSON string) and runs nothing', async () => {
    const { lambda, fns } = await stack();
    const invalid = 'InvalidRequestContentException 400: Could not parse request body into json: Could not parse payload into json: Invalid UTF-8';
    expect(await refused(lambda, { FunctionName: 'hostile', Payload: Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0x22, 0x7d]) })).toBe(invalid); // {"a":"\xff"}
    expect(await refused(lambda, { FunctionName: 'hostile', Payload: Buffer.from([0x22, 0xed, 0xa0, 0x80, 0x22]) })).toBe(invalid); // a lone surrogate, CESU-style
    expect(await refused(lambda, { FunctionName: 'hostile', InvocationType: 'Event', Payload: Buffer.from([0x22, 0xc3, 0x22]) })).toBe(invalid); // truncated sequence
    expect(await refused(lambda, { FunctionName: 'hostile', InvocationType: 'DryRun', Payload: Buffer.from([0x22, 0xc0, 0xaf, 0x22]) })).toBe(invalid); // overlong '/'
    expect(fns.get('hostile').invocations).toBe(0);
    const ok = await lambda.send(new InvokeCommand({ FunctionName: 'hostile', Payload: Buffer.from('{"do":"echo","s":"ünïcødé ✓ 😀"}') }));
    expect(JSON.parse(text(ok.Payload))).toEqual({ do: 'echo', s: 'ünïcødé ✓ 😀' });
  });

  it('refuses a body in an encoding it does not take (415) or gzip that does not decode (400), runs nothing, and takes gzip', async () => {
    const { gw, fns } = await stack();
    const invoke = async (body: Buffer | string, encoding: string) => {
      const r = await raw(gw.url, 'POST', '/2015-03-31/functions/hostile/invocations', body, { 'content-encoding': encoding, 'content-type': 'application/json' });
      return [r.status, r.headers['x-amzn-errortype'] ?? null, JSON.parse(r.body.toString())];
    };
    expect(await invoke('{}', 'br')).toEqual([415, 'UnsupportedMediaTypeException', { Type: 'User', message: "content-encoding 'br' is not supported; use gzip or none" }]);
    expect(await invoke('{}', 'gzip')).toEqual([400, 'InvalidRequestContentException', { Type: 'User', message: 'the gzip body cannot be decoded: incorrect header check' }]);
    expect(fns.get('hostile').invocations).toBe(0);
    expect(await invoke(gzipSync('{"do":"echo","z":1}'), 'gzip')).toEqual([200, null, { do: 'echo', z: 1 }]);
  });

  it('refuses an X-Amz-Log-Type other than None or Tail with InvalidParameterValueException', async () => {
    const { lambda, fns } = await stack();
    expect(await refused(lambda, { FunctionName: 'hostile', Payload: Buffer.from('{}'), LogType: 'Everything' as 'Tail' })).toBe(
      "InvalidParameterValueException 400: 1 validation error detected: Value 'Everything' at 'logType' failed to satisfy constraint: Member must satisfy enum value set: [Tail, None]",
    );
    expect(fns.get('hostile').invocations).toBe(0);
    const none = await lambda.send(new InvokeCommand({ FunctionName: 'hostile', Payload: Buffer.from('{}'), LogType: 'None' }));
    expect([none.StatusCode, none.LogResult]).toEqual([200, undefined]);
  });
});

describe('Invoke: versions and aliases (Sluice functions have $LATEST only)', () => {
  it('answers a qualifier other than $LATEST — ?Qualifier=, name:qualifier, a versioned ARN — with ResourceNotFoundException naming it', async () => {
    const { lambda, fns } = await stack();
    const notFound = (q: string) => `ResourceNotFoundException 404: Function not found: arn:aws:lambda:us-east-1:000000000000:function:hostile:${q}`;
    expect(await refused(lambda, { FunctionName: 'hostile', Qualifier: '1', Payload: Buffer.from('{}') })).toBe(notFound('1'));
    expect(await refused(lambda, { FunctionName: 'hostile:prod', Payload: Buffer.from('{}') })).toBe(notFound('prod'));
    expect(await refused(lambda, { FunctionName: 'arn:aws:lambda:us-east-1:000000000000:function:hostile:7', Payload: Buffer.from('{}') })).toBe(notFound('7'));
    expect(await refused(lambda, { FunctionName: '000000000000:function:hostile:live', Payload: Buffer.from('{}') })).toBe(notFound('live'));
    expect(await refused(lambda, { FunctionName: 'hostile:$LATEST', Qualifier: '3', Payload: Buffer.from('{}') })).toBe(
      'InvalidParameterValueException 400: The derived qualifier from the function name does not match the specified qualifier.',
    );
    const getVersion = await lambda.send(new GetFunctionCommand({ FunctionName: 'hostile', Qualifier: '2' })).then(() => 'answered', (e: SdkError) => `${e.name} ${e.$metadata.httpStatusCode}`);
    expect(getVersion).toBe('ResourceNotFoundException 404');
    expect(fns.get('hostile').invocations).toBe(0);
    for (const input of [{ FunctionName: 'hostile', Qualifier: '$LATEST' }, { FunctionName: 'hostile:$LATEST' }, { FunctionName: 'arn:aws:lambda:us-east-1:000000000000:function:hostile:$LATEST', Qualifier: '$LATEST' }]) {
      const r = await lambda.send(new InvokeCommand({ ...input, Payload: Buffer.from('"v"') }));
      expect([r.StatusCode, r.ExecutedVersion, text(r.Payload)]).toEqual([200, '$LATEST', '"v"']);
    }
  });

  it('answers a name with malformed percent-encoding with ValidationException, not an internal error', async () => {
    const { gw } = await stack();
    for (const name of ['%E0%A4%A', '%ZZ', 'hostile%', '%C0%AF']) {
      const r = await raw(gw.url, 'POST', `/2015-03-31/functions/${name}/invocations`, '{}', { 'content-type': 'application/json' });
      expect([r.status, r.headers['x-amzn-errortype']]).toEqual([400, 'ValidationException']);
      expect(JSON.parse(r.body.toString())).toMatchObject({ Type: 'User', message: expect.stringMatching(/^1 validation error detected: Value '.*' at 'functionName' failed to satisfy constraint/) });
    }
  });
});

describe('function URLs: hostile requests', () => {
  it('answers past the function\'s concurrency with 429 and Retry-After, not 500', async () => {
    const { gw, fns } = await stack({ one: { ...HOSTILE, concurrency: 1 } });
    const release = join(tempDir(), 'release');
    const held = fns.invoke('one', JSON.stringify({ do: 'hold', file: release }));
    await until(() => fns.get('one').slots.inFlight, (n) => n === 1, 'the slot to be held');
    const r = await raw(gw.url, 'GET', '/fn/one/echo');
    expect([r.status, r.headers['retry-after'], JSON.parse(r.body.toString()).error.code]).toEqual([429, '1', 'TooManyRequests']);
    writeFileSync(release, '');
    expect((await held)!.outcome).toMatchObject({ ok: true, result: '"released"' });
    expect((await raw(gw.url, 'GET', '/fn/one/echo')).status).toBe(200);
    expect(fns.get('one').throttles).toBe(1);
  }, 30_000);

  it('answers a body whose event is over 6 MB (binary becomes base64) with 413, and runs nothing', async () => {
    const { gw, fns } = await stack();
    const body = Buffer.alloc(5 * 1024 * 1024, 0xff); // under the 6 MB body limit; 6.7 MB as base64
    const r = await raw(gw.url, 'POST', '/fn/hostile/echo', body, { 'content-type': 'application/octet-stream' });
    expect([r.status, JSON.parse(r.body.toString()).error]).toEqual([413, { code: 'PayloadTooLarge', message: 'Request must be smaller than 6291456 bytes for the InvokeFunction operation', limit: 6291456 }]);
    expect(fns.get('hostile').invocations).toBe(0);
  }, 30_000);

  it("gives query parameters named like Object's own properties (__proto__, constructor, toString) as they were sent", async () => {
    const { gw } = await stack();
    const r = await raw(gw.url, 'GET', '/fn/hostile/echo?constructor=1&__proto__=2&toString=3&toString=4', undefined, { constructor: 'c' });
    const event = JSON.parse(r.body.toString());
    expect([r.status, JSON.stringify(event.queryStringParameters), event.headers.constructor]).toEqual([200, '{"constructor":"1","__proto__":"2","toString":"3,4"}', 'c']);
  });

  it('answers a function name with malformed percent-encoding with 404, not an internal error', async () => {
    const { gw } = await stack();
    for (const name of ['%E0%A4%A', '%ZZ', '%']) {
      const r = await raw(gw.url, 'GET', `/fn/${name}/x`);
      expect([r.status, JSON.parse(r.body.toString()).error]).toEqual([404, { code: 'FunctionNotFound', message: `no function '${name}' has a URL here`, function: name }]);
    }
  });
});

describe('function URLs: hostile results', () => {
  it("drops a handler's framing headers: the body is framed by Sluice's own Content-Length", async () => {
    const { gw } = await stack();
    const r = await respond(gw.url, { statusCode: 200, headers: { 'Transfer-Encoding': 'chunked', 'content-length': '3', connection: 'upgrade', upgrade: 'h2c', 'keep-alive': 'timeout=999', trailer: 'x-t', te: 'trailers', 'x-kept': 'yes' }, body: 'hello world' });
    expect([r.status, r.body.toString(), r.headers['content-length'], r.headers['transfer-encoding'], r.headers.upgrade, r.headers.trailer, r.headers['x-kept']]).toEqual([200, 'hello world', '11', undefined, undefined, undefined, 'yes']);
    expect(r.headers.connection).not.toBe('upgrade');
  });

  it('answers 204 and 304 with no body and no Content-Length, whatever the result says', async () => {
    const { gw } = await stack();
    for (const statusCode of [204, 304]) {
      const r = await respond(gw.url, { statusCode, headers: { etag: '"v1"' }, body: 'ignored body' });
      expect([r.status, r.body.length, r.headers['content-length'], r.headers.etag]).toEqual([statusCode, 0, undefined, '"v1"']);
    }
    const after = await respond(gw.url, { statusCode: 200, body: 'next' }); // the connection is still in step
    expect([after.status, after.body.toString()]).toEqual([200, 'next']);
  });

  it('answers 502 for a header or cookie HTTP cannot send and for a status that is not final, and stays up', async () => {
    const { gw } = await stack();
    const bad: unknown[] = [
      { statusCode: 200, headers: { 'x-a': 'one\r\nset-cookie: injected=1' }, body: 'x' },
      { statusCode: 200, headers: { 'x-a': 'bare\nlf' } },
      { statusCode: 200, headers: { 'bad name': 'v' } },
      { statusCode: 200, headers: { 'x-é': 'v' } },
      { statusCode: 200, headers: { 'x-a': 'euro €' } },
      { statusCode: 200, headers: { 'x-a': ['a', 'b'] } },
      { statusCode: 200, headers: ['x-a', 'v'] },
      { statusCode: 200, cookies: ['a=1\r\nx-injected: 1'] },
      { statusCode: 200, cookies: [1] },
      { statusCode: 101, headers: { upgrade: 'websocket' } },
      { statusCode: 100 },
      { statusCode: 199 },
      { statusCode: 600 },
      { statusCode: 200.5 },
      { statusCode: 200, body: { not: 'a string' } },
    ];
    for (const result of bad) {
      const r = await respond(gw.url, result);
      expect([r.status, r.body.toString(), r.headers['x-injected'], r.headers['set-cookie']], JSON.stringify(result)).toEqual([502, '{"message":"Internal Server Error"}', undefined, undefined]);
    }
    const ok = await respond(gw.url, { statusCode: '201', headers: { 'X-Num': 7, 'x-bool': true, 'x-latin1': 'café' }, cookies: ['a=1; Path=/', 'b=2'], body: 'fine' });
    expect([ok.status, ok.headers['x-num'], ok.headers['x-bool'], ok.headers['x-latin1'], ok.headers['set-cookie'], ok.body.toString()]).toEqual([201, '7', 'true', 'café', ['a=1; Path=/', 'b=2'], 'fine']);
  });

  it('answers 502 for a result over the 6 MB response limit', async () => {
    const { gw, fns } = await stack();
    const r = await raw(gw.url, 'GET', '/fn/hostile/huge'); // a 7 MB JSON string
    expect([r.status, r.body.toString()]).toEqual([502, '{"message":"Internal Server Error"}']);
    expect(fns.get('hostile').errors).toBe(1);
  }, 60_000);
});

describe('raw output of a function', () => {
  it('keeps at most 256 KB of what a process writes straight to fd 1 per invocation, then says it cut the rest', async () => {
    const { fns } = await stack({ raw: { ...HOSTILE, runtime: 'process' } });
    const { outcome, lines } = (await fns.invoke('raw', JSON.stringify({ do: 'raw', n: 5_000 })))!; // 5 MB
    expect(outcome, JSON.stringify(outcome).slice(0, 600)).toMatchObject({ ok: true, result: '"wrote"' });
    const texts = lines.filter((l) => l.includes('\tINFO\t')).map((l) => l.split('\t').slice(3).join('\t'));
    const kept = texts.filter((t) => /^y+$/.test(t)).reduce((n, t) => n + Buffer.byteLength(t), 0);
    expect(kept).toBeLessThanOrEqual(LOG_LIMIT_BYTES);
    expect(kept).toBeGreaterThan(LOG_LIMIT_BYTES - 1_000);
    expect(texts.filter((t) => !/^y+$/.test(t))).toEqual(['[Sluice] log output cut here: more than 256 KB written']);
    expect(texts.at(-1)).toBe('[Sluice] log output cut here: more than 256 KB written');
    // The next invocation has a budget of its own (what came after the last one's result may go with it, under a budget of its own too).
    const again = (await fns.invoke('raw', JSON.stringify({ do: 'raw', n: 5_000 })))!.lines.filter((l) => l.includes('\tINFO\t')).map((l) => l.split('\t').slice(3).join('\t'));
    expect(again.filter((t) => !/^y+$/.test(t))).toEqual(['[Sluice] log output cut here: more than 256 KB written']);
    const keptAgain = again.filter((t) => /^y+$/.test(t)).reduce((n, t) => n + Buffer.byteLength(t), 0);
    expect(keptAgain).toBeGreaterThan(LOG_LIMIT_BYTES - 1_000);
    expect(keptAgain).toBeLessThanOrEqual(2 * LOG_LIMIT_BYTES);
  }, 60_000);
});

describe('the native logs route (what sluice logs reads)', () => {
  it('refuses a limit that is not a whole number from 1, answers an unknown function 404, and gives the last `limit` invocations', async () => {
    const { gw, fns } = await stack();
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await fns.invoke('hostile', JSON.stringify({ do: 'echo', i })))!.requestId);
    const logs = (query: string) => raw(gw.url, 'GET', `/v1/functions/hostile/logs${query}`).then((r) => ({ status: r.status, body: JSON.parse(r.body.toString()) }));
    await until(() => logs(''), (r) => r.body.logs?.length === 3, 'the three logs to be kept');
    for (const limit of ['0', '-1', 'abc', '1.5', '', '1e3']) {
      expect(await logs(`?limit=${limit}`)).toEqual({ status: 400, body: { error: { code: 'InvalidArgument', message: `limit must be a whole number from 1 to 1000, got '${limit}'`, field: 'limit' } } });
    }
    const last2 = await logs('?limit=2');
    expect([last2.status, last2.body.logs.map((l: { requestId: string }) => l.requestId), last2.body.next]).toEqual([200, ids.slice(1), 3]);
    expect((await logs('?limit=5000')).body.logs.map((l: { requestId: string }) => l.requestId)).toEqual(ids); // at most 1,000
    expect((await logs(`?requestId=${ids[0]}`)).body.logs.map((l: { requestId: string }) => l.requestId)).toEqual([ids[0]]);
    expect((await logs('?from=1')).body.logs.map((l: { requestId: string }) => l.requestId)).toEqual(ids.slice(1));
    const unknown = await raw(gw.url, 'GET', '/v1/functions/nope/logs');
    expect([unknown.status, JSON.parse(unknown.body.toString()).error]).toEqual([404, { code: 'FunctionNotFound', message: 'Function not found: nope', function: 'nope' }]);
    const described = await raw(gw.url, 'GET', '/v1/functions/nope');
    expect(described.status).toBe(404);
  }, 30_000);
});

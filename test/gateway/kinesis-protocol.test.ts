// The Kinesis JSON 1.1 wire, checked with raw fetch: empty 200 bodies for operations without output,
// requests that name no operation, bodies that are not JSON objects, CORS for browser SDK clients.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type TestGateway } from '../support/gateway.js';

const JSON_11 = 'application/x-amz-json-1.1';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

let open: TestGateway;
let signed: TestGateway;
beforeAll(async () => {
  open = await startGateway();
  signed = await startGateway({ principals: [{ id: 'p', accessKeyId: 'AKIDP', secretAccessKey: 'p-secret', scopes: { '*': ['admin'] } }] });
});
afterAll(async () => {
  await open.close();
  await signed.close();
});

async function raw(url: string, init: { method?: string; body?: string; headers?: Record<string, string> }) {
  const res = await fetch(url, { method: init.method ?? 'POST', body: init.body, headers: init.headers });
  return { status: res.status, headers: res.headers, text: await res.text() };
}

const kinesis = (op: string, body: unknown, headers: Record<string, string> = {}) =>
  raw(open.url, { body: JSON.stringify(body), headers: { 'x-amz-target': `Kinesis_20131202.${op}`, 'content-type': JSON_11, ...headers } });

describe('Kinesis responses', () => {
  it('answers the operations without output with HTTP 200 and an empty body, as AWS does', async () => {
    const requests: [string, object][] = [
      ['CreateStream', { StreamName: 'empty', ShardCount: 1 }],
      ['AddTagsToStream', { StreamName: 'empty', Tags: { a: 'b' } }],
      ['RemoveTagsFromStream', { StreamName: 'empty', TagKeys: ['a'] }],
      ['IncreaseStreamRetentionPeriod', { StreamName: 'empty', RetentionPeriodHours: 48 }],
      ['DecreaseStreamRetentionPeriod', { StreamName: 'empty', RetentionPeriodHours: 24 }],
      ['UpdateStreamMode', { StreamARN: 'arn:aws:kinesis:us-east-1:000000000000:stream/empty', StreamModeDetails: { StreamMode: 'ON_DEMAND' } }],
      ['DeleteStream', { StreamName: 'empty' }],
    ];
    for (const [op, body] of requests) {
      const r = await kinesis(op, body);
      expect([op, r.status, r.text, r.headers.get('content-length'), r.headers.get('content-type')]).toEqual([op, 200, '', '0', JSON_11]);
      expect(r.headers.get('x-amzn-requestid')).toMatch(UUID);
    }
  });

  it('answers an unknown operation with a bare UnknownOperationException', async () => {
    const r = await kinesis('SplitShard', {});
    expect([r.status, JSON.parse(r.text), r.headers.get('x-amzn-errortype')]).toEqual([400, { __type: 'UnknownOperationException' }, 'UnknownOperationException']);
  });

  it('answers an operation named after an Object.prototype member as unknown (they answered 500, or 200 for toString)', async () => {
    for (const op of ['constructor', '__proto__', 'hasOwnProperty', 'valueOf', 'toString', 'isPrototypeOf', '__defineGetter__', 'toLocaleString']) {
      const r = await kinesis(op, {});
      expect([op, r.status, JSON.parse(r.text)]).toEqual([op, 400, { __type: 'UnknownOperationException' }]);
    }
  });

  it('answers JSON nested deeper than any Kinesis request with SerializationException, not a crash', async () => {
    const deep = `{"StreamName":"s","Records":${'['.repeat(5000)}${']'.repeat(5000)}}`;
    const r = await raw(open.url, { body: deep, headers: { 'x-amz-target': 'Kinesis_20131202.PutRecords', 'content-type': JSON_11 } });
    expect([r.status, JSON.parse(r.text)]).toEqual([400, { __type: 'SerializationException', Message: 'the request nests deeper than 32 levels' }]);
  });

  it('answers an empty body, a non-JSON body or a JSON value that is not an object with SerializationException', async () => {
    const send = (body: string) => raw(open.url, { body, headers: { 'x-amz-target': 'Kinesis_20131202.ListStreams', 'content-type': JSON_11 } });
    for (const body of ['', 'hello', '"text"', '42', 'null']) {
      const r = await send(body);
      expect([body, r.status, JSON.parse(r.text)]).toEqual([body, 400, { __type: 'SerializationException' }]);
    }
    const list = await send('[]');
    expect([list.status, JSON.parse(list.text)]).toEqual([400, { __type: 'SerializationException', Message: 'Start of list found where not expected' }]);
  });
});

describe('a POST to / without X-Amz-Target, answered as Kinesis answers it (before any signature check)', () => {
  it('a JSON 1.1 body gets a bare UnknownOperationException', async () => {
    for (const g of [open, signed]) {
      const r = await raw(g.url, { body: '{}', headers: { 'content-type': JSON_11 } });
      expect([r.status, JSON.parse(r.text), r.headers.get('content-type')]).toEqual([400, { __type: 'UnknownOperationException' }, JSON_11]);
    }
  });

  it("any other body gets AWS's XML AccessDeniedException", async () => {
    for (const g of [open, signed]) {
      const r = await raw(g.url, { body: 'x=1', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
      expect([r.status, r.text, r.headers.get('x-amzn-errortype')]).toEqual([
        403,
        '<AccessDeniedException>\n  <Message>Unable to determine service/operation name to be authorized</Message>\n</AccessDeniedException>\n',
        'AccessDeniedException',
      ]);
    }
  });
});

describe('CORS, for browser SDK clients', () => {
  it('answers a preflight of / with any origin, the method and headers asked for, cached two days, without a signature', async () => {
    const r = await raw(signed.url, {
      method: 'OPTIONS',
      headers: {
        origin: 'https://app.example',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type,x-amz-target,x-amz-date,authorization,x-amz-user-agent',
      },
    });
    expect([
      r.status,
      r.text,
      r.headers.get('access-control-allow-origin'),
      r.headers.get('access-control-allow-methods'),
      r.headers.get('access-control-allow-headers'),
      r.headers.get('access-control-max-age'),
    ]).toEqual([200, '', '*', 'POST', 'content-type,x-amz-target,x-amz-date,authorization,x-amz-user-agent', '172800']);
  });

  it('puts CORS headers on Kinesis answers to a browser, errors included', async () => {
    const expose = 'x-amzn-RequestId,x-amzn-ErrorType,x-amz-request-id,x-amz-id-2,x-amzn-ErrorMessage,Date';
    for (const [op, body, status] of [['ListStreams', {}, 200], ['DescribeStream', { StreamName: 'no-such' }, 400]] as const) {
      const r = await kinesis(op, body, { origin: 'https://app.example' });
      expect([r.status, r.headers.get('access-control-allow-origin'), r.headers.get('access-control-expose-headers')]).toEqual([status, '*', expose]);
    }
    const plain = await kinesis('ListStreams', {});
    expect(plain.headers.get('access-control-allow-origin')).toBeNull();
  });
});

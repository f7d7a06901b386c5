// Object triggers on both engines, through the official @aws-sdk/client-s3 against a real gateway
// whose object store announces into the functions' async queues (as `sluice dev` wires it): S3's
// event for a PUT, a multipart complete, a copy and a delete, every field exact; keys URL-encoded
// as S3 encodes them; prefix and suffix filters, with nothing queued for a write no trigger
// matches; a failing handler retried as Lambda retries asynchronous events, then its event in the
// on-failure destination; an archive's object announced through the same hook. Time is a
// ManualClock (eventTime, the retries' minutes).
import {
  CompleteMultipartUploadCommand, CopyObjectCommand, CreateBucketCommand, CreateMultipartUploadCommand, DeleteObjectCommand,
  DeleteObjectsCommand, PutObjectCommand, UploadPartCommand, type S3Client,
} from '@aws-sdk/client-s3';
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { validateConfig, ConfigError } from '../../src/config/index.js';
import { ArchiveRun } from '../../src/connectors/archive/index.js';
import type { Engine } from '../../src/engine/engine.js';
import { functionsSchema, type FunctionConfig } from '../../src/functions/config.js';
import { Functions } from '../../src/functions/functions.js';
import { asyncStreamOf } from '../../src/functions/async-queue.js';
import { encodeEventKey, prepareObjectTriggers, sequencerOf, type S3EventRecord } from '../../src/functions/objects/index.js';
import { processRuntime } from '../../src/functions/runtime/process.js';
import { threadRuntime } from '../../src/functions/runtime/thread.js';
import { Gateway } from '../../src/gateway/gateway.js';
import { Objects } from '../../src/objects/index.js';
import { Observer } from '../../src/observe/observer.js';
import { systemClock } from '../../src/clock.js';
import { allRecords, ENGINES } from '../support/engines.js';
import { s3Client } from '../support/s3.js';

const FIXTURES = fileURLToPath(new URL('./object-fixtures/', import.meta.url));
const T0 = Date.UTC(2026, 10, 5, 12, 0, 0);
const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
});

/** A gateway whose object store announces to the functions' object triggers, the functions, and an S3 client. */
async function stack(engine: Engine, functions: Record<string, FunctionConfig>, clock: ManualClock) {
  const observer = new Observer({ clock: systemClock });
  const gw = new Gateway(engine, { port: 0 }, systemClock, observer); // (real time for SigV4's clock check)
  const resolved = functionsSchema.parse(functions);
  const announce = await prepareObjectTriggers(engine, resolved, { region: gw.options.region, clock });
  gw.objects = new Objects(engine, { clock, announce });
  await gw.listen();
  const fns = await Functions.start({
    engine, functions: resolved, baseDir: FIXTURES, gatewayUrl: gw.url, region: 'us-east-1', observer, clock,
    runtimes: { thread: threadRuntime, process: processRuntime }, addPrincipal: (p) => gw.addPrincipal(p),
  });
  gw.functions = fns;
  const s3 = s3Client(gw.url);
  closers.push(async () => (s3.destroy(), await gw.close(), await fns.close(), await engine.close()));
  return { gw, fns, s3 };
}

/** The events a function logged (its handler logs each as one INFO line), at least `n` of them. */
async function received(engine: Engine, fn: string, n: number): Promise<{ Records: S3EventRecord[] }[]> {
  let events: { Records: S3EventRecord[] }[] = [];
  for (const deadline = Date.now() + 60_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 20))) {
    const records = await allRecords(engine, `_sluice.fn.${fn}.logs`);
    events = records.flatMap((r) => (JSON.parse(Buffer.from(r.value).toString()).lines as string[]).filter((l) => l.includes('\tINFO\t')).map((l) => JSON.parse(l.split('\t')[3]!)));
    if (events.length >= n) return events;
  }
  throw new Error(`${fn} logged ${events.length} events, expected ${n}`);
}

/** Waits until a function's async queue has run everything queued (its committed offset at the stream's end). */
async function drained(engine: Engine, fns: Functions, fn: string): Promise<void> {
  for (const deadline = Date.now() + 60_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 20))) {
    const info = await engine.describeStream(asyncStreamOf(fn));
    const s = fns.get(fn).queue.stats();
    if (s.inFlight === 0 && s.committed === info.partitionInfo[0]!.next) return;
  }
  throw new Error(`${fn}'s async queue did not drain`);
}

/** S3's record as the function must get it; `responseElements` are checked apart (a request id per write). */
function expected(eventName: string, key: string, object: { size?: number; eTag?: string; sequencer: string }, configurationId: string): Omit<S3EventRecord, 'responseElements'> {
  return {
    eventVersion: '2.1', eventSource: 'aws:s3', awsRegion: 'us-east-1', eventTime: '2026-11-05T12:00:00.000Z', eventName: eventName as S3EventRecord['eventName'],
    userIdentity: { principalId: 'anonymous' }, requestParameters: { sourceIPAddress: '127.0.0.1' }, // who wrote it: the open gateway's caller, from loopback
    s3: { s3SchemaVersion: '1.0', configurationId, bucket: { name: 'uploads', ownerIdentity: { principalId: 'sluice' }, arn: 'arn:aws:s3:::uploads' }, object: { key, ...object } },
  };
}

const md5 = (b: Uint8Array | string) => createHash('md5').update(b).digest('hex');
const version = async (engine: Engine, key: string) => (await engine.statObject(`uploads/${key}`))!.version;

const LISTENERS: Record<string, FunctionConfig> = {
  all: { handler: './listener.ts', triggers: [{ object: { bucket: 'uploads', events: ['ObjectCreated:*', 'ObjectRemoved:*'] } }] },
  csv: { handler: './listener.ts', triggers: [{ object: { bucket: 'uploads', events: ['ObjectCreated:Put'], prefix: '2026/', suffix: '.csv', id: 'csv-uploads' } }] },
  removed: { handler: './listener.ts', triggers: [{ object: { bucket: 'uploads', events: ['ObjectRemoved:Delete'] } }, { object: { bucket: 'other', events: ['ObjectCreated:*'] } }] },
};

describe.each(ENGINES)('object triggers on the $name engine', ({ factory }) => {
  it("invoke the function once per write with S3's event, every field exact: PutObject, CompleteMultipartUpload, CopyObject, DeleteObject", async () => {
    const clock = new ManualClock(T0);
    const engine = await factory(clock);
    const { fns, s3 } = await stack(engine, LISTENERS, clock);
    await s3.send(new CreateBucketCommand({ Bucket: 'uploads' })); // after the functions were declared and started
    const key = 'reports/my file (1) ü€ +=&.csv';
    const put = await s3.send(new PutObjectCommand({ Bucket: 'uploads', Key: key, Body: 'a,b\n1,2\n' }));
    const putVersion = await version(engine, key);
    const part = Buffer.alloc(5 * 1024 * 1024, 7);
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: 'uploads', Key: 'big/video.mp4' }));
    const parts = [];
    for (const [i, Body] of [part, Buffer.from('x')].entries()) parts.push({ PartNumber: i + 1, ETag: (await s3.send(new UploadPartCommand({ Bucket: 'uploads', Key: 'big/video.mp4', UploadId, PartNumber: i + 1, Body }))).ETag! });
    const done = await s3.send(new CompleteMultipartUploadCommand({ Bucket: 'uploads', Key: 'big/video.mp4', UploadId, MultipartUpload: { Parts: parts } }));
    const copied = await s3.send(new CopyObjectCommand({ Bucket: 'uploads', Key: 'copies/report.csv', CopySource: `uploads/${encodeURIComponent(key)}` }));
    const deleted = await s3.send(new DeleteObjectCommand({ Bucket: 'uploads', Key: key }));
    await s3.send(new DeleteObjectCommand({ Bucket: 'uploads', Key: 'never-there' })); // nothing removed: nothing announced

    const events = await received(engine, 'all', 4);
    await drained(engine, fns, 'all');
    expect(events.every((e) => e.Records.length === 1)).toBe(true);
    const records = events.map((e) => e.Records[0]!).sort((a, b) => a.eventName.localeCompare(b.eventName) || a.s3.object.key.localeCompare(b.s3.object.key));
    const encoded = 'reports/my+file+%281%29+%C3%BC%E2%82%AC+%2B%3D%26.csv';
    expect(encodeEventKey(key)).toBe(encoded);
    const [completed, copy, created, removed] = records;
    expect(completed).toEqual({ ...expected('ObjectCreated:CompleteMultipartUpload', 'big/video.mp4', { size: part.length + 1, eTag: JSON.parse(done.ETag!), sequencer: sequencerOf(await version(engine, 'big/video.mp4')) }, 'all-object'), responseElements: completed!.responseElements });
    expect(completed!.s3.object.eTag).toBe(`${md5(Buffer.concat([Buffer.from(md5(part), 'hex'), Buffer.from(md5('x'), 'hex')]))}-2`);
    expect(copy).toEqual({ ...expected('ObjectCreated:Copy', 'copies/report.csv', { size: 8, eTag: md5('a,b\n1,2\n'), sequencer: sequencerOf(await version(engine, 'copies/report.csv')) }, 'all-object'), responseElements: copy!.responseElements });
    expect(JSON.parse(copied.CopyObjectResult!.ETag!)).toBe(md5('a,b\n1,2\n'));
    expect(created).toEqual({ ...expected('ObjectCreated:Put', encoded, { size: 8, eTag: JSON.parse(put.ETag!), sequencer: sequencerOf(putVersion) }, 'all-object'), responseElements: created!.responseElements });
    expect(removed).toEqual({ ...expected('ObjectRemoved:Delete', encoded, { sequencer: removed!.s3.object.sequencer }, 'all-object'), responseElements: removed!.responseElements });
    // The delete's sequencer is its own version: later than the PUT's, as strings and as numbers.
    expect(removed!.s3.object.sequencer).toMatch(/^[0-9A-F]{16}$/);
    expect(removed!.s3.object.sequencer > created!.s3.object.sequencer && parseInt(removed!.s3.object.sequencer, 16) > putVersion).toBe(true);
    // Each event carries the request id its write was answered with (x-amz-request-id).
    const ids = [done, copied, put, deleted].map((r) => r.$metadata.requestId!);
    expect(records.map((r) => r.responseElements)).toEqual(ids.map((id) => ({ 'x-amz-request-id': id, 'x-amz-id-2': Buffer.from(id).toString('base64') })));
    expect(new Set(ids).size).toBe(4);
    // `removed` has a trigger for deletes of uploads only; the delete reached it too, once.
    expect((await received(engine, 'removed', 1)).map((e) => [e.Records[0]!.eventName, e.Records[0]!.s3.object.key, e.Records[0]!.s3.configurationId])).toEqual([['ObjectRemoved:Delete', encoded, 'removed-object']]);
    await drained(engine, fns, 'removed');
    expect(await allRecords(engine, asyncStreamOf('removed'))).toHaveLength(1);
    expect(fns.get('all').invocations).toBe(4);
  }, 120_000);

  it('filter by prefix and suffix on the key as written; a write no trigger matches queues nothing; DeleteObjects announces each key it removed', async () => {
    const clock = new ManualClock(T0);
    const engine = await factory(clock);
    const { fns, s3 } = await stack(engine, LISTENERS, clock);
    await s3.send(new CreateBucketCommand({ Bucket: 'uploads' }));
    await s3.send(new CreateBucketCommand({ Bucket: 'elsewhere' }));
    for (const Key of ['2026/11/report.csv', '2026/11/report.csv.bak', '2025/11/report.csv', 'x/2026/a.csv', '2026/11/REPORT.CSV', '2026/11/ünï cödé.csv']) {
      await s3.send(new PutObjectCommand({ Bucket: 'uploads', Key, Body: Key }));
    }
    await s3.send(new PutObjectCommand({ Bucket: 'elsewhere', Key: '2026/11/report.csv', Body: 'no trigger on this bucket' }));
    await s3.send(new CopyObjectCommand({ Bucket: 'uploads', Key: '2026/11/copy.csv', CopySource: 'uploads/2026/11/report.csv' })); // a Copy: csv is for Puts only
    const deleted = await s3.send(new DeleteObjectsCommand({ Bucket: 'uploads', Delete: { Objects: [{ Key: '2025/11/report.csv' }, { Key: 'x/2026/a.csv' }, { Key: 'absent' }] } }));
    expect(deleted.Deleted?.map((d) => d.Key).sort()).toEqual(['2025/11/report.csv', 'absent', 'x/2026/a.csv']);

    const csv = await received(engine, 'csv', 2);
    await Promise.all(['all', 'csv', 'removed'].map((fn) => drained(engine, fns, fn)));
    expect(csv.map((e) => [e.Records[0]!.eventName, e.Records[0]!.s3.object.key, e.Records[0]!.s3.configurationId]).sort()).toEqual([
      ['ObjectCreated:Put', '2026/11/%C3%BCn%C3%AF+c%C3%B6d%C3%A9.csv', 'csv-uploads'],
      ['ObjectCreated:Put', '2026/11/report.csv', 'csv-uploads'],
    ]);
    // Queued only what matched: csv's queue holds its two events, all's the 6 puts, the copy and the 2 deletes.
    expect(await allRecords(engine, asyncStreamOf('csv'))).toHaveLength(2);
    expect(await allRecords(engine, asyncStreamOf('all'))).toHaveLength(9);
    expect((await received(engine, 'all', 9)).map((e) => e.Records[0]!.eventName).sort()).toEqual([...Array(1).fill('ObjectCreated:Copy'), ...Array(6).fill('ObjectCreated:Put'), ...Array(2).fill('ObjectRemoved:Delete')]);
    expect((await received(engine, 'removed', 2)).map((e) => e.Records[0]!.s3.object.key).sort()).toEqual(['2025/11/report.csv', 'x/2026/a.csv']);
    expect([fns.get('all').invocations, fns.get('csv').invocations, fns.get('removed').invocations]).toEqual([9, 2, 2]);
  }, 120_000);

  it("retry a failing handler as Lambda retries asynchronous events (1 min, then 2 min later), then send the event to the on-failure destination", async () => {
    const clock = new ManualClock(T0);
    const engine = await factory(clock);
    await engine.createStream('failed', { partitions: 1 });
    const { fns, s3 } = await stack(engine, { all: { ...LISTENERS.all!, destinations: { onFailure: { stream: 'failed' } } } }, clock);
    await s3.send(new CreateBucketCommand({ Bucket: 'uploads' }));
    await s3.send(new PutObjectCommand({ Bucket: 'uploads', Key: 'in/will fail.txt', Body: 'x' }));
    const first = (await received(engine, 'all', 1))[0]!;
    const asleep = async () => {
      for (const deadline = Date.now() + 30_000; clock.sleeping < 1; await new Promise((r) => setTimeout(r, 10))) if (Date.now() > deadline) throw new Error('the retry is not waiting');
    };
    await asleep();
    clock.advance(59_999);
    await new Promise((r) => setTimeout(r, 100));
    expect(fns.get('all').invocations).toBe(1); // not before its minute
    clock.advance(1);
    await received(engine, 'all', 2);
    await asleep();
    clock.advance(120_000);
    const attempts = await received(engine, 'all', 3);
    expect(attempts).toEqual([first, first, first]); // the same event each time
    let failed: unknown[] = [];
    for (const deadline = Date.now() + 30_000; failed.length === 0 && Date.now() < deadline; await new Promise((r) => setTimeout(r, 20))) {
      failed = (await allRecords(engine, 'failed')).map((r) => JSON.parse(Buffer.from(r.value).toString()));
    }
    expect(failed).toEqual([{
      version: '1.0', timestamp: '2026-11-05T12:03:00.000Z',
      requestContext: { requestId: expect.stringMatching(/^[0-9a-f-]{36}$/), functionArn: 'arn:aws:lambda:us-east-1:000000000000:function:all:$LATEST', condition: 'RetriesExhausted', approximateInvokeCount: 3 },
      requestPayload: first,
      responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' },
      responsePayload: { errorType: 'Error', errorMessage: 'cannot process in/will fail.txt', trace: expect.any(Array) },
    }]);
    expect(first.Records[0]!.s3.object.key).toBe('in/will+fail.txt');
    expect(fns.get('all').queue.stats()).toMatchObject({ retried: 2, failedForGood: 1 });
  }, 120_000);

  it("announce an archive's objects through the same hook: each archived object is one ObjectCreated:Put event", async () => {
    const clock = new ManualClock(T0);
    const engine = await factory(clock);
    const { fns, gw } = await stack(engine, { all: { handler: './listener.ts', triggers: [{ object: { bucket: 'archive', events: ['ObjectCreated:*'], suffix: '.ndjson' } }] } }, clock);
    const run = await ArchiveRun.start(engine, gw.objects, { events: { bucket: 'archive', prefix: 'raw', rollSize: 1, compression: 'none' } }, { clock, idlePollMs: 5 });
    closers.push(() => run.stop());
    await engine.append('events', [{ value: Buffer.from('{"n":1}'), partition: 0 }]);
    const [event] = await received(engine, 'all', 1);
    const key = (await engine.listObjects({ prefix: 'archive/' })).objects.map((o) => o.name.slice('archive/'.length));
    expect(key).toEqual([expect.stringMatching(/^raw\/2026\/11\/05\/events-0-\d+\.ndjson$/)]); // (the first offset: 0 on sqlite, the partition's base on nats)
    expect(event!.Records[0]).toMatchObject({ eventName: 'ObjectCreated:Put', eventTime: '2026-11-05T12:00:00.000Z', s3: { bucket: { name: 'archive' }, object: { key: key[0], size: 8, sequencer: sequencerOf(await (await engine.statObject(`archive/${key[0]}`))!.version) } } });
    await drained(engine, fns, 'all');
  }, 120_000);
});

describe('object triggers in sluice.config.ts', () => {
  const issues = (triggers: unknown[]) => {
    try {
      validateConfig({ functions: { f: { handler: './f.ts', triggers } } });
      return [];
    } catch (e) {
      return (e as ConfigError).issues;
    }
  };

  it('are validated one line per bad field', () => {
    expect(issues([{ object: { bucket: 'Bad_Bucket', events: ['ObjectCreated:Post', 'ObjectRemoved:*'], prefix: '', suffix: 'x'.repeat(1025), colour: 'red' } }])).toEqual([
      "functions.f.triggers.0.object.bucket: invalid bucket name 'Bad_Bucket': a bucket name is lowercase letters, digits, dots and hyphens, and begins and ends with a letter or digit",
      'functions.f.triggers.0.object.events.0: Invalid option: expected one of "ObjectCreated:*"|"ObjectCreated:Put"|"ObjectCreated:Copy"|"ObjectCreated:CompleteMultipartUpload"|"ObjectRemoved:*"|"ObjectRemoved:Delete"',
      'functions.f.triggers.0.object.prefix: Too small: expected string to have >=1 characters',
      'functions.f.triggers.0.object.suffix: Too big: expected string to have <=1024 characters',
      'functions.f.triggers.0.object: Unrecognized key: "colour"',
    ]);
    expect(issues([{ object: { bucket: 'uploads' } }, { object: { bucket: 'metrics', events: [] } }, { objects: {} }])).toEqual([
      'functions.f.triggers.0.object.events: Invalid input: expected array, received undefined',
      "functions.f.triggers.1.object.bucket: invalid bucket name 'metrics': 'metrics' is a path the gateway serves itself",
      'functions.f.triggers.1.object.events: Too small: expected array to have >=1 items',
      'functions.f.triggers.2: a trigger is { stream, … }, { schedule, … } or { object: { bucket, events, … } }',
    ]);
  });

  it("refuse two triggers of one function that one write could match (S3's overlapping configurations), and two of one id", () => {
    expect(issues([
      { object: { bucket: 'uploads', events: ['ObjectCreated:*'], prefix: '2026/' } },
      { object: { bucket: 'uploads', events: ['ObjectCreated:Put'], prefix: '2026/11/', suffix: '.csv' } },
    ])).toEqual(['functions.f.triggers.1.object: overlaps triggers.0 (same bucket, a shared event type, overlapping prefix and suffix): one write would invoke the function twice']);
    expect(issues([
      { object: { bucket: 'uploads', events: ['ObjectCreated:*'], id: 'a' } },
      { object: { bucket: 'uploads', events: ['ObjectRemoved:*'], id: 'a' } },
    ])).toEqual(["functions.f.triggers.1.object.id: two object triggers have the id 'a'"]);
    // Apart by event type, by prefix, by suffix or by bucket: accepted.
    expect(issues([
      { object: { bucket: 'uploads', events: ['ObjectCreated:*'] } },
      { object: { bucket: 'uploads', events: ['ObjectRemoved:*'] } },
      { object: { bucket: 'logs', events: ['ObjectCreated:Put'], prefix: 'a/' } },
      { object: { bucket: 'logs', events: ['ObjectCreated:Put'], prefix: 'b/' } },
    ])).toEqual([]);
    expect(issues([
      { object: { bucket: 'logs', events: ['ObjectCreated:Put'], suffix: '.csv' } },
      { object: { bucket: 'logs', events: ['ObjectCreated:Put'], suffix: '.json' } },
      { stream: 's' },
      { schedule: 'rate(1 minute)' },
    ])).toEqual([]);
  });
});

// examples/object-listener as its README runs it: `sluice dev` with the example's configuration as a
// real process; `aws s3 cp report.csv s3://uploads/2026/11/report.csv` (the real AWS CLI when the
// machine has one) and the example's upload.ts for a 12 MiB file (a multipart upload) with a space
// and unicode in its key; then what the README says to look at — the notifications
// (`sluice tail notifications`), `sluice logs listener` — checked exactly.
import { spawn } from 'node:child_process';
import { copyFileSync, writeFileSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, readStream, runNode, sluice, startDev, type DevServer, type RunResult } from '../support/sluice.js';
import { tempDir } from '../support/tmp.js';

const EXAMPLE = fileURLToPath(new URL('../../examples/object-listener/', import.meta.url));
const CONFIG = join(EXAMPLE, 'sluice.config.ts');
const UPLOAD = join(EXAMPLE, 'upload.ts');
const REPORT = join(EXAMPLE, 'report.csv');
const BIG_BYTES = 12 * 1024 * 1024 + 5;

interface Notification {
  bucket_name: string;
  key_name: string;
  size: number;
  timestamp: string;
}

/** The AWS CLI's `aws s3 cp`, told to use path-style addressing (its config file) and any key pair (the gateway is open). */
function awsCp(dir: string, url: string, file: string, target: string): Promise<RunResult> {
  const config = join(dir, 'aws-config');
  writeFileSync(config, '[default]\nregion = us-east-1\ns3 =\n    addressing_style = path\n');
  const env = { ...process.env, AWS_CONFIG_FILE: config, AWS_SHARED_CREDENTIALS_FILE: join(dir, 'none'), AWS_ACCESS_KEY_ID: 'dev', AWS_SECRET_ACCESS_KEY: 'dev' };
  return new Promise((resolve, reject) => {
    const child = spawn('aws', ['--endpoint-url', url, 's3', 'cp', file, target, '--no-progress'], { env, cwd: dir });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const hasAwsCli = () => new Promise<boolean>((resolve) => {
  const child = spawn('aws', ['--version'], { stdio: 'ignore' });
  child.on('error', () => resolve(false));
  child.on('close', (code) => resolve(code === 0));
});

describe('examples/object-listener', () => {
  let server: DevServer;
  let dir: string;
  beforeAll(async () => {
    dir = tempDir();
    server = await startDev({ config: CONFIG, dataDir: join(dir, 'data') });
  }, 90_000);
  afterAll(async () => {
    expect(await server?.stop()).toBe(0);
  });

  it('publishes one notification per uploaded file, its size read through the unchanged S3Client, and logs each invocation', async () => {
    const started = Date.now();
    const reportBytes = statSync(REPORT).size;
    const cli = await hasAwsCli();
    copyFileSync(REPORT, join(dir, 'report.csv'));
    const first = cli ? await awsCp(dir, server.url, 'report.csv', 's3://uploads/2026/11/report.csv') : await runNode(UPLOAD, ['report.csv', 's3://uploads/2026/11/report.csv', '--endpoint', server.url], { cwd: dir });
    expect([first.code, first.stdout.trim()]).toEqual([0, cli ? 'upload: ./report.csv to s3://uploads/2026/11/report.csv' : expect.stringMatching(/^upload: report\.csv to s3:\/\/uploads\/2026\/11\/report\.csv \(\d+ bytes\), ETag "[0-9a-f]{32}"$/)]);

    const big = join(dir, 'q4 ventes été.bin');
    writeFileSync(big, Buffer.alloc(BIG_BYTES, 'sluice '));
    const second = await runNode(UPLOAD, [big, 's3://uploads/2026/11/q4 ventes été.bin', '--endpoint', server.url]);
    expect([second.code, second.stdout]).toEqual([0, `upload: ${big} to s3://uploads/2026/11/q4 ventes été.bin (${BIG_BYTES} bytes, multipart), ETag "${second.stdout.match(/ETag "([0-9a-f]{32}-2)"/)?.[1]}"\n`]);

    // Done: two invocations ended (each publishes before it ends) and the queue has nothing in flight or left.
    const described = await eventually('both invocations to end', async () => {
      const r = await sluice(['functions', 'describe', 'listener', '--json', '--url', server.url]);
      const d = JSON.parse(r.stdout) as { counters: { invocations: number; errors: number }; asyncQueue: { inFlight: number; retried: number } };
      return d.counters.invocations >= 2 && d.asyncQueue.inFlight === 0 ? d : undefined;
    }, { timeoutMs: 60_000 });
    expect([described.counters, described.asyncQueue.retried]).toEqual([{ invocations: 2, errors: 0, throttles: 0, concurrentExecutions: 0 }, 0]);
    const notes = await readStream(server.url, 'notifications');
    const values = notes.map((r) => r.value as Notification).sort((a, b) => a.size - b.size);
    expect(values).toEqual([
      { bucket_name: 'uploads', key_name: '2026/11/report.csv', size: reportBytes, timestamp: expect.any(String) },
      { bucket_name: 'uploads', key_name: '2026/11/q4 ventes été.bin', size: BIG_BYTES, timestamp: expect.any(String) },
    ]);
    for (const v of values) expect(Date.parse(v.timestamp)).toBeGreaterThanOrEqual(started - 1000);
    expect(notes.map((r) => r.key).sort()).toEqual(['2026/11/q4 ventes été.bin', '2026/11/report.csv']);

    // What the README says to look at: the notifications, and the function's logs.
    const tail = await sluice(['tail', 'notifications', '--from', 'earliest', '--limit', '2', '--url', server.url]);
    expect(tail.code).toBe(0);
    expect(tail.stdout.trimEnd().split('\n').map((l) => JSON.parse(l).value.key_name).sort()).toEqual(['2026/11/q4 ventes été.bin', '2026/11/report.csv']);
    const logs = await eventually('both invocations in the logs', async () => {
      const r = await sluice(['logs', 'listener', '--url', server.url]);
      return r.stdout.split('\n').filter((l) => l.startsWith('REPORT RequestId:')).length >= 2 ? r : undefined;
    }, { timeoutMs: 30_000 });
    const lines = logs.stdout.trimEnd().split('\n');
    expect(lines.filter((l) => /^START RequestId: [0-9a-f-]{36} Version: \$LATEST$/.test(l))).toHaveLength(2);
    const notified = lines.map((l) => /\tINFO\tnotified notifications: (.*)$/.exec(l)?.[1]).filter(Boolean).sort();
    expect(notified).toEqual([`uploads/2026/11/q4 ventes été.bin (${BIG_BYTES} bytes)`, `uploads/2026/11/report.csv (${reportBytes} bytes)`]);
    // The event as the handler logged it (the seed's `log.info('{}-{}'.format(event, context))`).
    const events = lines.map((l) => /\tINFO\t(\{"Records".*\})-[0-9a-f-]{36}$/.exec(l)?.[1]).filter((e): e is string => e !== undefined).map((e) => JSON.parse(e).Records[0]);
    expect(events.map((e) => [e.eventName, e.s3.bucket.name, e.s3.object.key, e.s3.object.size]).sort()).toEqual([
      ['ObjectCreated:CompleteMultipartUpload', 'uploads', '2026/11/q4+ventes+%C3%A9t%C3%A9.bin', BIG_BYTES],
      ['ObjectCreated:Put', 'uploads', '2026/11/report.csv', reportBytes],
    ]);
    expect(readFileSync(REPORT, 'utf8').split('\n')[0]).toBe('region,month,orders,revenue');
  }, 180_000);
});

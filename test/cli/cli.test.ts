// The `sluice` command as a user runs it: real processes, real ports, real signals.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SqliteEngine } from '../../src/engine/sqlite/index.js';
import { listStreams } from '../../src/cli/streams.js';
import { startGateway } from '../support/gateway.js';
import { startNats } from '../support/nats.js';
import { tempDir } from '../support/tmp.js';

const BIN = new URL('../../src/cli/bin.ts', import.meta.url).pathname;
const TSX = new URL('../../node_modules/tsx/dist/loader.mjs', import.meta.url).href; // absolute: the cwd is a temp dir
const running: ChildProcess[] = [];
afterEach(() => {
  for (const c of running.splice(0)) c.kill('SIGKILL');
});

function sluice(args: string[], cwd: string, input?: string, env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', TSX, BIN, ...args], { cwd, env: { ...process.env, SLUICE_URL: '', SLUICE_API_KEY: '', ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.stdin.end(input);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Starts `sluice dev` and resolves with its URL once it listens. */
function startDev(cwd: string, args: string[] = [], env: Record<string, string> = {}): Promise<{ child: ChildProcess; url: string; stderr: () => string; exited: Promise<number | null> }> {
  const child = spawn(process.execPath, ['--import', TSX, BIN, 'dev', '--port', '0', '--data-dir', join(cwd, 'data'), ...args], { cwd, env: { ...process.env, ...env } });
  running.push(child);
  let stderr = '';
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    child.stderr!.on('data', (d) => {
      stderr += d;
      const m = /listening on (http:\/\/[^\s]+)/.exec(stderr);
      if (m) resolve({ child, url: m[1]!, stderr: () => stderr, exited });
    });
    child.on('exit', () => reject(new Error(`sluice dev exited: ${stderr}`)));
  });
}

describe('sluice start and configuration', () => {
  it('start refuses to run without API keys unless --insecure', async () => {
    const r = await sluice(['start', '--port', '0'], tempDir());
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('sluice: sluice start refuses to run without API keys: add auth.principals to sluice.config.ts (see `sluice keys create`), or pass --insecure\n');
  });

  it('rejects a config naming every bad field, with exit code 2', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'sluice.config.ts'), `const port: string = 'eighty';\nexport default { gateway: { port }, streams: { events: { partitions: 0, retention: 'forever' } }, colour: 'red' };\n`);
    const r = await sluice(['dev', '--port', '0'], dir);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`sluice: ${join(dir, 'sluice.config.ts')}: invalid configuration`);
    expect(r.stderr).toContain('  - gateway.port: Invalid input: expected number, received string');
    expect(r.stderr).toContain('  - streams.events.partitions: Too small: expected number to be >=1');
    expect(r.stderr).toContain(`  - streams.events.retention: expected milliseconds or a duration like '7d', got "forever"`);
    expect(r.stderr).toContain('  - (root): Unrecognized key: "colour"');
  });

  it('logs JSON lines under dev with SLUICE_LOG_FORMAT=json, and refuses another format with exit code 2', async () => {
    const bad = await sluice(['dev', '--port', '0'], tempDir(), undefined, { SLUICE_LOG_FORMAT: 'xml' });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toBe("sluice: SLUICE_LOG_FORMAT must be 'pretty' or 'json', got 'xml'\n");
    const dev = await startDev(tempDir(), [], { SLUICE_LOG_FORMAT: 'json' });
    const first = JSON.parse(dev.stderr().split('\n')[0]!) as { level: number; component: string; msg: string };
    expect(first).toMatchObject({ level: 30, component: 'sluice' });
    expect(first.msg).toMatch(/^engine sqlite at /);
  });

  it('rejects bad flags with a message naming the flag, with exit code 2 (usage) as every usage error', async () => {
    const r = await sluice(['dev', '--port', 'eighty'], tempDir());
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("error: option '-p, --port <port>' argument 'eighty' is invalid. port must be an integer from 0 to 65535");
    const s = await sluice(['streams', 'create', 'x', '--retention', 'soon', '--url', 'http://127.0.0.1:1'], tempDir());
    expect(s.stderr).toBe("sluice: --retention: expected a duration like '7d' or '12h', got 'soon'\n");
    expect(s.code).toBe(2);
  });

  it('prints its version, and refuses a key without a scope (it used to grant write on every stream)', async () => {
    const v = await sluice(['--version'], tempDir());
    expect([v.code, v.stdout]).toEqual([0, `${JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')).version}\n`]);
    const k = await sluice(['keys', 'create', 'ingest'], tempDir());
    expect([k.code, k.stdout, k.stderr]).toEqual([2, '', "sluice: --scope is required: say what the key may do, e.g. --scope 'events=write' (or '*=admin' for everything)\n"]);
  });

  it('says in one line that a port is in use, with exit code 1, instead of a stack trace', async () => {
    const blocker = net.createServer().listen(0, '127.0.0.1');
    await new Promise((r) => blocker.once('listening', r));
    const { port } = blocker.address() as net.AddressInfo;
    try {
      const dir = tempDir();
      const r = await sluice(['dev', '--port', String(port), '--data-dir', join(dir, 'data')], dir);
      expect(r.code).toBe(1);
      expect(r.stderr.split('\n').filter(Boolean).at(-1)).toBe(`sluice: port ${port} on 127.0.0.1 is in use (another sluice?): choose another with --port`);
    } finally {
      blocker.close();
    }
  });

  it('keys create prints a key and its config entry; a bad scope is refused', async () => {
    const r = await sluice(['keys', 'create', 'ingest', '--scope', 'events=write', '--scope', 'metrics-*=read'], tempDir());
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^API key \(shown once; send as "Authorization: Bearer <key>"\):\n {2}sluice\.ingest\.[A-Za-z0-9_-]{43}\n/);
    expect(r.stdout).toMatch(/"apiKeyHash":"sha256:[0-9a-f]{64}","scopes":\{"events":\["write"\],"metrics-\*":\["read"\]\}/);
    const bad = await sluice(['keys', 'create', 'ingest', '--scope', 'events=delete'], tempDir());
    expect([bad.code, bad.stderr]).toEqual([2, "sluice: --scope 'events=delete': expected <pattern>=<read|write|admin|invoke>[,...], e.g. 'events=write' or 'function:*=invoke,read'\n"]);
    const fn = await sluice(['keys', 'create', 'ops', '--scope', 'function:*=invoke,read'], tempDir());
    expect(fn.stdout).toMatch(/"scopes":\{"function:\*":\["invoke","read"\]\}/);
    expect((await sluice(['keys', 'create', 'fn-enrich', '--scope', 'x=read'], tempDir())).stderr).toBe("sluice: key id 'fn-enrich': ids starting with fn- are functions' own principals\n");
  });
});

describe('sluice dev, streams, put and tail', () => {
  it('serves a configured stream, takes a file with put, tails it, and drains on SIGTERM keeping every record', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'sluice.config.ts'), `const partitions: number = 2;\nexport default { streams: { views: { partitions, partitionKeyField: 'adId' } } };\n`);
    const dev = await startDev(dir);
    const lines = Array.from({ length: 1234 }, (_, i) => JSON.stringify({ adId: `ad-${i % 10}`, i }));
    writeFileSync(join(dir, 'views.ndjson'), lines.join('\n') + '\n');
    const put = await sluice(['put', 'views', 'views.ndjson', '--url', dev.url, '--batch', '500'], dir);
    expect(put.stdout).toBe('stored 1234, duplicates 0, failed 0\n');
    expect(put.code).toBe(0);
    const fromStdin = await sluice(['put', 'views', '-', '--url', dev.url], dir, '[{"adId":"x","i":-1}]');
    expect(fromStdin.stdout).toBe('stored 1, duplicates 0, failed 0\n');
    const tail = await sluice(['tail', 'views', '--from', 'earliest', '--limit', '1235', '--url', dev.url], dir);
    const seen = tail.stdout.trim().split('\n').map((l) => JSON.parse(l).value.i as number);
    expect(seen.sort((a, b) => a - b)).toEqual([-1, ...lines.map((_, i) => i)]);
    const list = await sluice(['streams', 'list', '--url', dev.url], dir);
    expect(list.stdout).toBe('views\t2 partitions\tretention 7 days\n');
    expect((await sluice(['streams', 'create', 'other', '--partitions', '3', '--retention', '12h', '--url', dev.url], dir)).stdout).toBe(
      "created stream 'other' with 3 partitions, retention 12 h\n",
    );
    expect((await sluice(['streams', 'create', 'other', '--url', dev.url], dir)).stderr).toBe("sluice: 409 StreamExists: stream 'other' already exists\n");
    expect((await sluice(['streams', 'delete', 'other', '--url', dev.url], dir)).stdout).toBe("deleted stream 'other'\n");
    dev.child.kill('SIGTERM');
    expect(await dev.exited).toBe(0);
    expect(dev.stderr()).toMatch(/INFO: sluice: SIGTERM: draining in-flight requests\n(.*\n)*.*INFO: sluice: stopped\n$/);
    const engine = new SqliteEngine({ dataDir: join(dir, 'data'), retentionIntervalMs: 0 });
    const info = await engine.describeStream('views');
    expect(info.partitionInfo.reduce((n, p) => n + p.next, 0)).toBe(1235);
    await engine.close();
  }, 180_000); // (five real processes: on a loaded machine a start alone can take 10 s)

  it('put refuses a malformed line before sending anything, and reports an unreachable gateway', async () => {
    const dir = tempDir();
    const dev = await startDev(dir);
    await sluice(['streams', 'create', 's', '--url', dev.url], dir);
    writeFileSync(join(dir, 'bad.ndjson'), '{"a":1}\n{"a":2}\n{"a":\n');
    const r = await sluice(['put', 's', 'bad.ndjson', '--url', dev.url], dir);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^sluice: line 3 is not valid JSON: /);
    const stored = await fetch(`${dev.url}/v1/streams/s`).then((x) => x.json() as Promise<{ partitionInfo: { next: number }[] }>);
    expect(stored.partitionInfo.map((p) => p.next)).toEqual([0, 0, 0, 0]);
    const down = await sluice(['streams', 'list', '--url', 'http://127.0.0.1:1'], dir);
    expect(down.stderr).toMatch(/^sluice: cannot reach the gateway at http:\/\/127\.0\.0\.1:1: /);
  }, 60_000);

  it('put waits out 429 answers and stores every record exactly once', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'sluice.config.ts'), `export default { gateway: { rateLimit: { recordsPerSecond: 400 } }, streams: { s: { partitions: 1 } } };\n`);
    const dev = await startDev(dir);
    writeFileSync(join(dir, 'in.ndjson'), Array.from({ length: 1000 }, (_, i) => JSON.stringify({ i })).join('\n'));
    const r = await sluice(['put', 's', 'in.ndjson', '--batch', '250', '--url', dev.url], dir);
    expect(r.stdout).toBe('stored 1000, duplicates 0, failed 0\n');
    const res = await fetch(`${dev.url}/v1/streams/s/records?partition=0&limit=2000`).then((x) => x.json() as Promise<{ records: { value: { i: number } }[] }>);
    expect(res.records.map((x) => x.value.i)).toEqual(Array.from({ length: 1000 }, (_, i) => i));
  }, 60_000);
});

describe('sluice dev on the nats engine', () => {
  it('runs the gateway on a real nats-server with --engine, and says clearly when NATS is unreachable or the flag is wrong', async () => {
    const nats = await startNats();
    try {
      const dir = tempDir();
      const dev = await startDev(dir, ['--engine', nats.url]);
      expect(dev.stderr()).toContain(`engine nats at ${nats.url}, replicas 1`);
      expect((await sluice(['streams', 'create', 'ev', '--partitions', '2', '--url', dev.url], dir)).code).toBe(0);
      writeFileSync(join(dir, 'in.ndjson'), Array.from({ length: 700 }, (_, i) => JSON.stringify({ i })).join('\n'));
      expect((await sluice(['put', 'ev', 'in.ndjson', '--url', dev.url], dir)).stdout).toBe('stored 700, duplicates 0, failed 0\n');
      const tail = await sluice(['tail', 'ev', '--from', 'earliest', '--limit', '700', '--url', dev.url], dir);
      expect(tail.stdout.trim().split('\n').map((l) => JSON.parse(l).value.i).sort((a: number, b: number) => a - b)).toEqual(Array.from({ length: 700 }, (_, i) => i));
      dev.child.kill('SIGTERM');
      expect(await dev.exited).toBe(0);
    } finally {
      await nats.stop();
    }
    const down = await sluice(['dev', '--port', '0', '--engine', 'nats://127.0.0.1:1'], tempDir());
    expect(down.code).toBe(1);
    expect(down.stderr).toMatch(/^sluice: cannot connect to NATS at nats:\/\/127\.0\.0\.1:1: /);
    const bad = await sluice(['dev', '--port', '0', '--engine', 'postgres://x'], tempDir());
    expect(bad.code).toBe(2);
    expect(bad.stderr).toBe("sluice: --engine: expected 'sqlite' or nats://host:port[,nats://…], got 'postgres://x'\n");
  }, 60_000);
});

describe('sluice streams list', () => {
  it('hides pipelines\' internal _sluice.* streams unless --all, and says "1 partition"', async () => {
    const g = await startGateway();
    try {
      await g.engine.createStream('clicks', { partitions: 1, retentionMs: 36 * 3_600_000 });
      await g.engine.createStream('_sluice.p.k1', { partitions: 4 });
      const out: string[] = [];
      const write = process.stdout.write;
      process.stdout.write = ((chunk: string) => (out.push(chunk), true)) as typeof process.stdout.write;
      try {
        await listStreams({ url: g.url });
        await listStreams({ url: g.url, all: true });
      } finally {
        process.stdout.write = write;
      }
      expect(out).toEqual(['clicks\t1 partition\tretention 36 h\n', '_sluice.p.k1\t4 partitions\tretention 7 days\n', 'clicks\t1 partition\tretention 36 h\n']);
    } finally {
      await g.close();
    }
  });
});

describe('sluice invoke, logs and functions', () => {
  it('invokes a configured function of a running sluice dev (result, --log, @file, DryRun, Event, a failure exits 1), then shows its logs and describe', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'greet.ts'), `export const handler = async (event: { name?: string; fail?: boolean }) => {\n  console.log('greeting', event.name);\n  if (event.fail) throw new RangeError('no ' + event.name);\n  return { hi: event.name };\n};\n`);
    writeFileSync(join(dir, 'sluice.config.ts'), `export default { functions: { greet: { handler: './greet.ts', concurrency: 2, triggers: [{ schedule: 'rate(1 hour)', name: 'hourly' }] } } };\n`);
    writeFileSync(join(dir, 'event.json'), '{"name":"file"}');
    const { url } = await startDev(dir);
    const ok = await sluice(['invoke', 'greet', '--payload', '{"name":"ana"}', '--log', '--url', url], dir);
    expect([ok.code, ok.stdout]).toEqual([0, '{"hi":"ana"}\n']);
    const tail = ok.stderr.trimEnd().split('\n');
    expect(tail[0]).toMatch(/^START RequestId: ([0-9a-f-]{36}) Version: \$LATEST$/);
    const id = tail[0]!.split(' ')[2]!;
    expect(tail[1]).toMatch(new RegExp(`\\t${id}\\tINFO\\tgreeting ana$`));
    expect([tail[2], tail[3]?.startsWith(`REPORT RequestId: ${id}\tDuration: `)]).toEqual([`END RequestId: ${id}`, true]);
    expect((await sluice(['invoke', 'greet', '--payload', '@event.json', '--url', url], dir)).stdout).toBe('{"hi":"file"}\n');
    expect((await sluice(['invoke', 'greet', '--type', 'DryRun', '--url', url], dir)).stdout).toBe('dry run (204): the payload and your permission are fine\n');
    const failed = await sluice(['invoke', 'greet', '--payload', '{"name":"bo","fail":true}', '--url', url], dir);
    expect([failed.code, JSON.parse(failed.stdout)]).toEqual([1, { errorType: 'RangeError', errorMessage: 'no bo', trace: expect.any(Array) }]);
    expect(await sluice(['invoke', 'greet', '--payload', '{nope', '--url', url], dir)).toMatchObject({ code: 2, stderr: expect.stringMatching(/^sluice: --payload is not JSON: /) });
    expect(await sluice(['invoke', 'nope', '--url', url], dir)).toMatchObject({ code: 1, stderr: expect.stringMatching(/^sluice: 404 ResourceNotFoundException: Function not found: /) });
    expect(await sluice(['invoke', 'greet', '--type', 'Event', '--payload', '{"name":"later"}', '--url', url], dir)).toMatchObject({ code: 0, stdout: 'queued (202): the function runs asynchronously\n' });
    // The asynchronous one runs soon; its log arrives with the others (logs are written every 200 ms).
    let logs = '';
    for (let i = 0; i < 100 && !logs.includes('greeting later'); i++) logs = (await sluice(['logs', 'greet', '--url', url], dir)).stdout;
    expect(logs.match(/^START RequestId: /gm)).toHaveLength(4); // ana, file, bo, later (not the dry run)
    expect(logs).toContain('\tERROR\tInvoke Error \t{"errorType":"RangeError","errorMessage":"no bo"');
    const one = (await sluice(['logs', 'greet', '--request-id', id, '--url', url], dir)).stdout.trimEnd().split('\n');
    expect([one.length, one[0], one[2]]).toEqual([4, tail[0], `END RequestId: ${id}`]);
    const described = await sluice(['functions', 'describe', 'greet', '--url', url], dir);
    expect(described.code).toBe(0);
    const text = described.stdout.split('\n');
    expect(text[0]).toBe('greet  arn:aws:lambda:us-east-1:000000000000:function:greet');
    expect(text[1]).toBe(`  thread runtime, handler ./greet.ts, timeout 3 s, memory 128 MB, concurrency 2`);
    expect(text[4]).toBe('  Invocations 4  Errors 1  Throttles 0  ConcurrentExecutions 0  DestinationDeliveryFailures 0');
    expect(text[5]).toMatch(/^ {2}Duration avg [\d.]+ ms, p50 [\d.]+ ms, p99 [\d.]+ ms, max [\d.]+ ms \(last 4\)$/);
    expect(described.stdout).toMatch(/\nschedule 'hourly': rate\(1 hour\) \(UTC\), ENABLED; 0 runs, 0 failed, 0 skipped, 0 missed\n {2}next: \d{4}-/);
    const json = JSON.parse((await sluice(['functions', 'describe', 'greet', '--json', '--url', url], dir)).stdout);
    expect(json.metrics).toMatchObject({ Invocations: 4, Errors: 1, Throttles: 0, IteratorAge: null });
    expect((await sluice(['functions', 'list', '--url', url], dir)).stdout).toBe('greet\tthread\t./greet.ts\tinvocations 4\terrors 1\n');
  }, 180_000); // ~14 CLI processes one after another, each a cold start of node and tsx
});

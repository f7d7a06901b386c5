// The `sluice` command as real processes for tests: one-shot commands, and `sluice dev` servers
// that can be stopped with SIGTERM or killed with kill -9. Every server still running when the test
// file ends is killed.
import { spawn, type ChildProcess } from 'node:child_process';
import { afterAll } from 'vitest';

export const SLUICE_BIN = new URL('../../src/cli/bin.ts', import.meta.url).pathname;
/** Absolute, so that a child whose cwd is a temp dir still finds it. */
export const TSX_LOADER = new URL('../../node_modules/tsx/dist/loader.mjs', import.meta.url).href;
const STARTUP_MS = 60_000; // a cold tsx start of the CLI and its functions on a loaded 2-core machine

const running = new Set<ChildProcess>();
afterAll(() => {
  for (const c of running) c.kill('SIGKILL');
  running.clear();
});

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `node --import tsx <script> …args` to its end (a producer, a tool of an example). */
export function runNode(script: string, args: string[], o: { cwd?: string; env?: NodeJS.ProcessEnv; input?: string } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', TSX_LOADER, script, ...args], { cwd: o.cwd, env: o.env ?? process.env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.stdin.end(o.input);
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Runs one `sluice …` command to its end; SLUICE_URL and SLUICE_API_KEY are cleared unless `env` sets them. */
export function sluice(args: string[], o: { cwd?: string; env?: NodeJS.ProcessEnv; input?: string } = {}): Promise<RunResult> {
  return runNode(SLUICE_BIN, args, { ...o, env: { ...process.env, SLUICE_URL: '', SLUICE_API_KEY: '', ...o.env } });
}

export interface DevServer {
  child: ChildProcess;
  pid: number;
  /** The gateway's URL, from its 'listening on' line. */
  url: string;
  stderr(): string;
  /** Resolves with the exit code (null when killed by a signal). */
  exited: Promise<number | null>;
  /** SIGTERM: a clean stop; resolves with the exit code. */
  stop(): Promise<number | null>;
  /** kill -9, as a crash. */
  kill9(): Promise<void>;
}

export interface DevOptions {
  dataDir: string;
  config?: string;
  /** Default 0: a free port chosen by the system. */
  port?: number;
  cwd?: string;
  args?: string[];
  env?: NodeJS.ProcessEnv;
  /** A text of its log to wait for as well (a pipeline or archive running), besides listening. */
  readyWhen?: string;
}

/** Starts `sluice dev` and resolves once it listens (after its pipelines and functions run) and has logged `readyWhen`. */
export function startDev(o: DevOptions): Promise<DevServer> {
  const args = ['--import', TSX_LOADER, SLUICE_BIN, 'dev', '--port', String(o.port ?? 0), '--data-dir', o.dataDir, ...(o.config ? ['--config', o.config] : []), ...(o.args ?? [])];
  const child = spawn(process.execPath, args, { cwd: o.cwd, env: { ...process.env, ...o.env }, stdio: ['ignore', 'ignore', 'pipe'] });
  running.add(child);
  let stderr = '';
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => (running.delete(child), resolve(code))));
  const signal = (sig: NodeJS.Signals) => {
    if (child.exitCode === null && child.signalCode === null) child.kill(sig);
    return exited;
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`sluice dev did not listen within ${STARTUP_MS / 1000} s:\n${stderr}`));
    }, STARTUP_MS);
    child.stderr!.on('data', (d) => {
      stderr += d;
      const m = /listening on (http:\/\/[^\s]+)/.exec(stderr);
      if (m && (o.readyWhen === undefined || stderr.includes(o.readyWhen))) {
        clearTimeout(timer);
        resolve({ child, pid: child.pid!, url: m[1]!, stderr: () => stderr, exited, stop: () => signal('SIGTERM'), kill9: async () => void (await signal('SIGKILL')) });
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`sluice dev exited with ${code} before it listened:\n${stderr}`));
    });
  });
}

/** Polls `probe` until it returns a value other than undefined, at most `timeoutMs`; throws naming `what` otherwise. */
export async function eventually<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, o: { timeoutMs?: number; stepMs?: number } = {}): Promise<T> {
  const deadline = Date.now() + (o.timeoutMs ?? 20_000);
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, o.stepMs ?? 50));
  }
}

/** A record as the gateway's native API reads it: `value` when its bytes are JSON, else `data` (base64). */
export interface ReadRecord {
  partition: number;
  offset: number;
  timestamp: number;
  key?: string;
  value?: unknown;
  data?: string;
}

/** Every retained record of a stream through the gateway's native API, partition by partition, in offset order. */
export async function readStream(url: string, stream: string): Promise<ReadRecord[]> {
  const info = await fetch(`${url}/v1/streams/${encodeURIComponent(stream)}`);
  if (info.status !== 200) throw new Error(`GET /v1/streams/${stream}: ${info.status} ${await info.text()}`);
  const { partitions } = (await info.json()) as { partitions: number };
  const out: ReadRecord[] = [];
  for (let p = 0; p < partitions; p++) {
    for (let from: number | 'earliest' = 'earliest'; ;) {
      const res = await fetch(`${url}/v1/streams/${encodeURIComponent(stream)}/records?partition=${p}&from=${from}&limit=10000`);
      const page = (await res.json()) as { records: ReadRecord[]; next: number };
      out.push(...page.records);
      if (page.records.length === 0) break;
      from = page.next;
    }
  }
  return out;
}

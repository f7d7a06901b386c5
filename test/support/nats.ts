// Real nats-server processes with JetStream, on loopback ports in temporary directories.
// A missing nats-server fails the test (CI installs the Debian package); it never skips.
// No vitest import here: bench/ uses it too.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';

export const NATS_SERVER = process.env.NATS_SERVER ?? 'nats-server';

export async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

export class NatsServer {
  private child?: ChildProcess;
  private stopping = false;
  constructor(readonly name: string, readonly port: number, private readonly configFile: string, private readonly storeDir: string) {}

  get url(): string {
    return `nats://127.0.0.1:${this.port}`;
  }

  start(): void {
    this.stopping = false;
    if (spawnSync(NATS_SERVER, ['--version']).status !== 0) throw new Error(`${NATS_SERVER} is not installed: apt-get install nats-server`);
    this.child = spawn(NATS_SERVER, ['-c', this.configFile], { stdio: ['ignore', 'ignore', 'pipe'] });
    let log = '';
    this.child.stderr!.on('data', (d) => (log = (log + d).slice(-4000)));
    this.child.on('exit', (code, signal) => {
      if (code && !signal && !this.stopping) process.stderr.write(`nats-server ${this.name} exited ${code}: ${log}\n`);
    });
  }

  /** kill -9, as a crash. */
  kill(): Promise<void> {
    this.stopping = true;
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
    return new Promise((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGKILL');
    });
  }

  /** SIGSTOP: the server keeps its connections and answers nothing (a stall, a long GC pause); what is sent meanwhile waits in its socket. */
  pause(): void {
    const pid = this.child?.pid;
    if (pid === undefined) return;
    this.child!.kill('SIGSTOP');
    // kill() only queues the signal: wait until the kernel has stopped the process, so that nothing sent after pause() is answered.
    for (let i = 0; i < 1_000_000 && !isStopped(pid); i++);
  }

  /** SIGCONT after pause(): the server reads what waited, in order. */
  resume(): void {
    this.child?.kill('SIGCONT');
  }

  /** Stops the server and removes its store. */
  async stop(): Promise<void> {
    this.stopping = true;
    const child = this.child;
    if (child && child.exitCode === null && child.signalCode === null) {
      await new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGCONT'); // a paused server would not act on the SIGTERM
        child.kill('SIGTERM');
      });
    }
    rmSync(this.storeDir, { recursive: true, force: true });
  }
}

/** A process' state in /proc is T (stopped by a signal). */
const isStopped = (pid: number) => /\) T /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));

/** One server with JetStream and an 8 MB max_payload (Sluice batches can be large); `maxFileStore` caps JetStream's storage (bytes). */
export async function startNats(options: { maxFileStore?: number } = {}): Promise<NatsServer> {
  const [server] = await startServers(1, options.maxFileStore === undefined ? '' : `max_file_store: ${options.maxFileStore}`);
  return server!;
}

/** `n` servers; with n > 1 they form a cluster with routes on loopback. `jetstream`: more settings of the jetstream block. */
export async function startServers(n: number, jetstream = ''): Promise<NatsServer[]> {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-nats-'));
  const ports = await Promise.all(Array.from({ length: n }, () => freePort()));
  const routes = await Promise.all(Array.from({ length: n }, () => freePort()));
  const servers = ports.map((port, i) => {
    const file = join(dir, `n${i}.conf`);
    const cluster = n > 1
      ? `cluster { name: sluice, listen: "127.0.0.1:${routes[i]}", routes: [${routes.map((r) => `"nats-route://127.0.0.1:${r}"`).join(', ')}] }`
      : '';
    writeFileSync(file, `server_name: n${i}\nlisten: "127.0.0.1:${port}"\nmax_payload: 8MB\njetstream {\n  store_dir: "${join(dir, `n${i}`)}"\n  ${jetstream}\n}\n${cluster}\n`);
    return new NatsServer(`n${i}`, port, file, join(dir, `n${i}`));
  });
  for (const s of servers) s.start();
  await Promise.all(servers.map((s) => waitReady(s.url)));
  if (n > 1) await waitPeers(servers[0]!.url, n);
  return servers;
}

/**
 * Waits until a stream of `n` replicas can be placed: a meta leader answers before every server has
 * joined the JetStream group, and an R3 stream made then fails with 'no suitable peers for placement'.
 */
async function waitPeers(url: string, n: number, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const nc = await connect({ servers: url, timeout: 1000 });
  try {
    const jsm = await jetstreamManager(nc, { timeout: 5000 });
    const name = `placement_probe_${process.pid}`;
    for (;;) {
      try {
        await jsm.streams.add({ name, subjects: [`${name}.>`], num_replicas: n });
        await jsm.streams.delete(name);
        return;
      } catch (e) {
        if (Date.now() > deadline) throw new Error(`the ${n} nats-servers did not form a JetStream group: ${(e as Error).message}`);
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  } finally {
    await nc.close();
  }
}

/** Waits until the server answers JetStream requests (in a cluster: a meta leader exists). */
export async function waitReady(url: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const nc = await connect({ servers: url, timeout: 1000, reconnect: false });
      try {
        await (await jetstreamManager(nc, { timeout: 1000 })).getAccountInfo();
        return;
      } finally {
        await nc.close();
      }
    } catch (e) {
      if (Date.now() > deadline) throw new Error(`nats-server at ${url} not ready: ${(e as Error).message}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

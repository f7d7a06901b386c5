// A real PostgreSQL server (Debian's `postgresql` package) for tests and benchmarks: initdb into a
// temporary directory, `postgres` on a free loopback port with its socket in that directory. As
// root it runs as `nobody` (postgres refuses root), through setpriv, which execs: the child is the
// server itself, so kill -9 of it is a crash of PostgreSQL. A missing package fails; it never skips.
// No vitest import here: bench/ uses it too.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { freePort } from './nats.js';

/** The newest /usr/lib/postgresql/<version>/bin, or $PG_BIN. */
export function postgresBin(): string {
  if (process.env.PG_BIN) return process.env.PG_BIN;
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).filter((v) => existsSync(join(root, v, 'bin', 'postgres'))).sort((a, b) => Number(b) - Number(a)) : [];
  if (versions.length === 0) throw new Error('PostgreSQL is not installed: apt-get install postgresql (scripts/test-deps.sh does it as root)');
  return join(root, versions[0]!, 'bin');
}

const NOBODY = { uid: 65534, gid: 65534 };
const asRoot = () => process.getuid?.() === 0;

/** A command line as the server's user: setpriv to nobody when we are root. */
function asServerUser(cmd: string, args: string[]): [string, string[]] {
  if (!asRoot()) return [cmd, args];
  return ['setpriv', [`--reuid=${NOBODY.uid}`, `--regid=${NOBODY.gid}`, '--clear-groups', '--', cmd, ...args]];
}

export class PostgresServer {
  private child?: ChildProcess;
  private log = '';

  constructor(readonly dir: string, readonly port: number, private readonly bin: string) {}

  /** A connection string for the `postgres` database as the superuser `sluice` (trust auth on loopback). */
  get url(): string {
    return `postgres://sluice@127.0.0.1:${this.port}/postgres`;
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Starts the server on its data directory and waits until it accepts connections. */
  async start(): Promise<void> {
    const [cmd, args] = asServerUser(join(this.bin, 'postgres'), [
      '-D', join(this.dir, 'data'), '-p', String(this.port), '-k', this.dir, '-h', '127.0.0.1',
      // A test server: durability is not what is tested here (crashes of Sluice are).
      '-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off', '-c', 'max_connections=200',
    ]);
    this.log = '';
    const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    this.child = child;
    child.stderr!.on('data', (d) => (this.log = (this.log + d).slice(-8000)));
    await this.waitReady();
  }

  /** Server log lines (the last 8 KB), for a failure's message. */
  get output(): string {
    return this.log;
  }

  /** kill -9 of the server (a crash; it recovers from its WAL on the next start). */
  kill(): Promise<void> {
    return this.signal('SIGKILL');
  }

  /** A fast shutdown (SIGINT: clients are disconnected, open transactions roll back). */
  stop(): Promise<void> {
    return this.signal('SIGINT');
  }

  /** Stops the server and removes its directory. */
  async destroy(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** A new database, empty; returns its connection string. */
  async createDatabase(name: string): Promise<string> {
    const c = new pg.Client({ connectionString: this.url });
    await c.connect();
    try {
      await c.query(`CREATE DATABASE "${name}"`);
    } finally {
      await c.end();
    }
    return this.url.replace(/\/postgres$/, `/${name}`);
  }

  private signal(sig: NodeJS.Signals): Promise<void> {
    const child = this.child;
    if (!child || !this.running) return Promise.resolve();
    return new Promise((resolve) => {
      child.once('exit', () => resolve());
      child.kill(sig);
    });
  }

  private async waitReady(timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (!this.running) throw new Error(`postgres exited at start:\n${this.log}`);
      const c = new pg.Client({ connectionString: this.url, connectionTimeoutMillis: 1000 });
      try {
        await c.connect();
        await c.query('SELECT 1');
        await c.end();
        return;
      } catch (e) {
        await c.end().catch(() => {});
        if (Date.now() > deadline) throw new Error(`postgres on port ${this.port} not ready: ${(e as Error).message}\n${this.log}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  }
}

/** initdb into a fresh temporary directory and start the server on a free port. */
export async function startPostgres(): Promise<PostgresServer> {
  const bin = postgresBin();
  const dir = mkdtempSync(join(tmpdir(), 'sluice-pg-'));
  if (asRoot()) chownSync(dir, NOBODY.uid, NOBODY.gid);
  const [cmd, args] = asServerUser(join(bin, 'initdb'), ['-D', join(dir, 'data'), '-U', 'sluice', '--auth=trust', '--no-sync', '-E', 'UTF8', '--locale=C']);
  const r = spawnSync(cmd, args, { encoding: 'utf8', cwd: dir });
  if (r.status !== 0) throw new Error(`initdb failed (${r.status}): ${r.stderr || r.error?.message}`);
  const server = new PostgresServer(dir, await freePort(), bin);
  await server.start();
  return server;
}

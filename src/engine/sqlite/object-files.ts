// The files behind the sqlite engine's objects: staged under `staging/<process tag>-<id>`, hard-
// linked to `data/<id[0..1]>/<id>` inside the commit that makes them visible (decision 018).
// A process tag is pid + the process' start time, so leftovers of a dead process (also one with
// the same pid, as pid 1 in a container) are told apart from those of a live one.
import { closeSync, existsSync, fsyncSync, linkSync, mkdirSync, openSync, readdirSync, readFileSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';

/** This process' tag: `<pid>.<start time in clock ticks>` (Linux), `<pid>.0` elsewhere. */
export const PROCESS_TAG = `${process.pid}.${startTimeOf(process.pid) ?? 0}`;

function startTimeOf(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

/** Whether the process that tagged a staging file may still be writing it. */
export function tagAlive(tag: string): boolean {
  if (tag === PROCESS_TAG) return true;
  const [pidText, start] = tag.split('.');
  const pid = Number(pidText);
  if (!Number.isInteger(pid) || pid <= 0) return false;
  if (existsSync('/proc/self/stat')) return startTimeOf(pid) === start;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export class ObjectFiles {
  readonly staging: string;
  private readonly data: string;
  private readonly made = new Set<string>();

  constructor(root: string, private readonly fsync: boolean) {
    this.staging = join(root, 'staging');
    this.data = join(root, 'data');
    mkdirSync(this.staging, { recursive: true });
    mkdirSync(this.data, { recursive: true });
  }

  stagingPath(id: string, tag = PROCESS_TAG): string {
    return join(this.staging, `${tag}-${id}`);
  }

  dataPath(id: string): string {
    return join(this.data, id.slice(0, 2), id);
  }

  /** Gives a staged file its data name (the staged name stays until the commit is durable). */
  link(id: string): void {
    const dir = join(this.data, id.slice(0, 2));
    if (!this.made.has(dir)) {
      mkdirSync(dir, { recursive: true });
      this.made.add(dir);
    }
    linkSync(this.stagingPath(id), this.dataPath(id));
  }

  /** fsyncs the data directories links went into (durability 'fsync', before COMMIT). */
  syncDirs(ids: Iterable<string>): void {
    if (!this.fsync) return;
    for (const dir of new Set([...ids].map((id) => join(this.data, id.slice(0, 2))))) {
      const fd = openSync(dir, 'r');
      try {
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
    }
  }

  /** Staging files: their tag and id. */
  stagedLeftovers(): { tag: string; id: string; path: string }[] {
    return readdirSync(this.staging).flatMap((f) => {
      const at = f.lastIndexOf('-');
      return at > 0 ? [{ tag: f.slice(0, at), id: f.slice(at + 1), path: join(this.staging, f) }] : [];
    });
  }
}

/** unlink, ignoring a file already gone. */
export function unlinkQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
}

/** Whether an error says the disk (or quota, or SQLite's file) is full. */
export const isFull = (e: unknown): boolean => ['ENOSPC', 'EDQUOT', 'SQLITE_FULL'].includes((e as NodeJS.ErrnoException)?.code ?? '');

// Blobs of the embedded engine: plain files in a directory, written to a temporary name and
// renamed so a reader never sees half a blob.
import { mkdir, readFile, readdir, rename, rm, stat, writeFile, open } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import type { BlobInfo } from '../engine.js';
import { checkBlobName } from '../validate.js';


export class DirectoryBlobs {
  private seq = 0;
  constructor(private readonly root: string, private readonly fsync: boolean) {}

  async put(name: string, data: Uint8Array): Promise<void> {
    checkBlobName(name);
    const path = join(this.root, name);
    await mkdir(dirname(path), { recursive: true });
    const tmp = join(this.root, `.tmp-${process.pid}-${this.seq++}`);
    if (this.fsync) {
      const fh = await open(tmp, 'w');
      try {
        await fh.writeFile(data);
        await fh.sync();
      } finally {
        await fh.close();
      }
    } else {
      await writeFile(tmp, data);
    }
    await rename(tmp, path);
  }

  async get(name: string): Promise<Uint8Array | undefined> {
    checkBlobName(name);
    try {
      return await readFile(join(this.root, name));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw e;
    }
  }

  async list(prefix: string): Promise<BlobInfo[]> {
    const out: BlobInfo[] = [];
    let entries: string[];
    try {
      entries = await readdir(this.root, { recursive: true });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return out;
      throw e;
    }
    for (const entry of entries) {
      const name = relative(this.root, join(this.root, entry)).split(sep).join('/');
      if (!name.startsWith(prefix) || name.split('/').some((s) => s.startsWith('.'))) continue;
      const st = await stat(join(this.root, entry));
      if (st.isFile()) out.push({ name, size: st.size, modified: st.mtimeMs });
    }
    return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  async delete(name: string): Promise<boolean> {
    checkBlobName(name);
    try {
      await rm(join(this.root, name));
      return true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw e;
    }
  }
}

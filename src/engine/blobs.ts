// Whole small objects ("blobs": archives, large payloads) over the object calls of the engine
// contract, so every engine has one storage path (decision 018). Names are checked by
// checkBlobName (no '..' segments, nothing hidden), stricter than object names.
import type { BlobInfo, CallOptions, Engine } from './engine.js';
import { checkBlobName } from './validate.js';

export async function putBlob(engine: Engine, name: string, data: Uint8Array, call?: CallOptions): Promise<void> {
  checkBlobName(name);
  const staged = await engine.stageObject(data, call);
  try {
    await engine.commit({ objects: [{ name, content: staged }] }, call);
  } catch (e) {
    await engine.discardStaged(staged).catch(() => {});
    throw e;
  }
}

export async function getBlob(engine: Engine, name: string, call?: CallOptions): Promise<Uint8Array | undefined> {
  checkBlobName(name);
  const opened = await engine.openObject(name, call);
  if (!opened) return undefined;
  const chunks: Buffer[] = [];
  for await (const chunk of opened.body) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

export async function listBlobs(engine: Engine, prefix: string, call?: CallOptions): Promise<BlobInfo[]> {
  const out: BlobInfo[] = [];
  let cursor: string | undefined;
  do {
    const page = await engine.listObjects({ prefix, ...(cursor !== undefined ? { cursor } : {}), ...call });
    for (const o of page.objects) out.push({ name: o.name, size: o.size, modified: o.modified });
    cursor = page.next;
  } while (cursor !== undefined);
  return out;
}

export async function deleteBlob(engine: Engine, name: string, call?: CallOptions): Promise<boolean> {
  checkBlobName(name);
  const { objects } = await engine.commit({ objects: [{ name, content: null }] }, call);
  const [done] = objects;
  return done !== undefined && done.deleted && done.existed;
}

// A body whose reads an AbortSignal interrupts, for staging. The engines' stageObject takes a
// signal too, but races every read against one promise that lives as long as the upload, and each
// such race keeps its chunk reachable until that promise settles: a 200 MiB upload held 200 MiB.
// Here each read waits on a listener of its own, removed when the read settles.
import type { ObjectBody } from '../engine/engine.js';

/** The body's chunks; an abort rejects even a read that waits (a stalled upload), and closes the body. */
export function interruptible(body: ObjectBody, signal: AbortSignal | undefined): ObjectBody {
  if (!signal || body instanceof Uint8Array) return body;
  return chunks(body, signal);
}

async function* chunks(body: AsyncIterable<Uint8Array>, signal: AbortSignal): AsyncGenerator<Uint8Array> {
  const it = body[Symbol.asyncIterator]();
  let done = false;
  try {
    for (;;) {
      signal.throwIfAborted();
      const r = await nextOrAbort(it, signal);
      if (r.done) {
        done = true;
        return;
      }
      yield r.value;
    }
  } finally {
    if (!done) void Promise.resolve(it.return?.()).catch(() => {});
  }
}

function nextOrAbort<T>(it: AsyncIterator<T>, signal: AbortSignal): Promise<IteratorResult<T>> {
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    it.next().then(
      (r) => (signal.removeEventListener('abort', onAbort), resolve(r)),
      (e: unknown) => (signal.removeEventListener('abort', onAbort), reject(e)),
    );
  });
}

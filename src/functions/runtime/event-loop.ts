// Inside a worker: "the event loop is empty" as Lambda's callbackWaitsForEmptyEventLoop means it.
// A worker's loop never empties (the channel to the pool keeps it alive), so empty means: nothing
// keeps it alive beyond what the runtime itself held before the handler's module was loaded
// (process.getActiveResourcesInfo(): ref'd timers, sockets, pending requests; unref'd ones don't count).

let baseline = new Map<string, number>();

const count = (types: string[]): Map<string, number> => {
  const m = new Map<string, number>();
  for (const t of types) m.set(t, (m.get(t) ?? 0) + 1);
  return m;
};

/** Records what the runtime's own loop holds; called once, before the handler's module loads. */
export function markLoopBaseline(): void {
  baseline = count(process.getActiveResourcesInfo());
}

/** True when the loop holds no more than the baseline. */
export function loopIsEmpty(): boolean {
  const now = process.getActiveResourcesInfo();
  if (now.length === 0) return true;
  for (const [type, n] of count(now)) if (n > (baseline.get(type) ?? 0)) return false;
  return true;
}

const FIRST_POLL_MS = 1;
const MAX_POLL_MS = 50;

/** Calls `then` once the loop is empty (checked after pending callbacks ran, then polled with backoff), unless `cancelled()`. */
export function whenLoopEmpty(cancelled: () => boolean, then: () => void): void {
  let delay = FIRST_POLL_MS;
  const check = () => {
    if (cancelled()) return;
    if (loopIsEmpty()) return then();
    setTimeout(check, delay).unref();
    delay = Math.min(MAX_POLL_MS, delay * 2);
  };
  setImmediate(check);
}

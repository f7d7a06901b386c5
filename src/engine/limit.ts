// Bounded concurrency for engine calls that fan out: never more than `limit` requests in flight,
// so one call holds a bounded amount of memory and of the server's attention.

/** Runs `fn` on every item, at most `limit` at a time; results in input order. Rejects with the first error. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

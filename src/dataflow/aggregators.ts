// Aggregators: { create, add, merge, result } with JSON-serialisable accumulators, so window
// state can live in the engine and be pre-aggregated before a shuffle. `add` and `merge` may
// update their first accumulator in place and return it (the built-ins with object accumulators
// do: no allocation per record); callers always keep what they return.

export interface Aggregator<T, Acc, Out> {
  create(): Acc;
  add(acc: Acc, value: T): Acc;
  merge(a: Acc, b: Acc): Acc;
  result(acc: Acc): Out;
  /**
   * The accumulator grows with what it sees (distinct values, a sample): a window then saves each
   * epoch only an accumulator of that epoch's records, merged back when loaded, instead of its
   * whole accumulator (decision 007). Records are added to both. Default: saved whole.
   */
  grows?: boolean;
}

/** The output type of an aggregator. */
export type OutputOf<A> = A extends Aggregator<any, any, infer O> ? O : never;

export const count = <T = unknown>(): Aggregator<T, number, number> => ({
  create: () => 0,
  add: (n) => n + 1,
  merge: (a, b) => a + b,
  result: (n) => n,
});

export const sum = <T>(of: (v: T) => number): Aggregator<T, number, number> => ({
  create: () => 0,
  add: (s, v) => s + of(v),
  merge: (a, b) => a + b,
  result: (s) => s,
});

export const min = <T>(of: (v: T) => number): Aggregator<T, number | null, number | null> => ({
  create: () => null,
  add: (m, v) => (m === null ? of(v) : Math.min(m, of(v))),
  merge: (a, b) => (a === null ? b : b === null ? a : Math.min(a, b)),
  result: (m) => m,
});

export const max = <T>(of: (v: T) => number): Aggregator<T, number | null, number | null> => ({
  create: () => null,
  add: (m, v) => (m === null ? of(v) : Math.max(m, of(v))),
  merge: (a, b) => (a === null ? b : b === null ? a : Math.max(a, b)),
  result: (m) => m,
});

export const avg = <T>(of: (v: T) => number): Aggregator<T, [sum: number, n: number], number | null> => ({
  create: () => [0, 0],
  add: (acc, v) => {
    acc[0] += of(v);
    acc[1]++;
    return acc;
  },
  merge: (a, b) => {
    a[0] += b[0];
    a[1] += b[1];
    return a;
  },
  result: ([s, n]) => (n === 0 ? null : s / n),
});

/**
 * The values of a distinct-count accumulator as a set, built once per accumulator array (a loaded or
 * spilled accumulator is a new array): membership in O(1) instead of a scan of the array per record.
 */
const seenSets = new WeakMap<(string | number)[], Set<string | number>>();
function seenSet(seen: (string | number)[]): Set<string | number> {
  let set = seenSets.get(seen);
  if (!set) seenSets.set(seen, (set = new Set(seen)));
  return set;
}

/** Exact distinct count (the accumulator holds the distinct values, in the order first seen). */
export const distinctCount = <T>(of: (v: T) => string | number): Aggregator<T, (string | number)[], number> => ({
  grows: true,
  create: () => [],
  add: (seen, v) => {
    const x = of(v);
    const set = seenSet(seen);
    if (!set.has(x)) {
      set.add(x);
      seen.push(x);
    }
    return seen;
  },
  merge: (a, b) => {
    const set = seenSet(a);
    for (const x of b) {
      if (set.has(x)) continue;
      set.add(x);
      a.push(x);
    }
    return a;
  },
  result: (seen) => seen.length,
});

/** Combines named aggregators into one whose result is an object of their results. */
export function combine<T, A extends Record<string, Aggregator<T, any, any>>>(aggs: A): Aggregator<T, Record<string, unknown>, { [K in keyof A]: OutputOf<A[K]> }> {
  const parts = Object.entries(aggs);
  return {
    grows: parts.some(([, a]) => a.grows === true),
    create: () => Object.fromEntries(parts.map(([n, a]) => [n, a.create()])),
    add: (acc, v) => {
      for (const [n, a] of parts) acc[n] = a.add(acc[n], v);
      return acc;
    },
    merge: (acc, b) => {
      for (const [n, a] of parts) acc[n] = a.merge(acc[n], b[n]);
      return acc;
    },
    result: (acc) => Object.fromEntries(parts.map(([n, a]) => [n, a.result(acc[n])])) as { [K in keyof A]: OutputOf<A[K]> },
  };
}

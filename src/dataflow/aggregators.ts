// Aggregators: { create, add, merge, result } with JSON-serialisable accumulators, so window
// state can live in the engine and be pre-aggregated before a shuffle.

export interface Aggregator<T, Acc, Out> {
  create(): Acc;
  add(acc: Acc, value: T): Acc;
  merge(a: Acc, b: Acc): Acc;
  result(acc: Acc): Out;
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
  add: ([s, n], v) => [s + of(v), n + 1],
  merge: (a, b) => [a[0] + b[0], a[1] + b[1]],
  result: ([s, n]) => (n === 0 ? null : s / n),
});

/** Exact distinct count (the accumulator holds the distinct values). */
export const distinctCount = <T>(of: (v: T) => string | number): Aggregator<T, (string | number)[], number> => ({
  create: () => [],
  add: (seen, v) => {
    const x = of(v);
    return seen.includes(x) ? seen : [...seen, x];
  },
  merge: (a, b) => [...new Set([...a, ...b])],
  result: (seen) => seen.length,
});

/** Combines named aggregators into one whose result is an object of their results. */
export function combine<T, A extends Record<string, Aggregator<T, any, any>>>(aggs: A): Aggregator<T, Record<string, unknown>, { [K in keyof A]: OutputOf<A[K]> }> {
  const names = Object.keys(aggs);
  return {
    create: () => Object.fromEntries(names.map((n) => [n, aggs[n]!.create()])),
    add: (acc, v) => Object.fromEntries(names.map((n) => [n, aggs[n]!.add(acc[n], v)])),
    merge: (a, b) => Object.fromEntries(names.map((n) => [n, aggs[n]!.merge(a[n], b[n])])),
    result: (acc) => Object.fromEntries(names.map((n) => [n, aggs[n]!.result(acc[n])])) as { [K in keyof A]: OutputOf<A[K]> },
  };
}

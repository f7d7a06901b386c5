// What GET /v1/observe/dependencies answers: each dependency's resilience counters summed over the
// threads that call it (every thread has its own policies), its breakers' states, and the main
// thread's server-wide retry budget (decision 017).
import type { CircuitState, DependencyStats, RetryBudget } from '../resilience/index.js';

type Count = Exclude<keyof DependencyStats, 'name' | 'breakerState' | 'breakerTransitions'>;
const COUNTS: Count[] = ['calls', 'successes', 'failures', 'attempts', 'retries', 'budgetRefusals', 'timeouts', 'bulkheadRejections', 'breakerRejections'];

/** The breaker state a dependency shows when its threads disagree: the worst. */
const WORST: (CircuitState | 'none')[] = ['open', 'half-open', 'closed', 'none'];

export type DependencyView = Record<Count, number> & {
  name: string;
  /** Threads calling it (each with its own policies and breaker). */
  threads: number;
  /** The worst of its threads' breaker states: open, then half-open, closed, none (no breaker). */
  breakerState: CircuitState | 'none';
  /** Its threads' breakers, by state. */
  breakerStates: Partial<Record<CircuitState | 'none', number>>;
  /** Breaker transitions, by the state entered, over its threads. */
  breakerTransitions: DependencyStats['breakerTransitions'];
};

export interface DependenciesView {
  dependencies: DependencyView[];
  /** The main thread's server-wide retry budget: the retries it allows now; null without one. */
  serverBudget: { name: string; balance: number } | null;
}

/** The view of `stats` (one entry per dependency and thread), by dependency name. */
export function dependenciesView(stats: readonly DependencyStats[], serverBudget: RetryBudget | undefined): DependenciesView {
  const byName = new Map<string, DependencyView>();
  for (const s of stats) {
    let v = byName.get(s.name);
    if (!v) {
      v = { name: s.name, threads: 0, ...zeroCounts(), breakerState: 'none', breakerStates: {}, breakerTransitions: { open: 0, 'half-open': 0, closed: 0 } };
      byName.set(s.name, v);
    }
    v.threads++;
    for (const k of COUNTS) v[k] += s[k];
    for (const t of ['open', 'half-open', 'closed'] as const) v.breakerTransitions[t] += s.breakerTransitions[t];
    v.breakerStates[s.breakerState] = (v.breakerStates[s.breakerState] ?? 0) + 1;
    if (WORST.indexOf(s.breakerState) < WORST.indexOf(v.breakerState)) v.breakerState = s.breakerState;
  }
  return {
    dependencies: [...byName.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)),
    serverBudget: serverBudget ? { name: serverBudget.name, balance: serverBudget.balance } : null,
  };
}

const zeroCounts = () => Object.fromEntries(COUNTS.map((k) => [k, 0])) as Record<Count, number>;

// Sluice's dependencies (the PostgreSQL databases and webhook origins its sinks call, functions'
// destinations) in /metrics: each dependency's resilience counters, summed over the threads that
// call it (each worker thread has its own policies), read from the latest stats when scraped.
import type { Counter, Gauge } from 'prom-client';
import type { DependencyStats } from '../resilience/index.js';
import type { Metrics } from './metrics.js';

type Count = Exclude<keyof DependencyStats, 'name' | 'breakerState' | 'breakerTransitions'>;

const COUNTERS: [Count, string, string][] = [
  ['calls', 'sluice_dependency_calls_total', 'Calls to a dependency (each with its own retries)'],
  ['failures', 'sluice_dependency_failures_total', 'Calls to a dependency that failed after their retries'],
  ['attempts', 'sluice_dependency_attempts_total', 'Attempts made on a dependency: calls plus retries'],
  ['retries', 'sluice_dependency_retries_total', 'Retries of calls to a dependency'],
  ['budgetRefusals', 'sluice_dependency_budget_refusals_total', 'Retries a retry budget refused'],
  ['timeouts', 'sluice_dependency_timeouts_total', 'Attempts released at their deadline'],
  ['bulkheadRejections', 'sluice_dependency_bulkhead_rejections_total', 'Attempts refused by a full bulkhead'],
  ['breakerRejections', 'sluice_dependency_breaker_rejections_total', 'Attempts refused by an open (or busy half-open) circuit'],
];

/** Registers the dependency metrics; `all()` gives every dependency's stats at each scrape. */
export function dependencyMetrics(m: Metrics, all: () => readonly DependencyStats[]): void {
  for (const [field, name, help] of COUNTERS) {
    m.counter<'dependency'>(name, help, ['dependency'], (c: Counter<'dependency'>) => {
      c.reset();
      for (const s of all()) if (s[field] > 0) c.inc({ dependency: s.name }, s[field]);
    });
  }
  m.counter<'dependency' | 'state'>('sluice_dependency_breaker_transitions_total', 'Circuit breaker transitions of a dependency, by the state entered', ['dependency', 'state'], (c) => {
    c.reset();
    for (const s of all()) for (const [state, n] of Object.entries(s.breakerTransitions)) if (n > 0) c.inc({ dependency: s.name, state }, n);
  });
  m.gauge<'dependency' | 'state'>('sluice_dependency_breaker_state', 'Circuit breakers of a dependency in each state (one per thread calling it)', ['dependency', 'state'], (g: Gauge<'dependency' | 'state'>) => {
    g.reset();
    const counts = new Map<string, number>();
    for (const s of all()) counts.set(`${s.name}\u0000${s.breakerState}`, (counts.get(`${s.name}\u0000${s.breakerState}`) ?? 0) + 1);
    for (const [k, n] of counts) {
      const [dependency, state] = k.split('\u0000') as [string, string];
      g.set({ dependency, state }, n);
    }
  });
}

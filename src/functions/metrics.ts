// Functions' metrics, named after Lambda's (Invocations, Errors, Throttles, Duration,
// ConcurrentExecutions, IteratorAge, DestinationDeliveryFailures) in Prometheus' conventions.
import type { Counter, Histogram } from 'prom-client';
import { DURATION_BUCKETS, type Metrics } from '../observe/metrics.js';
import type { FunctionEntry } from './functions.js';

export interface FunctionMetrics {
  invocations: Counter<'function'>;
  errors: Counter<'function'>;
  throttles: Counter<'function'>;
  duration: Histogram<'function'>;
}

/** Registers the functions' metrics; `entries()` gives the functions to read gauges from when scraped. */
export function functionMetrics(m: Metrics, entries: () => FunctionEntry[]): FunctionMetrics {
  m.gauge<'function'>('sluice_function_concurrent_executions', 'Invocations of a function running now (Lambda: ConcurrentExecutions)', ['function'], (g) => {
    g.reset();
    for (const e of entries()) g.set({ function: e.name }, e.slots.inFlight);
  });
  m.gauge<'function'>('sluice_function_workers', 'Workers (threads or processes) a function has started', ['function'], (g) => {
    g.reset();
    for (const e of entries()) g.set({ function: e.name }, e.runtime.stats.workers);
  });
  m.gauge<'function' | 'stream'>('sluice_function_iterator_age_seconds', 'How old the last record of a stream trigger\'s last batch was when invoked; 0 when caught up (Lambda: IteratorAge, the oldest partition)', ['function', 'stream'], async (g) => {
    g.reset();
    for (const e of entries()) {
      for (const s of await Promise.all(e.mappings.map((x) => x.stats()))) g.set({ function: e.name, stream: s.stream }, Math.max(0, ...s.partitions.map((p) => p.iteratorAgeMs)) / 1000);
    }
  });
  m.counter<'function'>('sluice_function_destination_delivery_failures_total', 'Records a destination (async on-failure/on-success, a stream trigger\'s onFailure) could not store (Lambda: DestinationDeliveryFailures)', ['function'], async (c) => {
    c.reset();
    for (const e of entries()) c.inc({ function: e.name }, e.destinationFailures + (await Promise.all(e.mappings.map((x) => x.stats()))).reduce((n, s) => n + s.destinationDeliveryFailures, 0));
  });
  return {
    invocations: m.counter('sluice_function_invocations_total', 'Invocations of a function, whatever their outcome (Lambda: Invocations)', ['function']),
    errors: m.counter('sluice_function_errors_total', 'Invocations that failed: the handler threw, timed out or ran out of memory (Lambda: Errors)', ['function']),
    throttles: m.counter('sluice_function_throttles_total', 'Synchronous invocations refused because the function ran at its concurrency (Lambda: Throttles)', ['function']),
    duration: m.histogram('sluice_function_duration_seconds', 'Time a handler ran (Lambda: Duration)', ['function'], DURATION_BUCKETS),
  };
}

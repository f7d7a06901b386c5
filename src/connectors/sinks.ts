// The sinks of one thread: each pipeline sink step's Sink, opened on first use from its spec, the
// thread's SQLite tables file, and the resilience dependencies (one per database or webhook
// origin, with the thread's server-wide retry budget) whose breaker transitions are logged once each.
// Sinks to one database or origin share its dependency, so they must ask for one policy.
import { systemClock, type Clock } from '../clock.js';
import { InvalidArgumentError } from '../engine/errors.js';
import { Dependencies, type Dependency, type DependencyOptions, type DependencyStats } from '../resilience/index.js';
import { PostgresSink } from './postgres/index.js';
import type { Sink } from './sink.js';
import type { SinkSpec } from './spec.js';
import { DEFAULT_TABLES_PATH, SqliteTableSink, TablesDb } from './sqlite/index.js';
import { WebhookSink } from './webhook/index.js';

export interface SinkEnv {
  /** The SQLite file of table sinks. Default '.sluice/tables.db'. */
  tablesPath?: string;
  clock?: Clock;
  /** Breaker transitions of the sinks' dependencies, one line each. */
  log?: (line: string, level?: 'info' | 'warn') => void;
  /** The dependencies to use (tests share one); default: the set's own. */
  dependencies?: Dependencies;
}

/**
 * Refuses sink steps that call one database or webhook origin with different policies (at a
 * pipeline's start, before any sink connects): throws SinkSet's InvalidArgumentError naming both.
 */
export function checkSinkPolicies(specs: ReadonlyMap<string, SinkSpec>): void {
  const set = new SinkSet({ dependencies: new Dependencies({ serverBudget: false }) });
  try {
    for (const [name, spec] of specs) if (spec.kind !== 'sqlite') set.get(name, spec);
  } finally {
    void set.close(); // nothing connected: no I/O
  }
}

export class SinkSet {
  private tables?: TablesDb;
  private readonly sinks = new Map<string, Sink>();
  readonly dependencies: Dependencies;
  private readonly made = new Map<string, Dependency>();
  /** Each dependency's options as first asked for, and by which sink step. */
  private readonly asked = new Map<string, { sink: string; options: string }>();
  private readonly subscriptions: (() => void)[] = [];

  constructor(private readonly env: SinkEnv = {}) {
    this.dependencies = env.dependencies ?? new Dependencies({ clock: env.clock ?? systemClock });
  }

  /** The sink of step `name` (opened once). */
  get(name: string, spec: SinkSpec): Sink {
    let sink = this.sinks.get(name);
    if (!sink) this.sinks.set(name, (sink = this.open(name, spec)));
    return sink;
  }

  /** Every dependency's counters (for /metrics and the units' stats). */
  dependencyStats(): DependencyStats[] {
    return [...this.made.values()].map((d) => d.stats);
  }

  async close(): Promise<void> {
    for (const s of this.sinks.values()) await s.close().catch(() => {});
    this.sinks.clear();
    for (const u of this.subscriptions.splice(0)) u();
    for (const d of this.made.values()) d.dispose();
    this.tables?.close();
    this.tables = undefined;
  }

  private open(name: string, spec: SinkSpec): Sink {
    switch (spec.kind) {
      case 'sqlite':
        return new SqliteTableSink(name, (this.tables ??= new TablesDb(this.env.tablesPath ?? DEFAULT_TABLES_PATH)));
      case 'postgres': {
        return new PostgresSink(spec, (dep, options) => this.dependency(name, dep, options));
      }
      case 'webhook':
        return new WebhookSink(spec, (dep, options) => this.dependency(name, dep, options), { clock: this.env.clock });
    }
  }

  /**
   * The dependency named `name`, made with `options` the first time; its breaker's transitions
   * logged. Another sink step asking for it with other options is refused (InvalidArgumentError).
   */
  private dependency(sink: string, name: string, options: Omit<DependencyOptions, 'clock' | 'sharedBudgets'>): Dependency {
    const first = this.asked.get(name);
    const json = JSON.stringify(options);
    if (first && first.options !== json) {
      throw new InvalidArgumentError(
        `sink steps '${first.sink}' and '${sink}' both call ${name} with different policies (${first.options} and ${json}): ` +
          'one database or webhook origin is one dependency — one circuit breaker, one retry budget — so give them the same policy (or none)',
        'policy',
      );
    }
    if (!first) this.asked.set(name, { sink, options: json });
    let d = this.made.get(name);
    if (d) return d;
    d = this.dependencies.policyFor(name, options);
    this.made.set(name, d);
    const log = this.env.log;
    if (d.breaker && log) {
      this.subscriptions.push(d.breaker.onStateChange((e) => {
        const rates = `failure rate ${Math.round(e.failureRate * 100)}%, slow calls ${Math.round(e.slowCallRate * 100)}%`;
        log(`dependency '${name}': circuit ${e.from} → ${e.to} (${e.reason}; ${rates})`, e.to === 'closed' ? 'info' : 'warn');
      }));
    }
    return d;
  }
}

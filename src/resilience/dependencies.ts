// The dependencies of one Sluice process, by name, and the server-wide retry budget they share:
// `dependencies.policyFor('postgres')` is the same Dependency everywhere in the process.
import { systemClock, type Clock } from '../clock.js';
import { InvalidArgumentError } from '../engine/errors.js';
import { RetryBudget, type RetryBudgetOptions } from './budget.js';
import { Dependency, type DependencyOptions, type DependencyStats } from './dependency.js';

export interface DependenciesOptions {
  /** The budget every dependency's retries also draw on, or false for none. Default Finagle's (10 s, 10/s, 20 %). */
  serverBudget?: Omit<RetryBudgetOptions, 'clock' | 'name'> | false;
  /** Injected time, for every dependency. Default: the system clock. */
  clock?: Clock;
}

export class Dependencies {
  /** The server-wide retry budget. */
  readonly serverBudget: RetryBudget | undefined;
  private readonly clock: Clock;
  private readonly byName = new Map<string, Dependency>();

  constructor(options: DependenciesOptions = {}) {
    this.clock = options.clock ?? systemClock;
    this.serverBudget = options.serverBudget === false ? undefined : new RetryBudget({ ...options.serverBudget, name: 'server', clock: this.clock });
  }

  /**
   * The dependency named `name`, made with `options` on first use. Options given for a name that
   * exists already are refused (one dependency, one configuration).
   */
  policyFor(name: string, options?: Omit<DependencyOptions, 'clock' | 'sharedBudgets'>): Dependency {
    const existing = this.byName.get(name);
    if (existing) {
      if (options) throw new InvalidArgumentError(`dependency '${name}' exists already; give its options once`, 'name');
      return existing;
    }
    const shared = this.serverBudget ? [this.serverBudget] : [];
    const dependency = new Dependency(name, { ...options, sharedBudgets: shared, clock: this.clock });
    this.byName.set(name, dependency);
    return dependency;
  }

  /** Every dependency's counters. */
  stats(): DependencyStats[] {
    return [...this.byName.values()].map((d) => d.stats);
  }

  /** Stops every dependency's timer (at shutdown). */
  dispose(): void {
    for (const d of this.byName.values()) d.dispose();
  }
}

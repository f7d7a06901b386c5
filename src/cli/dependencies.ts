// `sluice dependencies`: what the gateway's process knows of the services it calls (PostgreSQL,
// webhooks, NATS): calls, retries, budget refusals and circuit breakers, per dependency.
import type { DependenciesView, DependencyView } from '../observe/dependencies.js';
import { GatewayClient, type ClientOptions } from './client.js';

export async function listDependencies(o: ClientOptions & { json?: boolean }): Promise<void> {
  const view = (await new GatewayClient(o).request('GET', '/v1/observe/dependencies')) as DependenciesView;
  process.stdout.write(o.json ? JSON.stringify(view, null, 2) + '\n' : dependenciesText(view));
}

const COLUMNS: [string, (d: DependencyView) => string][] = [
  ['DEPENDENCY', (d) => d.name],
  ['CALLS', (d) => String(d.calls)],
  ['ATTEMPTS', (d) => String(d.attempts)],
  ['RETRIES', (d) => String(d.retries)],
  ['FAILURES', (d) => String(d.failures)],
  ['TIMEOUTS', (d) => String(d.timeouts)],
  ['BUDGET REFUSALS', (d) => String(d.budgetRefusals)],
  ['BREAKER', breaker],
  ['TRANSITIONS', (d) => `open ${d.breakerTransitions.open}, half-open ${d.breakerTransitions['half-open']}, closed ${d.breakerTransitions.closed}`],
];

/** A table, one dependency a row, columns padded to their widest cell; then the server-wide budget. */
export function dependenciesText(view: DependenciesView): string {
  const budget = view.serverBudget ? `server-wide retry budget: ${view.serverBudget.balance} retries available now\n` : '';
  if (view.dependencies.length === 0) return `no dependencies called yet\n${budget}`;
  const rows = [COLUMNS.map(([title]) => title), ...view.dependencies.map((d) => COLUMNS.map(([, cell]) => cell(d)))];
  const widths = COLUMNS.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  const lines = rows.map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  '));
  return `${lines.join('\n')}\n${budget}`;
}

/** The breaker's state; with threads that disagree, each state's count ('open 1, closed 2'). */
function breaker(d: DependencyView): string {
  const states = Object.entries(d.breakerStates);
  return states.length <= 1 ? d.breakerState : states.map(([s, n]) => `${s} ${n}`).join(', ');
}

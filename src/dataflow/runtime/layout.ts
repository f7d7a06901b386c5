// How a pipeline runs as tasks: which internal streams it uses, which units of work exist, and
// which upstream units feed each keyed node's watermark. See decision 005.
import type { SinkSpec } from '../../connectors/spec.js';
import { inputsOf, isKeyed, type KeyedNode, type Pipeline, type PlanNode } from '../dsl.js';

export const DEFAULT_KEY_GROUPS = 16;

/** Stream names the runtime owns for a pipeline. */
export const shuffleStream = (pipeline: string, node: number) => `_sluice.${pipeline}.k${node}`;
export const tableStream = (pipeline: string, table: string) => `_sluice.${pipeline}.t.${table}`;
export const stateKey = (pipeline: string, unit: string) => `_sluice/pipelines/${pipeline}/units/${unit}`;
/** Written ahead of an epoch's outputs on engines whose commit is not atomic (decision 006). */
export const intentKey = (pipeline: string, unit: string) => `${stateKey(pipeline, unit)}/intent`;
export const stateUnitsPrefix = (pipeline: string) => `_sluice/pipelines/${pipeline}/units/`;
export const leaseKey = (pipeline: string) => `_sluice/pipelines/${pipeline}/lease`;
export const metaKey = (pipeline: string) => `_sluice/pipelines/${pipeline}/meta`;

/** The units of a run: a source partition, a key group of a keyed node, a sink step with a unit (a table, PostgreSQL, a webhook). */
export type UnitSpec = { kind: 'source'; stream: string; partition: number } | { kind: 'keyed'; node: number; group: number } | { kind: 'table'; table: string };

/** Unit ids (they name the units' state keys and watermark producers). */
export const sourceUnit = (stream: string, partition: number) => `s.${stream}.${partition}`;
export const keyedUnit = (node: number, group: number) => `k${node}.${group}`;
export const tableUnit = (table: string) => `t.${table}`;

export class Layout {
  readonly keyed: KeyedNode[];
  readonly streams: string[];
  /** Streams some source reads with watermarks (table changelogs do not hold the watermark). */
  readonly watermarkStreams: Set<string>;
  readonly sinkStreams: string[];
  /** Sink steps with a unit of their own (tables, PostgreSQL, webhooks), by name. */
  readonly tables: string[];
  /** Where each of them writes (a SQLite table unless the step says otherwise). */
  readonly sinkSpecs = new Map<string, SinkSpec>();
  private readonly byId: Map<number, PlanNode>;
  private readonly consumers = new Map<number, number[]>();

  constructor(readonly p: Pipeline, readonly keyGroups: number) {
    this.byId = new Map(p.nodes.map((n) => [n.id, n]));
    for (const n of p.nodes) for (const i of inputsOf(n)) this.consumers.set(i, [...(this.consumers.get(i) ?? []), n.id]);
    this.keyed = p.nodes.filter(isKeyed);
    const sources = p.nodes.filter((n): n is Extract<PlanNode, { kind: 'source' }> => n.kind === 'source');
    this.streams = [...new Set(sources.map((s) => s.stream))];
    this.watermarkStreams = new Set(sources.filter((s) => s.watermark).map((s) => s.stream));
    this.sinkStreams = [...new Set(p.nodes.flatMap((n) => (n.kind === 'sink' && !n.table ? [n.name] : [])))];
    this.tables = [...new Set(p.nodes.flatMap((n) => (n.kind === 'sink' && n.table ? [n.name] : [])))];
    for (const n of p.nodes) if (n.kind === 'sink' && n.table) this.sinkSpecs.set(n.name, n.table.connector ?? { kind: 'sqlite' });
  }

  /** Keyed nodes fed by `from` through stateless nodes only (they receive its records and watermark). */
  downstreamKeyed(from: number[]): number[] {
    const out = new Set<number>();
    const walk = (id: number) => {
      for (const c of this.consumers.get(id) ?? []) {
        const n = this.byId.get(c)!;
        if (isKeyed(n)) out.add(n.id);
        else walk(c);
      }
    };
    from.forEach(walk);
    return [...out];
  }

  /** Watermark streams whose records meet `stream`'s in some keyed step (alignment peers, itself included). */
  alignedWith(stream: string): string[] {
    const mine = new Set(this.downstreamKeyed(this.sourcesOf(stream)));
    return [...this.watermarkStreams].filter((s) => this.downstreamKeyed(this.sourcesOf(s)).some((n) => mine.has(n)));
  }

  /** Source node ids reading `stream`. */
  sourcesOf(stream: string): number[] {
    return this.p.nodes.flatMap((n) => (n.kind === 'source' && n.stream === stream ? [n.id] : []));
  }

  /** What feeds a keyed node's watermark: source streams (with watermarks) and keyed nodes. */
  producers(node: number): { streams: string[]; keyed: number[] } {
    const streams = new Set<string>();
    const keyed = new Set<number>();
    const walk = (id: number) => {
      const n = this.byId.get(id)!;
      if (n.kind === 'source') {
        if (n.watermark) streams.add(n.stream);
      } else if (isKeyed(n)) keyed.add(n.id);
      else for (const i of inputsOf(n)) walk(i);
    };
    for (const i of inputsOf(this.byId.get(node)!)) walk(i);
    return { streams: [...streams], keyed: [...keyed] };
  }
}

/** FNV-1a of the key's text: the key group a key belongs to (stable across runs and machines). */
export function keyGroupOf(key: string | number, groups: number): number {
  const s = typeof key === 'number' ? String(key) : key;
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) % groups;
}

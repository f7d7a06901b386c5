// Watermarks: per source partition, max event time seen minus the allowed out-of-orderness;
// combined by minimum over partitions that are not idle. Never moves backwards.

interface PartitionMark {
  maxEventTime: number;
  lastSeen: number; // processing time of its last record
  /** The stored batch of its last record, and the max event time of the batches before it. */
  batch: number;
  before: number;
}

export interface WatermarksSnapshot {
  value: number | null;
  parts: [number, [number, Omit<PartitionMark, 'before'> & { before: number | null }][]][];
}

export interface WatermarkSource {
  id: number;
  outOfOrderness: number;
  idleTimeout: number;
}

export interface Mark {
  w: number;
  idle: boolean;
}

/** The minimum over marks that are not idle; when all are idle, the highest (windows close on what was seen). */
export function combineMarks(marks: Iterable<Mark>): number {
  let min = Infinity;
  let maxIdle = -Infinity;
  for (const m of marks) {
    if (m.idle) maxIdle = Math.max(maxIdle, m.w);
    else min = Math.min(min, m.w);
  }
  return min === Infinity ? maxIdle : min;
}

export class Watermarks {
  private readonly parts = new Map<number, Map<number, PartitionMark>>();
  private readonly outOfOrderness = new Map<number, number>();
  private value = -Infinity;

  constructor(private readonly sources: WatermarkSource[], private readonly startedAt: number) {
    for (const s of sources) {
      this.parts.set(s.id, new Map());
      this.outOfOrderness.set(s.id, s.outOfOrderness);
    }
  }

  /** A record of `source` on `partition`, at `eventTime`, in stored batch `batch`, processed at `now`. */
  observe(source: number, partition: number, eventTime: number, now: number, batch: number): void {
    const marks = this.parts.get(source)!;
    const m = marks.get(partition);
    if (m) {
      if (batch !== m.batch) {
        m.before = m.maxEventTime;
        m.batch = batch;
      }
      m.maxEventTime = Math.max(m.maxEventTime, eventTime);
      m.lastSeen = now;
    } else {
      marks.set(partition, { maxEventTime: eventTime, lastSeen: now, batch, before: -Infinity });
    }
  }

  /**
   * One source partition's own watermark as the stored batches before the current one left it:
   * their max event time − outOfOrderness (−∞ while in its first batch). What its records are judged late by.
   */
  partitionMark(source: number, partition: number): number {
    const m = this.parts.get(source)!.get(partition);
    return m ? m.before - this.outOfOrderness.get(source)! : -Infinity;
  }

  /** The watermark at processing time `now`. */
  current(now: number): number {
    const marks: Mark[] = [];
    for (const s of this.sources) {
      const parts = this.parts.get(s.id)!;
      if (parts.size === 0 && now - this.startedAt < s.idleTimeout) return this.value; // a source not heard from yet
      for (const m of parts.values()) marks.push({ w: m.maxEventTime - s.outOfOrderness, idle: now - m.lastSeen >= s.idleTimeout });
    }
    const next = combineMarks(marks);
    if (next > this.value) this.value = next;
    return this.value;
  }

  /** True when every partition is idle (or none was heard from for idleTimeout). */
  idle(now: number): boolean {
    for (const s of this.sources) {
      const marks = this.parts.get(s.id)!;
      if (marks.size === 0 && now - this.startedAt < s.idleTimeout) return false;
      for (const m of marks.values()) if (now - m.lastSeen < s.idleTimeout) return false;
    }
    return true;
  }

  /** As JSON can carry it (no −∞: null). */
  snapshot(): WatermarksSnapshot {
    const finite = (n: number) => (Number.isFinite(n) ? n : null);
    return {
      value: finite(this.value),
      parts: [...this.parts].map(([id, m]) => [id, [...m].map(([p, x]) => [p, { ...x, before: finite(x.before) }])]),
    };
  }

  restore(s: WatermarksSnapshot): void {
    this.value = s.value ?? -Infinity;
    for (const [id, marks] of s.parts) {
      if (this.parts.has(id)) this.parts.set(id, new Map(marks.map(([p, x]) => [p, { ...x, before: x.before ?? -Infinity }])));
    }
  }

  /** End of input: every window may fire. */
  finish(): number {
    this.value = Infinity;
    return this.value;
  }
}

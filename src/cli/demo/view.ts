// The demo's live view: counts of what arrives per event type and per partition, records/s,
// and the newest event, redrawn each second (a line per second when not on a terminal).

import { sseData } from '../sse.js';

const REDRAW_MS = 1000;

export class LiveView {
  private readonly byEvent = new Map<string, number>();
  private readonly byPartition = new Map<number, number>();
  private total = 0;
  private lastSecond = 0;
  private latest = '';
  private lastError = '';
  private readonly timer: NodeJS.Timeout;
  private readonly tty = Boolean(process.stdout.isTTY);

  constructor(private readonly stream: string, private readonly gatewayUrl: string) {
    this.timer = setInterval(() => this.render(), REDRAW_MS);
  }

  error(e: string): void {
    this.lastError = e;
  }

  close(): void {
    clearInterval(this.timer);
  }

  /** Reads the gateway's SSE tail from 'latest' and counts each record. */
  async follow(url: string, signal: AbortSignal): Promise<void> {
    const res = await fetch(`${url}/v1/streams/${this.stream}/tail?from=latest`, { signal });
    for await (const data of sseData(res.body)) this.count(JSON.parse(data) as { partition: number; value: { event: string } });
  }

  private count(r: { partition: number; value: { event: string } }): void {
    this.total++;
    this.byEvent.set(r.value.event, (this.byEvent.get(r.value.event) ?? 0) + 1);
    this.byPartition.set(r.partition, (this.byPartition.get(r.partition) ?? 0) + 1);
    this.latest = JSON.stringify(r.value);
  }

  private render(): void {
    const rate = this.total - this.lastSecond;
    this.lastSecond = this.total;
    if (!this.tty) {
      process.stdout.write(`${new Date().toISOString()} ${this.stream}: ${this.total} records (${rate}/s)\n`);
      return;
    }
    const rows = [...this.byEvent.entries()].sort((a, b) => b[1] - a[1]).map(([e, n]) => `  ${e.padEnd(10)} ${String(n).padStart(8)}`);
    const parts = [...this.byPartition.entries()].sort((a, b) => a[0] - b[0]).map(([p, n]) => `p${p}: ${n}`).join('   ');
    const screen = [
      `Sluice demo — live view of stream '${this.stream}' (Ctrl-C to stop)`,
      `gateway: ${this.gatewayUrl}   (try: ./bin/sluice.js tail ${this.stream})`,
      '',
      `records received: ${this.total}   (${rate}/s)`,
      `per partition:    ${parts}`,
      '',
      'per event type:',
      ...rows,
      '',
      `newest: ${this.latest}`,
      this.lastError ? `last error: ${this.lastError}` : '',
    ];
    const width = process.stdout.columns || 120;
    process.stdout.write('\x1b[2J\x1b[H' + screen.map((l) => l.slice(0, width)).join('\n') + '\n');
  }
}

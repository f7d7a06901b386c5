// A one-line progress bar on stderr, drawn only when stderr is a terminal.

const WIDTH = 30;
const REDRAW_MS = 100;

export class Progress {
  private records = 0;
  private bytes = 0;
  private last = 0;
  private readonly started = Date.now();
  private readonly tty = Boolean(process.stderr.isTTY);

  /** `total`: the input size in bytes when known (a file), for the bar and percentage. */
  constructor(private readonly total?: number) {}

  advance(records: number, bytes: number): void {
    this.records += records;
    this.bytes += bytes;
    if (this.tty && Date.now() - this.last >= REDRAW_MS) this.draw();
  }

  note(text: string): void {
    if (this.tty) process.stderr.write(`\r\x1b[K${text}`);
  }

  done(): void {
    if (this.tty) {
      this.draw();
      process.stderr.write('\n');
    }
  }

  private draw(): void {
    this.last = Date.now();
    const secs = Math.max(0.001, (this.last - this.started) / 1000);
    const rate = `${Math.round(this.records / secs).toLocaleString()} rec/s`;
    const share = this.total ? Math.min(1, this.bytes / this.total) : undefined;
    const bar = share === undefined ? '' : `[${'#'.repeat(Math.round(share * WIDTH)).padEnd(WIDTH, '.')}] ${Math.round(share * 100)}% `;
    process.stderr.write(`\r\x1b[K${bar}${this.records.toLocaleString()} records, ${(this.bytes / 1e6).toFixed(1)} MB, ${rate}`);
  }
}

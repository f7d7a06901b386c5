// Inside a worker: console.* and process.stdout/stderr become log lines, as Lambda's runtime makes
// them (console.log is INFO, each call one line formatted by util.format; console.trace logs at
// TRACE without a stack; AWS_LAMBDA_LOG_LEVEL drops the levels below it). Writes to stdout (INFO)
// and stderr (ERROR) are split into lines; a line without its newline waits for the next write or
// flush(). Nothing reaches the real streams.
import { StringDecoder } from 'node:string_decoder';
import { format } from 'node:util';
import { Level, type LevelCode } from './protocol.js';

export type LogSink = (level: LevelCode, message: string) => void;

/** Lambda's priorities: TRACE 1 … ERROR 5; a method below AWS_LAMBDA_LOG_LEVEL logs nothing. */
const PRIORITY: Record<string, number> = { TRACE: 1, DEBUG: 2, INFO: 3, WARN: 4, ERROR: 5, FATAL: 6 };

export interface Capture {
  /** Ends pending partial lines of stdout and stderr. */
  flush(): void;
  /** Applies AWS_LAMBDA_LOG_LEVEL (known once the function's environment is). */
  setLogLevel(level: string | undefined): void;
}

/** Routes the worker's console and standard streams into `sink`. */
export function captureOutput(sink: LogSink): Capture {
  const setLogLevel = (level: string | undefined) => {
    const min = PRIORITY[level?.toUpperCase() ?? ''] ?? 1;
    const method = (code: LevelCode, priority: number) =>
      priority >= min ? (message?: unknown, ...params: unknown[]) => sink(code, format(message, ...params)) : () => {};
    console.trace = method(Level.Trace, 1);
    console.debug = method(Level.Debug, 2);
    console.info = method(Level.Info, 3);
    console.log = console.info;
    console.warn = method(Level.Warn, 4);
    console.error = method(Level.Error, 5);
  };
  setLogLevel(undefined);
  const out = new LineSplitter(Level.Info, sink);
  const err = new LineSplitter(Level.Error, sink);
  patchWrite(process.stdout, out);
  patchWrite(process.stderr, err);
  return {
    flush: () => {
      out.end();
      err.end();
    },
    setLogLevel,
  };
}

type WriteCallback = (error?: Error | null) => void;

function patchWrite(stream: NodeJS.WriteStream, lines: LineSplitter): void {
  stream.write = ((chunk: string | Uint8Array, encoding?: BufferEncoding | WriteCallback, cb?: WriteCallback) => {
    lines.write(chunk, typeof encoding === 'string' ? encoding : undefined);
    const done = typeof encoding === 'function' ? encoding : cb;
    if (done) process.nextTick(done, null);
    return true;
  }) as typeof stream.write;
}

/** Text written in pieces, cut at newlines. */
class LineSplitter {
  private partial = '';
  private readonly decoder = new StringDecoder('utf8');

  constructor(private readonly level: LevelCode, private readonly sink: LogSink) {}

  write(chunk: string | Uint8Array, encoding: BufferEncoding | undefined): void {
    let text = typeof chunk === 'string' ? (encoding && encoding !== 'utf8' && encoding !== 'utf-8' ? Buffer.from(chunk, encoding).toString('utf8') : chunk) : this.decoder.write(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    let nl = text.indexOf('\n');
    if (nl < 0) {
      this.partial += text;
      return;
    }
    if (this.partial) {
      text = this.partial + text;
      nl += this.partial.length;
      this.partial = '';
    }
    let from = 0;
    while (nl >= 0) {
      this.sink(this.level, text.slice(from, nl));
      from = nl + 1;
      nl = text.indexOf('\n', from);
    }
    this.partial = text.slice(from);
  }

  end(): void {
    const rest = this.partial + this.decoder.end();
    this.partial = '';
    if (rest) this.sink(this.level, rest);
  }
}

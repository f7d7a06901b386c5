// Logs: pino, JSON lines in production (`sluice start`), readable lines in `sluice dev`; a child
// logger per component and per unit. The level comes from --log-level or LOG_LEVEL.
// Logs go to stderr synchronously, so the last lines before a crash are not lost.
import { pino, type Logger } from 'pino';
import { PinoPretty } from 'pino-pretty';
import { InvalidArgumentError } from '../engine/errors.js';

export type { Logger } from 'pino';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
export const DEFAULT_LOG_LEVEL: LogLevel = 'info';

export interface LogOptions {
  /** Default: $LOG_LEVEL, else 'info'. */
  level?: string;
  /** Readable lines instead of JSON (sluice dev). Default false. */
  pretty?: boolean;
  /** Where lines go. Default: stderr (fd 2), synchronously. */
  destination?: NodeJS.WritableStream;
}

/** The level asked for, or InvalidArgumentError naming the levels there are. */
export function logLevelOf(level: string | undefined = process.env.LOG_LEVEL): LogLevel {
  const l = (level ?? DEFAULT_LOG_LEVEL).toLowerCase();
  if (!(LOG_LEVELS as readonly string[]).includes(l)) {
    throw new InvalidArgumentError(`log level '${level}' is not one of ${LOG_LEVELS.join(', ')}`, 'logLevel');
  }
  return l as LogLevel;
}

/** A root logger; components take children of it (`log.child({ component: 'gateway' })`). */
export function createLogger(o: LogOptions = {}): Logger {
  const level = logLevelOf(o.level);
  const destination = o.destination ?? (o.pretty
    ? PinoPretty({ sync: true, destination: 2, colorize: process.stderr.isTTY === true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname,component', singleLine: true, messageFormat: '{if component}{component}: {end}{msg}' })
    : pino.destination({ dest: 2, sync: true }));
  return pino({ level, base: undefined, timestamp: pino.stdTimeFunctions.isoTime }, destination);
}

/** A logger that writes nothing (library use and tests that do not look at logs). */
export const silentLogger = (): Logger => pino({ level: 'silent' });

/** Logs a failure once while it lasts: the first occurrence at warn, repeats at debug, and the recovery at info. */
export class FailureLog {
  private failing = false;
  private count = 0;

  constructor(private readonly log: Logger, private readonly what: string) {}

  failed(e: unknown, extra: Record<string, unknown> = {}): void {
    this.count++;
    const err = (e as Error)?.message ?? String(e);
    if (this.failing) this.log.debug({ ...extra, err, attempt: this.count }, `${this.what} still failing`);
    else this.log.warn({ ...extra, err }, `${this.what} failing: ${err}`);
    this.failing = true;
  }

  succeeded(extra: Record<string, unknown> = {}): void {
    if (!this.failing) return;
    this.log.info({ ...extra, failures: this.count }, `${this.what} recovered after ${this.count} failure${this.count === 1 ? '' : 's'}`);
    this.failing = false;
    this.count = 0;
  }

  get isFailing(): boolean {
    return this.failing;
  }
}

/**
 * Structured logging for the daemon: one JSON object per line on stderr,
 * `{"time":"2026-11-23T12:00:00.000Z","level":"info","msg":"listening","socket":"/run/corral/corral.sock"}`.
 * The time, level and message come first; the fields follow as top-level keys (a field named like
 * one of those three is written as `field.<name>`). Errors in fields are written as their message,
 * code and, at debug level, stack. Nothing global: the CLI makes one logger and passes it down.
 */
import { InvalidArgumentError } from './errors.js';

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
export type LogFields = Record<string, unknown>;

export interface Logger {
  readonly level: LogLevel;
  enabled(level: LogLevel): boolean;
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  /** a logger that adds `fields` to every line */
  child(fields: LogFields): Logger;
}

export function parseLogLevel(text: string, flag = '--log-level'): LogLevel {
  const level = text.toLowerCase();
  if ((LOG_LEVELS as readonly string[]).includes(level)) return level as LogLevel;
  throw new InvalidArgumentError(flag, text, `one of ${LOG_LEVELS.join(', ')}`);
}

export interface LoggerOptions {
  level: LogLevel;
  /** receives each line, newline included (default: process.stderr) */
  write?: (line: string) => void;
  /** the clock (default: new Date()) */
  now?: () => Date;
}

const RESERVED = new Set(['time', 'level', 'msg']);

function errorFields(err: Error, withStack: boolean): Record<string, unknown> {
  const out: Record<string, unknown> = { message: err.message };
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' || typeof code === 'number') out.code = code;
  if (withStack && err.stack) out.stack = err.stack;
  return out;
}

/** The JSON line for one entry (pure; exported for tests). */
export function formatLine(time: Date, level: LogLevel, msg: string, fields: LogFields, withStack: boolean): string {
  const entry: Record<string, unknown> = { time: time.toISOString(), level, msg };
  for (const [key, value] of Object.entries(fields)) {
    if (value === undefined) continue;
    entry[RESERVED.has(key) ? `field.${key}` : key] = value instanceof Error ? errorFields(value, withStack) : value;
  }
  try {
    return JSON.stringify(entry, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)) + '\n';
  } catch (err) {
    // a circular field must not lose the line
    return JSON.stringify({ time: entry.time, level, msg, logError: `fields not serialisable: ${(err as Error).message}` }) + '\n';
  }
}

export function createLogger(options: LoggerOptions, base: LogFields = {}): Logger {
  const write = options.write ?? ((line: string) => void process.stderr.write(line));
  const now = options.now ?? (() => new Date());
  const threshold = LOG_LEVELS.indexOf(options.level);
  const enabled = (level: LogLevel) => LOG_LEVELS.indexOf(level) >= threshold;
  const log =
    (level: LogLevel) =>
    (msg: string, fields: LogFields = {}) => {
      if (enabled(level)) write(formatLine(now(), level, msg, { ...base, ...fields }, options.level === 'debug'));
    };
  return {
    level: options.level,
    enabled,
    debug: log('debug'),
    info: log('info'),
    warn: log('warn'),
    error: log('error'),
    child: (fields) => createLogger(options, { ...base, ...fields }),
  };
}

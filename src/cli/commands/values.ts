/**
 * Flag values the client commands check before anything is sent, each error naming the flag
 * (InvalidArgumentError, exit 125): seconds, signals, --tail, --filter, times.
 */
import { parseSignal } from '../../container/signals.js';
import { InvalidArgumentError } from '../../errors.js';

/** Whole seconds for -t/--time; -1 waits without limit, as Docker's API takes it. */
export function parseSeconds(flag: string, text: string): number {
  if (!/^-?\d{1,6}$/.test(text) || Number(text) < -1 || Number(text) > 86_400) {
    throw new InvalidArgumentError(flag, text, 'whole seconds from 0 to 86400, or -1 to wait without limit');
  }
  return Number(text);
}

/** A signal by name (KILL, SIGKILL, sigterm) or number, as the daemon takes it; returned as given. */
export function parseSignalName(flag: string, text: string): string {
  try {
    parseSignal(text);
  } catch {
    throw new InvalidArgumentError(flag, text, 'a signal name such as TERM, SIGTERM or HUP, or a number from 1 to 64');
  }
  return text;
}

/** --tail: "all" or a number of lines. */
export function parseTail(flag: string, text: string): string {
  if (text === 'all') return text;
  if (!/^\d{1,9}$/.test(text)) throw new InvalidArgumentError(flag, text, 'a number of lines (0 or more) or all');
  return String(Number(text));
}

/** --since/--until as the API's unix timestamp (durations back from `now`, RFC 3339, unix seconds). */
export function parseTimeFlag(flag: string, text: string, now: Date): string {
  return cliTimeToTimestamp(text, flag, now.getTime());
}

/** Repeated --filter KEY=VALUE as the API's `filters` JSON ({"KEY": ["VALUE", ...]}). */
export function filtersQuery(flag: string, values: readonly string[]): string | undefined {
  if (values.length === 0) return undefined;
  const filters: Record<string, string[]> = {};
  for (const v of values) {
    const eq = v.indexOf('=');
    if (eq <= 0) throw new InvalidArgumentError(flag, v, 'KEY=VALUE, such as event=die or container=web');
    const key = v.slice(0, eq);
    filters[key] ??= [];
    filters[key].push(v.slice(eq + 1));
  }
  return JSON.stringify(filters);
}

/**
 * The CLI's --since/--until as the API's timestamp: unix seconds, RFC 3339 ("2026-11-23T10:00:00Z",
 * a date alone), or a Go duration back from now ("10m", "1h30m", "90s"), as `docker events` takes them.
 */
export function cliTimeToTimestamp(text: string, flag: string, nowMs: number): string {
  if (/^\d{1,12}(\.\d{1,9})?$/.test(text)) return text;
  const duration = /^(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m(?!s))?(?:(\d+(?:\.\d+)?)s)?(?:(\d+)ms)?$/.exec(text);
  if (duration && text !== '') {
    const ms = Number(duration[1] ?? 0) * 3_600_000 + Number(duration[2] ?? 0) * 60_000 + Number(duration[3] ?? 0) * 1000 + Number(duration[4] ?? 0);
    return ((nowMs - ms) / 1000).toFixed(9);
  }
  if (/^\d{4}-\d\d-\d\d([T ]\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:\d\d)?)?$/.test(text)) {
    const t = Date.parse(text.length === 10 ? `${text}T00:00:00Z` : text);
    if (!Number.isNaN(t)) return (t / 1000).toFixed(3);
  }
  throw new InvalidArgumentError(flag, text, 'unix seconds, an RFC 3339 time (2026-11-23T10:00:00Z) or a duration back from now (10m, 1h30m)');
}

/** --api-listen (and --metrics-addr): `HOST:PORT`, `[IPv6]:PORT` or `tcp://` before either. */
export function parseListenAddress(text: string, flag = '--api-listen', example = '127.0.0.1:2375'): { host: string; port: number } {
  const bare = text.startsWith('tcp://') ? text.slice('tcp://'.length) : text;
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([A-Za-z0-9.-]+)):(\d{1,5})$/.exec(bare);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) throw new InvalidArgumentError(flag, text, `HOST:PORT, e.g. ${example}`);
  return { host: m[1] ?? m[2]!, port };
}

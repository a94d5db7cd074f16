/**
 * Small pure parsers for the procfs files the sampler reads besides the cgroup's own
 * (Documentation/filesystems/proc.rst): a network namespace's /proc/<pid>/net/dev and the host's
 * /proc/stat. Each takes the text (and its path, for the message) and returns typed data, or throws a
 * ParseError quoting the bad line.
 */
import { integerAt } from '../cgroups/parse.js';
import { ParseError } from '../errors.js';

/** One interface's counters from net/dev (the kernel's struct rtnl_link_stats64 subset that Docker reports). */
export interface NetDevCounters {
  rxBytes: number;
  rxPackets: number;
  rxErrors: number;
  rxDropped: number;
  txBytes: number;
  txPackets: number;
  txErrors: number;
  txDropped: number;
}

/**
 * /proc/<pid>/net/dev: two header lines, then "  name: 16 numbers" (8 receive, 8 transmit columns:
 * bytes packets errs drop fifo frame compressed multicast | bytes packets errs drop fifo colls carrier
 * compressed). Returns the counters per interface name, in the file's order.
 */
export function parseNetDev(text: string, path?: string): Map<string, NetDevCounters> {
  const out = new Map<string, NetDevCounters>();
  const lines = text.split('\n');
  if (!(lines[0] ?? '').startsWith('Inter-|')) throw new ParseError('net/dev header', lines[0] ?? '', path);
  const n = new Array<number>(NET_DEV_COLUMNS);
  for (let i = 2; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.trim() === '') continue;
    const colon = line.indexOf(':');
    const name = colon < 0 ? '' : line.slice(0, colon).trim();
    if (name === '' || !netDevColumns(line, colon + 1, n)) throw new ParseError('net/dev', line, path);
    out.set(name, {
      rxBytes: n[0]!,
      rxPackets: n[1]!,
      rxErrors: n[2]!,
      rxDropped: n[3]!,
      txBytes: n[8]!,
      txPackets: n[9]!,
      txErrors: n[10]!,
      txDropped: n[11]!,
    });
  }
  return out;
}

/** The counters of one net/dev line. */
const NET_DEV_COLUMNS = 16;

/**
 * The 16 blank-separated unsigned numbers of `line` from `start` into `out`, read in place (the
 * sampler parses every container's net/dev every tick); false when there are not exactly 16 or one is
 * not a number.
 */
function netDevColumns(line: string, start: number, out: number[]): boolean {
  let column = 0;
  let i = start;
  for (;;) {
    while (i < line.length && isBlank(line.charCodeAt(i))) i++;
    if (i === line.length) return column === NET_DEV_COLUMNS;
    let end = i;
    while (end < line.length && !isBlank(line.charCodeAt(end))) end++;
    const value = column < NET_DEV_COLUMNS && line.charCodeAt(i) !== MINUS ? integerAt(line, i, end) : NaN;
    if (Number.isNaN(value)) return false;
    out[column++] = value;
    i = end;
  }
}

const MINUS = 45;

/** What /\s/ matches in an ASCII line: space, tab, and \n \v \f \r. */
function isBlank(c: number): boolean {
  return c === 32 || (c >= 9 && c <= 13);
}

/** USER_HZ: the unit of /proc/stat's times; 100 on every Linux architecture Docker supports (moby uses the same constant). */
export const CLOCK_TICKS_PER_SECOND = 100;

/**
 * The host's cumulative CPU time in nanoseconds, exactly as Docker computes `system_cpu_usage`
 * (moby daemon/stats/collector_unix.go getSystemCPUUsage): the first seven fields of the "cpu" line of
 * /proc/stat (user nice system idle iowait irq softirq; steal and guest are left out), in clock ticks,
 * times 1e9 / CLOCK_TICKS_PER_SECOND.
 */
export function parseProcStatCpuTotal(text: string, path?: string): number {
  const end = text.indexOf('\n');
  const line = end < 0 ? text : text.slice(0, end);
  const parts = line.trim().split(/\s+/);
  if (parts[0] !== 'cpu' || parts.length < 8 || !parts.slice(1, 8).every((f) => /^\d+$/.test(f))) throw new ParseError('/proc/stat cpu line', line, path);
  let ticks = 0;
  for (const f of parts.slice(1, 8)) ticks += Number(f);
  return ticks * (1e9 / CLOCK_TICKS_PER_SECOND);
}

/** Interfaces that are not the container's traffic: Docker and cAdvisor both leave the loopback out. */
export function isReportedInterface(name: string): boolean {
  return name !== 'lo';
}

/** A resource limit from /proc/<pid>/limits: a number, or 'unlimited'. */
export type RlimitValue = number | 'unlimited';

/**
 * The "Max open files" line of /proc/<pid>/limits (RLIMIT_NOFILE): "Max open files  1024  4096  files".
 * Node raises its soft limit to the hard one at start-up, so a daemon's own file shows what it may use.
 */
export function parseOpenFilesLimit(text: string, path?: string): { soft: RlimitValue; hard: RlimitValue } {
  const line = text.split('\n').find((l) => l.startsWith('Max open files'));
  const m = line === undefined ? null : /^Max open files\s+(\d+|unlimited)\s+(\d+|unlimited)\s+files\s*$/.exec(line);
  if (!m) throw new ParseError('/proc/<pid>/limits "Max open files" line', line ?? text.slice(0, 200), path);
  const value = (v: string): RlimitValue => (v === 'unlimited' ? v : Number(v));
  return { soft: value(m[1]!), hard: value(m[2]!) };
}

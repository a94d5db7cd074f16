/**
 * Small pure parsers named after the kernel's file formats (Documentation/admin-guide/cgroup-v2.rst,
 * "Interface Files"; Documentation/filesystems/proc.rst for mountinfo and /proc/<pid>/cgroup).
 *
 * Each takes the file's text (and optionally its path, for the error message) and returns typed data,
 * or throws a ParseError quoting the bad line. None of them reads a file.
 *
 * Numbers: kernel counters are unsigned 64-bit; they are returned as JavaScript numbers, exact up to
 * 2^53 (Number.MAX_SAFE_INTEGER). Larger values (v1's "unlimited" 9223372036854771712, a CPU counter in
 * nanoseconds after ~104 days) keep their magnitude but lose their last digits.
 */
import { ParseError } from '../errors.js';
import type { Limit, Pressure } from './types.js';

const INTEGER = /^-?\d+$/;
const DECIMAL = /^-?\d+(\.\d+)?$/;

const NEWLINE = 10;
const MINUS = 45;
const ZERO = 48;
const NINE = 57;
/** Decimal digits that a double accumulates exactly (below 2^53); longer numbers go through Number(). */
const EXACT_DIGITS = 15;

/**
 * The integer text[start, end) when it matches /^-?\d+$/, else NaN: the hot parsers
 * read numbers in place instead of slicing, trimming and matching a regular expression per value.
 */
export function integerAt(text: string, start: number, end: number): number {
  const negative = text.charCodeAt(start) === MINUS;
  const first = negative ? start + 1 : start;
  if (first >= end) return NaN;
  let value = 0;
  for (let i = first; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c < ZERO || c > NINE) return NaN;
    value = value * 10 + (c - ZERO);
  }
  // past 2^53 the running sum rounds at each step; Number() rounds once, as the slow path always did
  if (end - first > EXACT_DIGITS) value = Number(text.slice(first, end));
  return negative ? -value : value;
}

/** The lines of a kernel file, without the trailing newline; an empty file has no lines. */
function lines(text: string): string[] {
  let end = text.length;
  while (end > 0 && text.charCodeAt(end - 1) === NEWLINE) end--;
  return end === 0 ? [] : text.slice(0, end).split('\n');
}

/**
 * A single value file (memory.max, pids.current, cpu.weight, cpu.cfs_quota_us): an integer or "max".
 * Negative integers are returned as is (v1's -1 for unlimited is the caller's to interpret).
 */
export function parseSingleValue(text: string, path?: string): Limit {
  // the sampler's case, without allocating: digits and one newline
  const fast = integerAt(text, 0, text.length - 1);
  if (!Number.isNaN(fast) && text.charCodeAt(text.length - 1) === NEWLINE) return fast;
  const all = lines(text);
  const line = all[0];
  if (all.length !== 1 || line === undefined) throw new ParseError('single value', text, path);
  const value = line.trim();
  if (value === 'max') return 'max';
  if (!INTEGER.test(value)) throw new ParseError('single value', line, path);
  return Number(value);
}

/** A single value file that must hold a number (never "max"): memory.current, cpuacct.usage. */
export function parseNumber(text: string, path?: string): number {
  const value = parseSingleValue(text, path);
  if (value === 'max') throw new ParseError('number', text.trim(), path);
  return value;
}

/**
 * A flat keyed file, one "key value" per line: memory.stat, cpu.stat, memory.events, memory.oom_control.
 * (The sampler reads these every tick with parseFlatKeyedBytes, which hands anything but the kernel's
 * own form to this.)
 */
export function parseFlatKeyed(text: string, path?: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of lines(text)) flatKeyedLine(line, out, path);
  return out;
}

/** One line of a flat keyed file by the general rule: blank lines are skipped, blanks around the two fields allowed. */
function flatKeyedLine(line: string, out: Record<string, number>, path: string | undefined): void {
  if (line.trim() === '') return;
  const parts = line.trim().split(/\s+/);
  const [key, value] = parts;
  if (parts.length !== 2 || key === undefined || value === undefined || !INTEGER.test(value)) {
    throw new ParseError('flat keyed', line, path);
  }
  out[key] = Number(value);
}

/**
 * A nested keyed file, "key sub=value sub=value" per line: io.stat ("8:0 rbytes=1 wbytes=2 ..."),
 * io.max ("8:0 rbps=max wbps=1048576 ..."). Values are numbers (decimals allowed, e.g. io.stat's
 * cost.vrate=100.00) or "max".
 */
export function parseNestedKeyed(text: string, path?: string): Record<string, Record<string, number | 'max'>> {
  const out: Record<string, Record<string, number | 'max'>> = {};
  for (const line of lines(text)) {
    if (line.trim() === '') continue;
    const [key, ...pairs] = line.trim().split(/\s+/);
    if (key === undefined || key.includes('=')) throw new ParseError('nested keyed', line, path);
    const fields: Record<string, number | 'max'> = {};
    for (const pair of pairs) {
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq);
      const value = pair.slice(eq + 1);
      if (eq <= 0 || !(value === 'max' || DECIMAL.test(value))) throw new ParseError('nested keyed', line, path);
      fields[name] = value === 'max' ? 'max' : Number(value);
    }
    out[key] = fields;
  }
  return out;
}

/** A pressure stall information file: "some avg10=0.00 avg60=0.00 avg300=0.00 total=0" and optionally "full ...". */
export function parsePressure(text: string, path?: string): Pressure {
  const result: Partial<Pressure> = {};
  for (const line of lines(text)) {
    const [kind, ...pairs] = line.trim().split(/\s+/);
    if (kind !== 'some' && kind !== 'full') throw new ParseError('pressure', line, path);
    const fields: Record<string, number> = {};
    for (const pair of pairs) {
      const m = /^(avg10|avg60|avg300|total)=(\d+(?:\.\d+)?)$/.exec(pair);
      if (!m || m[1] === undefined || m[2] === undefined) throw new ParseError('pressure', line, path);
      fields[m[1]] = Number(m[2]);
    }
    const { avg10, avg60, avg300, total } = fields;
    if (avg10 === undefined || avg60 === undefined || avg300 === undefined || total === undefined) {
      throw new ParseError('pressure', line, path);
    }
    result[kind] = { avg10, avg60, avg300, total };
  }
  if (!result.some) throw new ParseError('pressure', text, path);
  return result.full ? { some: result.some, full: result.full } : { some: result.some };
}

/** cpu.max: "$MAX $PERIOD", e.g. "max 100000" or "50000 100000"; microseconds. */
export function parseCpuMax(text: string, path?: string): { quota: Limit; period: number } {
  const all = lines(text);
  const line = all[0];
  if (all.length !== 1 || line === undefined) throw new ParseError('cpu.max', text, path);
  const m = /^(max|\d+) (\d+)$/.exec(line.trim());
  if (!m || m[1] === undefined || m[2] === undefined) throw new ParseError('cpu.max', line, path);
  return { quota: m[1] === 'max' ? 'max' : Number(m[1]), period: Number(m[2]) };
}

/** cgroup.procs / tasks: one pid per line. */
export function parsePidList(text: string, path?: string): number[] {
  const out: number[] = [];
  for (const line of lines(text)) {
    if (line.trim() === '') continue;
    if (!/^\d+$/.test(line.trim())) throw new ParseError('pid list', line, path);
    out.push(Number(line.trim()));
  }
  return out;
}

/** One line of /proc/<pid>/cgroup: "hierarchy-ID:controller-list:cgroup-path". */
export interface ProcCgroupEntry {
  /** 0 for the cgroup v2 unified hierarchy */
  id: number;
  /** e.g. ['cpu', 'cpuacct'] or ['name=systemd']; empty for cgroup v2 */
  controllers: string[];
  /** the cgroup path relative to the hierarchy's root (or the cgroup namespace's root), e.g. "/user.slice" */
  path: string;
}

/** /proc/<pid>/cgroup (cgroups(7)). */
export function parseProcCgroup(text: string, path?: string): ProcCgroupEntry[] {
  const out: ProcCgroupEntry[] = [];
  for (const line of lines(text)) {
    if (line === '') continue;
    const m = /^(\d+):([^:]*):(\/.*)$/.exec(line);
    if (!m || m[1] === undefined || m[2] === undefined || m[3] === undefined) {
      throw new ParseError('/proc/<pid>/cgroup', line, path);
    }
    out.push({ id: Number(m[1]), controllers: m[2] === '' ? [] : m[2].split(','), path: m[3] });
  }
  return out;
}

/** The fields of one mountinfo line that cgroup detection needs (proc(5), /proc/<pid>/mountinfo). */
export interface MountInfoEntry {
  mountId: number;
  parentId: number;
  /** "major:minor" of the file system */
  device: string;
  /** the directory of the file system that forms this mount's root (for cgroups: a cgroup path) */
  root: string;
  mountPoint: string;
  mountOptions: string[];
  fsType: string;
  source: string;
  /** per-superblock options; for a cgroup v1 mount they name its controllers, e.g. ['rw', 'cpu', 'cpuacct'] */
  superOptions: string[];
}

/** Undo mountinfo's octal escapes of space, tab, newline and backslash ("\040"). */
function unescapeMountField(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

/** /proc/<pid>/mountinfo: "36 35 98:0 /root /mnt rw,noatime master:1 - ext3 /dev/root rw,errors=continue". */
export function parseMountinfo(text: string, path?: string): MountInfoEntry[] {
  const out: MountInfoEntry[] = [];
  for (const line of lines(text)) {
    if (line === '') continue;
    const fields = line.split(' ');
    const sep = fields.indexOf('-', 6);
    const [mountId, parentId, device, root, mountPoint, mountOptions] = fields;
    const [fsType, source, superOptions] = sep < 0 ? [] : fields.slice(sep + 1);
    if (
      sep < 0 ||
      !INTEGER.test(mountId ?? '') ||
      !INTEGER.test(parentId ?? '') ||
      device === undefined ||
      root === undefined ||
      mountPoint === undefined ||
      mountOptions === undefined ||
      fsType === undefined ||
      source === undefined ||
      superOptions === undefined
    ) {
      throw new ParseError('mountinfo', line, path);
    }
    out.push({
      mountId: Number(mountId),
      parentId: Number(parentId),
      device,
      root: unescapeMountField(root),
      mountPoint: unescapeMountField(mountPoint),
      mountOptions: mountOptions.split(','),
      fsType,
      source: unescapeMountField(source),
      superOptions: superOptions.split(','),
    });
  }
  return out;
}

/** A kernel list ("0-3,5", cpuset.cpus, cpuset.mems) -> sorted unique numbers. The empty list is []. */
export function parseCpuList(text: string, path?: string): number[] {
  const trimmed = text.trim();
  if (trimmed === '') return [];
  const set = new Set<number>();
  for (const part of trimmed.split(',')) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (!m || m[1] === undefined) throw new ParseError('cpu list', trimmed, path);
    const first = Number(m[1]);
    const last = m[2] === undefined ? first : Number(m[2]);
    if (last < first) throw new ParseError('cpu list', trimmed, path);
    for (let i = first; i <= last; i++) set.add(i);
  }
  return [...set].sort((a, b) => a - b);
}

/** Numbers -> the kernel's list form, e.g. [0, 1, 2, 3, 5] -> "0-3,5". [] -> "". */
export function formatCpuList(cpus: readonly number[]): string {
  const sorted = [...new Set(cpus)].sort((a, b) => a - b);
  const ranges: string[] = [];
  let i = 0;
  while (i < sorted.length) {
    const start = sorted[i] as number;
    let end = start;
    while (i + 1 < sorted.length && sorted[i + 1] === end + 1) end = sorted[++i] as number;
    ranges.push(start === end ? `${start}` : `${start}-${end}`);
    i++;
  }
  return ranges.join(',');
}

/** One device's counters in a v1 blkio file ("8:0 Read 4096" ... "8:0 Total 4096", then "Total 4096"). */
export interface BlkioDeviceCounters {
  major: number;
  minor: number;
  /** by operation: Read, Write, Sync, Async, Discard, Total */
  ops: Record<string, number>;
}

/** A cgroup v1 blkio statistics file: blkio.throttle.io_service_bytes(_recursive), blkio.throttle.io_serviced(_recursive). */
export function parseBlkioStat(text: string, path?: string): BlkioDeviceCounters[] {
  const byDevice = new Map<string, BlkioDeviceCounters>();
  for (const line of lines(text)) {
    if (line.trim() === '') continue;
    const parts = line.trim().split(/\s+/);
    if (parts.length === 2 && parts[0] === 'Total' && INTEGER.test(parts[1] ?? '')) continue;
    const m = parts.length === 3 ? /^(\d+):(\d+)$/.exec(parts[0] ?? '') : null;
    const [, op, value] = parts;
    if (!m || op === undefined || value === undefined || !INTEGER.test(value)) throw new ParseError('blkio stat', line, path);
    const key = `${m[1]}:${m[2]}`;
    let entry = byDevice.get(key);
    if (!entry) {
      entry = { major: Number(m[1]), minor: Number(m[2]), ops: {} };
      byDevice.set(key, entry);
    }
    entry.ops[op] = Number(value);
  }
  return [...byDevice.values()];
}

/** One CPU's line of cgroup v1 cpuacct.usage_all, nanoseconds. */
export interface CpuacctCpuUsage {
  cpu: number;
  user: number;
  system: number;
}

const USAGE_ALL_LINE = /^\d+ \d+ \d+$/;

/**
 * cgroup v1 cpuacct.usage_all (Linux 4.7+): a header "cpu user system", then "N user system" per
 * possible CPU, nanoseconds. The kernel prints the same per-CPU counters that cpuacct.usage_user and
 * cpuacct.usage_sys sum up, so their sums equal those two files.
 */
export function parseCpuacctUsageAll(text: string, path?: string): CpuacctCpuUsage[] {
  const all = lines(text);
  if (all[0] !== 'cpu user system') throw new ParseError('cpuacct.usage_all header', all[0] ?? '', path);
  const out: CpuacctCpuUsage[] = [];
  for (let i = 1; i < all.length; i++) {
    const line = all[i]!;
    if (!USAGE_ALL_LINE.test(line)) throw new ParseError('cpuacct.usage_all', line, path);
    const first = line.indexOf(' ');
    const second = line.indexOf(' ', first + 1);
    out.push({ cpu: integerAt(line, 0, first), user: integerAt(line, first + 1, second), system: integerAt(line, second + 1, line.length) });
  }
  return out;
}

/**
 * What the benches read from /proc about a process: resident memory (VmRSS in `status`, Pss in
 * `smaps_rollup`), CPU time (utime + stime in `stat`) and open fds.
 */
import fs from 'node:fs';

/** A `Name:   123 kB` line of /proc/<pid>/status or smaps_rollup, in KiB (pure); undefined when absent. */
export function parseKiBField(text: string, field: string): number | undefined {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(text);
  return m ? Number(m[1]) : undefined;
}

/** utime + stime of a /proc/<pid>/stat line, in clock ticks (pure): fields 14 and 15, counted after the ")" of comm. */
export function parseCpuTicks(stat: string): number {
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // rest[0] is field 3 (state)
  const utime = Number(rest[11]);
  const stime = Number(rest[12]);
  if (!Number.isInteger(utime) || !Number.isInteger(stime)) throw new Error(`not a /proc/<pid>/stat line: ${stat.slice(0, 120)}`);
  return utime + stime;
}

function read(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return undefined; // the process ended
  }
}

export function statusKiB(pid: number, field: string): number | undefined {
  const text = read(`/proc/${pid}/status`);
  return text === undefined ? undefined : parseKiBField(text, field);
}

export function smapsKiB(pid: number, field: string): number | undefined {
  const text = read(`/proc/${pid}/smaps_rollup`);
  return text === undefined ? undefined : parseKiBField(text, field);
}

/** CPU time used so far, in clock ticks (USER_HZ, 100 a second on Linux). */
export function cpuTicks(pid: number): number | undefined {
  const text = read(`/proc/${pid}/stat`);
  return text === undefined ? undefined : parseCpuTicks(text);
}

export function openFds(pid: number): number | undefined {
  try {
    return fs.readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return undefined;
  }
}

/** The machine's CPU time as /proc/stat counts it, for tests that need to know what was left to spare. */
import fs from 'node:fs';

/** Seconds all CPUs of the machine spent idle (or waiting for I/O) so far, from /proc/stat. */
export function hostIdleSeconds(): number {
  const cpu = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0]!.split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait ...: in USER_HZ ticks, 100 a second on Linux
  return ((cpu[3] ?? 0) + (cpu[4] ?? 0)) / 100;
}

/**
 * The host panel's numbers. Memory and uptime are read with systeminformation (loaded only by corral
 * top: `corral ps` never loads it); per-core CPU is computed here from node's os.cpus() (the kernel's
 * /proc/stat counters) between two readings, because systeminformation's currentLoad runs `cat
 * /proc/stat | grep cpu` through a shell on every call and waits 500 ms on its first, which would cost
 * a process a tick and hold the first frame back.
 */
import os from 'node:os';

/** The host as the panel shows it. Bytes, seconds, percentages 0-100. */
export interface HostInfo {
  hostname: string;
  kernel: string;
  /** seconds */
  uptime: number;
  /** 1, 5 and 15 minutes */
  load: [number, number, number];
  /** busy % of each core since the last reading (all 0 on the first) */
  cores: number[];
  memTotal: number;
  /** total minus available (what htop and free call used, without the page cache) */
  memUsed: number;
  swapTotal: number;
  swapUsed: number;
}

/** Reads the host, every call one reading. */
export type HostReader = () => Promise<HostInfo>;

/** CPU times of one core, ms (os.cpus()'s `times`). */
export interface CoreTimes {
  user: number;
  nice: number;
  sys: number;
  idle: number;
  irq: number;
}

/** Busy % of each core between two readings of os.cpus(): 100 x (1 - Δidle / Δtotal); 0 without a previous reading. */
export function coreLoads(previous: readonly CoreTimes[] | undefined, current: readonly CoreTimes[]): number[] {
  return current.map((c, i) => {
    const p = previous?.[i];
    if (!p) return 0;
    const total = c.user + c.nice + c.sys + c.idle + c.irq - (p.user + p.nice + p.sys + p.idle + p.irq);
    const idle = c.idle - p.idle;
    return total > 0 ? Math.min(100, Math.max(0, (1 - idle / total) * 100)) : 0;
  });
}

export async function systemHostReader(): Promise<HostReader> {
  const si = (await import('systeminformation')).default;
  // the first reading's CPU is measured from here
  let previous: CoreTimes[] | undefined = os.cpus().map((c) => c.times);
  const hostname = os.hostname();
  const kernel = os.release();
  return async () => {
    const mem = await si.mem();
    const times = os.cpus().map((c) => c.times);
    const cores = coreLoads(previous, times);
    previous = times;
    const [l1 = 0, l5 = 0, l15 = 0] = os.loadavg();
    return {
      hostname,
      kernel,
      uptime: si.time().uptime,
      load: [l1, l5, l15],
      cores,
      memTotal: mem.total,
      memUsed: mem.active,
      swapTotal: mem.swaptotal,
      swapUsed: mem.swapused,
    };
  };
}

/**
 * The host panel's numbers, read with systeminformation (loaded only by corral top: `corral ps` never
 * loads it). The operating system's name and kernel are read once (systeminformation's osInfo runs
 * helpers and takes a few hundred ms); load, memory and per-core CPU every tick.
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
  /** busy % of each core since the last reading */
  cores: number[];
  memTotal: number;
  /** total minus available (what htop and free call used, without the page cache) */
  memUsed: number;
  swapTotal: number;
  swapUsed: number;
}

/** Reads the host, every call one reading. */
export type HostReader = () => Promise<HostInfo>;

export async function systemHostReader(): Promise<HostReader> {
  const si = (await import('systeminformation')).default;
  let identity: Promise<{ hostname: string; kernel: string }> | undefined;
  return async () => {
    identity ??= si.osInfo().then(
      (o) => ({ hostname: o.hostname || os.hostname(), kernel: o.kernel || os.release() }),
      () => ({ hostname: os.hostname(), kernel: os.release() }),
    );
    const [id, load, mem] = await Promise.all([identity, si.currentLoad(), si.mem()]);
    const [l1 = 0, l5 = 0, l15 = 0] = os.loadavg();
    return {
      ...id,
      uptime: si.time().uptime,
      load: [l1, l5, l15],
      cores: load.cpus.map((c) => c.load),
      memTotal: mem.total,
      memUsed: mem.active,
      swapTotal: mem.swaptotal,
      swapUsed: mem.swapused,
    };
  };
}

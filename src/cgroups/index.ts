/**
 * The one factory: detect the cgroup mode from /proc/self/mountinfo and /proc/self/cgroup, and return
 * the driver for it. Everything is injectable (the root, the file contents, the file system, the pid)
 * so the drivers run against a temp-dir fake cgroupfs in tests.
 */
import { NodeCgroupFs, type CgroupFs } from './cgroupfs.js';
import { detectCgroupLayout, type CgroupLayout } from './detect.js';
import { DEFAULT_KILL_TIMEOUT_MS, killAll } from './lifecycle.js';
import type { CgroupDriver } from './types.js';
import { V1Driver } from './v1/driver.js';
import type { EventfdSyscalls } from './v1/memory-events.js';
import { V2Driver } from './v2/driver.js';

export interface CgroupDriverOptions {
  /** where cgroups are mounted (default /sys/fs/cgroup) */
  root?: string;
  /**
   * --cgroup-parent: a cgroup path. Relative ("corral-test"): inside corral's own cgroup, per hierarchy.
   * Absolute ("/corral-test"): as is. Default: "corral" inside the own cgroup.
   */
  parent?: string;
  /** contents of /proc/self/cgroup (default: read it) */
  procSelfCgroup?: string;
  /** contents of /proc/self/mountinfo (default: read it) */
  mountinfo?: string;
  /** the file system (default: the real one) */
  fs?: CgroupFs;
  /** corral's own pid, the only process the v2 driver may move (default process.pid) */
  pid?: number;
  /** bound on kill()'s wait for an empty cgroup (default 5000 ms) */
  killTimeoutMs?: number;
  /** sends SIGKILL to each pid (default process.kill) */
  signal?: (pids: readonly number[]) => void;
  /** /sys/devices/system, for online CPUs and nodes without a cpuset controller */
  sysDevicesDir?: string;
  /** /sys/block, for the block devices' I/O schedulers (whether a BFQ weight acts anywhere) */
  sysBlockDir?: string;
  /** the native calls of cgroup v1's memory notifications (default: loadSyscalls, on first use) */
  syscalls?: () => Promise<EventfdSyscalls>;
}

export async function createCgroupDriver(options: CgroupDriverOptions = {}): Promise<CgroupDriver> {
  const fs = options.fs ?? new NodeCgroupFs();
  const layout = await detectCgroupLayout({
    fs,
    ...(options.root !== undefined ? { root: options.root } : {}),
    ...(options.mountinfo !== undefined ? { mountinfo: options.mountinfo } : {}),
    ...(options.procSelfCgroup !== undefined ? { procSelfCgroup: options.procSelfCgroup } : {}),
  });
  return driverFor(layout, fs, options);
}

/** The driver for an already detected layout. */
export function driverFor(layout: CgroupLayout, fs: CgroupFs, options: CgroupDriverOptions = {}): CgroupDriver {
  const common = {
    fs,
    pid: options.pid ?? process.pid,
    killTimeoutMs: options.killTimeoutMs ?? DEFAULT_KILL_TIMEOUT_MS,
    signal: options.signal ?? killAll,
    sysDevicesDir: options.sysDevicesDir ?? '/sys/devices/system',
    sysBlockDir: options.sysBlockDir ?? '/sys/block',
    ...(options.parent !== undefined ? { parent: options.parent } : {}),
  };
  const syscalls = options.syscalls ?? (async () => (await import('../sys/syscalls.js')).loadSyscalls());
  return layout.mode === 'v2' ? new V2Driver({ ...common, layout }) : new V1Driver({ ...common, layout, syscalls });
}

export { NodeCgroupFs, type CgroupFs } from './cgroupfs.js';
export { detectCgroupLayout, detectLayout, type CgroupLayout } from './detect.js';
export { cpuSharesToWeight, cpuWeightToShares, blkioWeightToIoWeight, ioWeightToBlkioWeight } from './convert.js';
export type * from './types.js';

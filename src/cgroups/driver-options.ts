import type { CgroupFs } from './cgroupfs.js';

/** What both drivers are built with (createCgroupDriver fills in the defaults); each adds its layout. */
export interface CgroupDriverBaseOptions {
  fs: CgroupFs;
  /** --cgroup-parent (see paths.ts); default "corral" inside the own cgroup */
  parent?: string;
  /** corral's own pid, the only process it may move (default process.pid) */
  pid: number;
  /** bound on kill()'s wait for an empty cgroup, and on freeze */
  killTimeoutMs: number;
  /** sends SIGKILL to each pid (default: process.kill; tests inject a recorder) */
  signal: (pids: readonly number[]) => void;
  /** /sys/devices/system, for the online CPUs and nodes when there is no cpuset controller */
  sysDevicesDir: string;
  /** /sys/block, for the devices' I/O schedulers (does a BFQ weight act anywhere) */
  sysBlockDir: string;
}

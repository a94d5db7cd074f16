/**
 * What the sampler keeps per container: who it is (from the state directory, read once per start),
 * and its latest two samples. Samples are replaced, never changed: readers (the stats API, the
 * exporter, `corral stats`) hold on to one without copying.
 */
import type { CgroupStats, Limit } from '../cgroups/types.js';
import type { ContainerStatus } from '../container/records.js';
import type { RestartPolicy } from '../container/restart-policy.js';
import type { NetDevCounters } from './procfs.js';

/** The limits the container was created with (its config.json), for the exporter's container_spec_* metrics. */
export interface ContainerSpec {
  /** bytes, or 'max' */
  memoryLimit?: Limit;
  /** bytes (memory.low / soft limit: Docker's --memory-reservation) */
  memoryReservation?: number;
  /** microseconds per period, or 'max' */
  cpuQuota?: Limit;
  /** microseconds */
  cpuPeriod?: number;
  /** cpu.weight 1-10000 */
  cpuWeight?: number;
  /** tasks, or 'max' */
  pidsLimit?: Limit;
}

/** One reading of one container. */
export interface ContainerSample {
  /** wall-clock time of the reading, ms since the epoch */
  time: number;
  /** the cgroup's counters; `errors` lists the cgroup files that failed */
  cgroup: CgroupStats;
  /**
   * per interface of the container's network namespace (the loopback left out, as Docker and cAdvisor
   * do); undefined when not read: host network (the counters would be the host's), no workload pid yet,
   * or the file failed (then in `errors`)
   */
  networks?: ReadonlyMap<string, NetDevCounters>;
  /** the host's cumulative CPU time at this tick, nanoseconds (Docker's system_cpu_usage) */
  systemCpuNs?: number;
  /** the host's online CPUs at this tick */
  onlineCpus?: number;
  /** every file that failed in this reading (cgroup files, net/dev, /proc/stat), absolute path and message */
  errors: readonly { file: string; message: string }[];
}

/** A container the sampler knows: running ones are sampled; the others are kept for their state. */
export interface TrackedContainer {
  id: string;
  name?: string;
  /** the rootfs directory, or "host" (the `image` label and Docker's Image) */
  image: string;
  network: 'none' | 'host';
  /** Docker's Config.Labels (--label), exported as container_label_KEY as the daemon chooses */
  labels?: Readonly<Record<string, string>>;
  /** --cgroup-parent, as the container was created with it */
  cgroupParent?: string;
  spec: ContainerSpec;
  status: ContainerStatus;
  /** status running and frozen by a pause (state.json), followed by the `pause` and `unpause` events */
  paused?: boolean;
  exitCode?: number;
  /** ms since the epoch */
  startedAt?: number;
  /** host pid of the workload while it runs */
  pid?: number;
  /** its restart policy (config.json); absent: no */
  restartPolicy?: RestartPolicy;
  /** the user stopped or killed it since its last start (state.json), re-read at its stop and end */
  manuallyStopped?: boolean;
  /** restarts seen by this daemon ('restart' events) */
  restarts: number;
  /** the last oom_kill counter read (kept after the container ended: the cgroup is gone then) */
  oomKills?: number;
  latest?: ContainerSample;
  previous?: ContainerSample;
  /** failed reads per file name (e.g. "memory.stat"), cumulative over this daemon's life */
  readErrors: Map<string, number>;
}

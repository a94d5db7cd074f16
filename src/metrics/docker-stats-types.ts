/**
 * The JSON shape of Docker's `GET /containers/{id}/stats` (API 1.41; moby api/types/container/stats.go),
 * Linux fields only. Every field is optional: the daemon omits what it could not read (`networks` is absent
 * for `--network none`; the blkio lists are `null` on cgroup v2 without I/O), and a missing field must stay
 * distinguishable from a real 0.
 */

/** CPU usage counters (moby CPUUsage). Times in nanoseconds. */
export interface DockerCpuUsage {
  /** total CPU time consumed, nanoseconds */
  total_usage?: number;
  /** per-CPU time, nanoseconds (cgroup v1 only; absent on v2) */
  percpu_usage?: number[] | null;
  /** nanoseconds in kernel mode */
  usage_in_kernelmode?: number;
  /** nanoseconds in user mode */
  usage_in_usermode?: number;
}

/** CFS throttling counters (moby ThrottlingData). */
export interface DockerThrottlingData {
  /** number of enforcement periods elapsed */
  periods?: number;
  /** number of periods in which the container was throttled */
  throttled_periods?: number;
  /** total time throttled, nanoseconds */
  throttled_time?: number;
}

/** One CPU sample (moby CPUStats); `precpu_stats` is the previous one (all zero on the first sample). */
export interface DockerCpuStats {
  cpu_usage?: DockerCpuUsage;
  /** the host's cumulative CPU time, nanoseconds (from /proc/stat; absent on the first precpu sample) */
  system_cpu_usage?: number;
  /** the number of online CPUs (0 or absent from old daemons: then the length of percpu_usage counts) */
  online_cpus?: number;
  throttling_data?: DockerThrottlingData;
}

/** Memory (moby MemoryStats). Bytes. */
export interface DockerMemoryStats {
  /** bytes in use (v2 memory.current; v1 memory.usage_in_bytes) */
  usage?: number;
  /** bytes, peak usage (v1 only) */
  max_usage?: number;
  /** memory.stat as flat key -> number (v1 keys include total_inactive_file; v2 keys include inactive_file) */
  stats?: Record<string, number>;
  /** times the limit was hit (v1 only) */
  failcnt?: number;
  /** the limit in bytes; the host's memory when the container is unlimited */
  limit?: number;
}

/** One blkio entry (moby BlkioStatEntry). */
export interface DockerBlkioStatEntry {
  major?: number;
  minor?: number;
  /** "read", "write", "sync", "async", "discard", "total" (v1: "Read", "Write", ...) */
  op?: string;
  value?: number;
}

/** Block I/O (moby BlkioStats); each list may be `null`. */
export interface DockerBlkioStats {
  /** bytes per device and op */
  io_service_bytes_recursive?: DockerBlkioStatEntry[] | null;
  /** operations per device and op */
  io_serviced_recursive?: DockerBlkioStatEntry[] | null;
  io_queue_recursive?: DockerBlkioStatEntry[] | null;
  io_service_time_recursive?: DockerBlkioStatEntry[] | null;
  io_wait_time_recursive?: DockerBlkioStatEntry[] | null;
  io_merged_recursive?: DockerBlkioStatEntry[] | null;
  io_time_recursive?: DockerBlkioStatEntry[] | null;
  sectors_recursive?: DockerBlkioStatEntry[] | null;
}

/** One interface's counters (moby NetworkStats). */
export interface DockerNetworkStats {
  /** bytes received */
  rx_bytes?: number;
  rx_packets?: number;
  rx_errors?: number;
  rx_dropped?: number;
  /** bytes sent */
  tx_bytes?: number;
  tx_packets?: number;
  tx_errors?: number;
  tx_dropped?: number;
}

/** Tasks (moby PidsStats). */
export interface DockerPidsStats {
  /** tasks in the container */
  current?: number;
  /** pids.max; 2^64-1 (not exactly representable in JSON numbers) when unlimited */
  limit?: number;
}

/** One line of a PSI file: percent of wall time stalled over 10, 60 and 300 s; total stall time in microseconds. */
export interface PressureLineStats {
  avg10: number;
  avg60: number;
  avg300: number;
  total: number;
}

/** A PSI file's `some` (at least one task stalled) and `full` (all tasks stalled) lines. */
export interface PressureStats {
  some: PressureLineStats;
  full?: PressureLineStats;
}

/**
 * corral's own: the cgroup's pressure stall information (cgroup v2, Linux 4.20+ with PSI), on
 * `GET /containers/stats` only (Docker's per-container route, API 1.41, has no such field). A
 * resource whose file the kernel does not give is left out.
 */
export interface CorralPressure {
  cpu?: PressureStats;
  memory?: PressureStats;
  io?: PressureStats;
}

/** The whole response (moby StatsResponse), Linux fields. */
export interface DockerStats {
  /** RFC 3339 time of this sample */
  read?: string;
  /** RFC 3339 time of the previous sample ("0001-01-01T00:00:00Z" when there was none) */
  preread?: string;
  /** "/name" */
  name?: string;
  /** the full container id */
  id?: string;
  pids_stats?: DockerPidsStats;
  blkio_stats?: DockerBlkioStats;
  /** Windows only */
  num_procs?: number;
  storage_stats?: Record<string, number>;
  cpu_stats?: DockerCpuStats;
  precpu_stats?: DockerCpuStats;
  memory_stats?: DockerMemoryStats;
  /** per interface name; absent when the container has no network */
  networks?: Record<string, DockerNetworkStats>;
  /** corral's own, GET /containers/stats only: PSI, where the kernel has it */
  pressure?: CorralPressure;
}

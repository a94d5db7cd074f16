/**
 * The derived numbers of `docker stats`, computed once, here, for the CLI, the TUI, the exporter and the
 * alert sidecar alike. Pure functions on Docker's stats JSON (./docker-stats-types.ts).
 *
 * Each function follows Docker CLI's own code, cli/command/container/stats_helpers.go (docker/cli at
 * 28f756087eea5fa301f3fbf12b01ae62f91521c2), function by function; the Go it mirrors is quoted in the
 * doc comments. Where Docker reads a missing field as Go's zero value we do the same only for the
 * fields Docker's output depends on that way (a first sample's empty `precpu_stats`, an absent
 * `networks` map, `null` blkio lists); a missing *current* reading is `undefined`, never 0.
 */
import type { DockerBlkioStats, DockerCpuStats, DockerMemoryStats, DockerNetworkStats, DockerStats } from './docker-stats-types.js';

/**
 * CPU % between two samples: delta container usage / delta system usage x online CPUs x 100.
 *
 * stats_helpers.go calculateCPUPercentUnix(previousCPU, curCPUStats):
 *   cpuDelta = cur.CPUUsage.TotalUsage - prev.CPUUsage.TotalUsage
 *   systemDelta = cur.SystemUsage - prev.SystemUsage
 *   onlineCPUs = cur.OnlineCPUs; if onlineCPUs == 0 { onlineCPUs = len(cur.CPUUsage.PercpuUsage) }
 *   if systemDelta > 0 && cpuDelta > 0 { cpuPercent = cpuDelta / systemDelta * onlineCPUs * 100 }
 * so a non-positive delta gives 0. The previous sample's missing fields count as 0 (the daemon's first
 * sample has an all-zero `precpu_stats`), as in Go. `undefined` when the current sample lacks
 * `cpu_usage.total_usage` or `system_cpu_usage` (nothing was read).
 */
export function cpuPercent(previous: DockerCpuStats | undefined, current: DockerCpuStats | undefined): number | undefined {
  const curTotal = current?.cpu_usage?.total_usage;
  const curSystem = current?.system_cpu_usage;
  if (curTotal === undefined || curSystem === undefined) return undefined;
  const cpuDelta = curTotal - (previous?.cpu_usage?.total_usage ?? 0);
  const systemDelta = curSystem - (previous?.system_cpu_usage ?? 0);
  let onlineCpus = current?.online_cpus ?? 0;
  if (onlineCpus === 0) onlineCpus = current?.cpu_usage?.percpu_usage?.length ?? 0;
  if (systemDelta > 0 && cpuDelta > 0) return (cpuDelta / systemDelta) * onlineCpus * 100;
  return 0;
}

/**
 * Memory usage without the page cache that can be reclaimed at once, in bytes (cAdvisor's working set).
 *
 * stats_helpers.go calculateMemUsageUnixNoCache(mem):
 *   if v, isCgroup1 := mem.Stats["total_inactive_file"]; isCgroup1 && v < mem.Usage { return mem.Usage - v }  // cgroup v1
 *   if v := mem.Stats["inactive_file"]; v < mem.Usage { return mem.Usage - v }                                // cgroup v2
 *   return mem.Usage
 * The result is never below 0: when inactive_file is not below usage, Docker returns usage itself.
 * `undefined` when `usage` is missing.
 */
export function memoryUsage(memory: DockerMemoryStats | undefined): number | undefined {
  const usage = memory?.usage;
  if (usage === undefined) return undefined;
  const stats = memory?.stats ?? {};
  const v1 = stats.total_inactive_file;
  if (v1 !== undefined && v1 < usage) return usage - v1;
  const v2 = stats.inactive_file ?? 0;
  if (v2 < usage) return usage - v2;
  return usage;
}

/**
 * MEM %: usage against the limit (the daemon reports the host's memory as the limit of an unlimited container).
 *
 * stats_helpers.go calculateMemPercentUnixNoCache(limit, usedNoCache):
 *   if limit != 0 { return usedNoCache / limit * 100 }; return 0
 * `undefined` when either number is missing.
 */
export function memoryPercent(usage: number | undefined, limit: number | undefined): number | undefined {
  if (usage === undefined || limit === undefined) return undefined;
  if (limit !== 0) return (usage / limit) * 100;
  return 0;
}

/** Bytes received and sent, summed over every interface. */
export interface NetworkIO {
  rx: number;
  tx: number;
}

/**
 * NET I/O: rx and tx bytes summed over the interfaces.
 *
 * stats_helpers.go calculateNetwork(network): for _, v := range network { rx += v.RxBytes; tx += v.TxBytes }
 * An absent `networks` map (a container without a network) sums to 0 / 0, as Docker prints it.
 */
export function networkIO(networks: Record<string, DockerNetworkStats> | undefined): NetworkIO {
  let rx = 0;
  let tx = 0;
  for (const v of Object.values(networks ?? {})) {
    rx += v.rx_bytes ?? 0;
    tx += v.tx_bytes ?? 0;
  }
  return { rx, tx };
}

/** Bytes read and written, summed over every device. */
export interface BlockIO {
  read: number;
  write: number;
}

/**
 * BLOCK I/O: read and write bytes of io_service_bytes_recursive, summed over devices.
 *
 * stats_helpers.go calculateBlockIO(blkio):
 *   for _, e := range blkio.IoServiceBytesRecursive { if len(e.Op) == 0 { continue }
 *     switch e.Op[0] { case 'r', 'R': read += e.Value; case 'w', 'W': write += e.Value } }
 * The op is matched on its first letter, either case ("read" on cgroup v2, "Read" on v1); "Sync",
 * "Async", "Discard" and "Total" are not counted. A `null` list sums to 0 / 0.
 */
export function blockIO(blkio: DockerBlkioStats | undefined): BlockIO {
  let read = 0;
  let write = 0;
  for (const e of blkio?.io_service_bytes_recursive ?? []) {
    const op = e.op ?? '';
    if (op.length === 0) continue;
    switch (op[0]) {
      case 'r':
      case 'R':
        read += e.value ?? 0;
        break;
      case 'w':
      case 'W':
        write += e.value ?? 0;
        break;
    }
  }
  return { read, write };
}

/** PIDS: the number of tasks (stats_helpers.go collect: `PidsCurrent: v.PidsStats.Current`); `undefined` when missing. */
export function pids(stats: DockerStats): number | undefined {
  return stats.pids_stats?.current;
}

/**
 * One container's derived numbers, as the CLI's StatsEntry (stats_helpers.go collect, the non-Windows branch).
 * Bytes for memory and I/O; percentages as 0-100 (CPU may exceed 100 on several CPUs).
 */
export interface StatsEntry {
  /** the full container id */
  id: string;
  /** the name without the leading "/" ('' when unknown) */
  name: string;
  cpuPercent: number | undefined;
  /** bytes, usage without inactive file pages */
  memory: number | undefined;
  /** bytes */
  memoryLimit: number | undefined;
  memoryPercent: number | undefined;
  /** bytes */
  networkRx: number;
  /** bytes */
  networkTx: number;
  /** bytes */
  blockRead: number;
  /** bytes */
  blockWrite: number;
  pidsCurrent: number | undefined;
}

/** Every derived number of one stats response; CPU % between its `precpu_stats` and `cpu_stats`, as the CLI does. */
export function deriveStats(stats: DockerStats): StatsEntry {
  const memory = memoryUsage(stats.memory_stats);
  const memoryLimit = stats.memory_stats?.limit;
  const net = networkIO(stats.networks);
  const blk = blockIO(stats.blkio_stats);
  return {
    id: stats.id ?? '',
    name: (stats.name ?? '').replace(/^\//, ''),
    cpuPercent: cpuPercent(stats.precpu_stats, stats.cpu_stats),
    memory,
    memoryLimit,
    memoryPercent: memoryPercent(memory, memoryLimit),
    networkRx: net.rx,
    networkTx: net.tx,
    blockRead: blk.read,
    blockWrite: blk.write,
    pidsCurrent: pids(stats),
  };
}

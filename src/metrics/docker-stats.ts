/**
 * Samples -> Docker's `GET /containers/{id}/stats` JSON (./docker-stats-types.ts), field by field as
 * moby's daemon/stats_unix.go fills it from runc's cgroup stats (statsV1 for cgroup v1, statsV2 for v2),
 * in Docker's key order. Pure.
 *
 * Where the sample lacks a reading, the field is left out (never a made-up 0); the shapes that Docker
 * itself writes as zero (a one-shot's empty `precpu_stats`, a stopped container's stats, the `null`
 * blkio lists) are written as Docker writes them.
 */
import type { CgroupMode, IoDeviceStats, Limit } from '../cgroups/types.js';
import type { CorralPressure, DockerBlkioStatEntry, DockerBlkioStats, DockerCpuStats, DockerMemoryStats, DockerNetworkStats, DockerStats } from './docker-stats-types.js';
import type { ContainerSample } from './sample.js';

/** Go's zero time, Docker's `read`/`preread` when there was no sample. */
export const ZERO_TIME = '0001-01-01T00:00:00Z';

/** pids.max "max" as Docker reports it: math.MaxUint64 (runc's fs2 reading of "max"). */
export const UINT64_MAX = 2 ** 64;

/**
 * The memory.stat keys Docker reports on cgroup v2 (moby daemon/stats_unix.go statsV2), which leaves out
 * the rest of the file; on v1 it reports every key of memory.stat.
 */
export const V2_MEMORY_STAT_KEYS: readonly string[] = [
  'anon',
  'file',
  'kernel_stack',
  'slab',
  'sock',
  'shmem',
  'file_mapped',
  'file_dirty',
  'file_writeback',
  'anon_thp',
  'inactive_anon',
  'active_anon',
  'inactive_file',
  'active_file',
  'unevictable',
  'slab_reclaimable',
  'slab_unreclaimable',
  'pgfault',
  'pgmajfault',
  'workingset_refault',
  'workingset_activate',
  'workingset_nodereclaim',
  'pgrefill',
  'pgscan',
  'pgsteal',
  'pgactivate',
  'pgdeactivate',
  'pglazyfree',
  'pglazyfreed',
  'thp_fault_alloc',
  'thp_collapse_alloc',
];

/** Who the stats are of. */
export interface StatsSubject {
  id: string;
  name?: string;
  mode: CgroupMode;
}

const ns = (usec: number | undefined) => (usec === undefined ? undefined : usec * 1000);

/** Docker's CPUStats{} zero value: what `precpu_stats` is on a one-shot or first sample. */
export function emptyCpuStats(): DockerCpuStats {
  return { cpu_usage: { total_usage: 0, usage_in_kernelmode: 0, usage_in_usermode: 0 }, throttling_data: { periods: 0, throttled_periods: 0, throttled_time: 0 } };
}

/** The CPU part of one sample (times in nanoseconds, as Docker's). */
export function cpuStats(s: ContainerSample): DockerCpuStats {
  const cpu = s.cgroup.cpu;
  return {
    cpu_usage: { total_usage: ns(cpu?.usageUsec), usage_in_kernelmode: ns(cpu?.systemUsec), usage_in_usermode: ns(cpu?.userUsec) },
    system_cpu_usage: s.systemCpuNs,
    online_cpus: s.onlineCpus,
    throttling_data: { periods: cpu?.nrPeriods, throttled_periods: cpu?.nrThrottled, throttled_time: ns(cpu?.throttledUsec) },
  };
}

/** The limit Docker reports: the cgroup's, or the host's memory when unlimited (or above it). */
export function memoryLimit(max: Limit | undefined, hostMemory: number): number | undefined {
  if (max === undefined) return undefined;
  return max === 'max' || max > hostMemory ? hostMemory : max;
}

/** memory_stats: v1 usage, max_usage, every memory.stat key, failcnt, limit; v2 usage, Docker's subset of memory.stat, limit. */
export function memoryStats(s: ContainerSample, mode: CgroupMode, hostMemory: number): DockerMemoryStats {
  const m = s.cgroup.memory;
  if (!m) return {};
  let stats: Record<string, number> | undefined;
  if (m.stat) {
    const keys = (mode === 'v1' ? Object.keys(m.stat) : V2_MEMORY_STAT_KEYS.filter((k) => m.stat![k] !== undefined)).sort();
    stats = Object.fromEntries(keys.map((k) => [k, m.stat![k]!]));
  }
  return {
    usage: m.current,
    ...(mode === 'v1' ? { max_usage: m.peak } : {}),
    stats,
    ...(mode === 'v1' ? { failcnt: m.failcnt } : {}),
    limit: memoryLimit(m.max, hostMemory),
  };
}

function entries(devices: readonly IoDeviceStats[], ops: readonly [op: string, key: keyof IoDeviceStats][]): DockerBlkioStatEntry[] | null {
  const out: DockerBlkioStatEntry[] = [];
  for (const d of devices) for (const [op, key] of ops) if (d[key] !== undefined) out.push({ major: d.major, minor: d.minor, op, value: d[key] });
  return out.length > 0 ? out : null;
}

/**
 * blkio_stats: v2 (statsV2) only io_service_bytes_recursive, "read"/"write" per device of io.stat; v1
 * (statsV1) the bytes and operations lists with the kernel's capitalised ops ("Read", "Write", "Discard";
 * corral keeps no Sync/Async/Total split). Every other list is null, as Docker writes it.
 */
export function blkioStats(s: ContainerSample, mode: CgroupMode): DockerBlkioStats {
  const devices = s.cgroup.io?.devices ?? [];
  const v1 = mode === 'v1';
  return {
    io_service_bytes_recursive: entries(
      devices,
      v1
        ? [
            ['Read', 'rbytes'],
            ['Write', 'wbytes'],
            ['Discard', 'dbytes'],
          ]
        : [
            ['read', 'rbytes'],
            ['write', 'wbytes'],
          ],
    ),
    io_serviced_recursive: v1
      ? entries(devices, [
          ['Read', 'rios'],
          ['Write', 'wios'],
          ['Discard', 'dios'],
        ])
      : null,
    io_queue_recursive: null,
    io_service_time_recursive: null,
    io_wait_time_recursive: null,
    io_merged_recursive: null,
    io_time_recursive: null,
    sectors_recursive: null,
  };
}

/** networks: per interface, Docker's eight counters; undefined when the sample has none. */
export function networkStats(s: ContainerSample): Record<string, DockerNetworkStats> | undefined {
  if (!s.networks || s.networks.size === 0) return undefined;
  const out: Record<string, DockerNetworkStats> = {};
  for (const [name, n] of s.networks) {
    out[name] = {
      rx_bytes: n.rxBytes,
      rx_packets: n.rxPackets,
      rx_errors: n.rxErrors,
      rx_dropped: n.rxDropped,
      tx_bytes: n.txBytes,
      tx_packets: n.txPackets,
      tx_errors: n.txErrors,
      tx_dropped: n.txDropped,
    };
  }
  return out;
}

/** Milliseconds since the epoch as Docker's RFC 3339 time. */
export function rfc3339(ms: number): string {
  return new Date(ms).toISOString();
}

/**
 * One stats object. `previous` fills `precpu_stats` and `preread` (Docker's stream and stream=0); without
 * it they are Docker's zero values (one-shot). Without `current` (a container that does not run) every
 * reading is Docker's empty shape.
 */
export function dockerStats(subject: StatsSubject, current: ContainerSample | undefined, previous: ContainerSample | undefined, hostMemory: number): DockerStats {
  const name = subject.name !== undefined ? `/${subject.name}` : '';
  if (!current) {
    return {
      read: ZERO_TIME,
      preread: ZERO_TIME,
      pids_stats: {},
      blkio_stats: blkioStats({ time: 0, cgroup: { errors: [] }, errors: [] }, subject.mode),
      num_procs: 0,
      storage_stats: {},
      cpu_stats: emptyCpuStats(),
      precpu_stats: emptyCpuStats(),
      memory_stats: {},
      name,
      id: subject.id,
    };
  }
  const pids = current.cgroup.pids;
  const networks = networkStats(current);
  return {
    read: rfc3339(current.time),
    preread: previous ? rfc3339(previous.time) : ZERO_TIME,
    pids_stats: { current: pids?.current, limit: pids?.max === 'max' ? UINT64_MAX : pids?.max },
    blkio_stats: blkioStats(current, subject.mode),
    num_procs: 0,
    storage_stats: {},
    cpu_stats: cpuStats(current),
    precpu_stats: previous ? cpuStats(previous) : emptyCpuStats(),
    memory_stats: memoryStats(current, subject.mode, hostMemory),
    name,
    id: subject.id,
    ...(networks ? { networks } : {}),
  };
}

/** The memory.stat keys the working set is derived from (derive.ts memoryUsage): v2's, then v1's. */
export const WORKING_SET_KEYS: readonly string[] = ['inactive_file', 'total_inactive_file'];

/**
 * A stats object without what only a display needs: `memory_stats.stats` cut to WORKING_SET_KEYS and
 * no `precpu_stats` (GET /containers/stats?working-set=1, for clients that derive the working set and
 * read the counters, such as corral alert: a third of the bytes to send and to parse).
 */
export function leanStats(stats: DockerStats): DockerStats {
  const { precpu_stats: _precpu, ...rest } = stats;
  const memoryStat = stats.memory_stats?.stats;
  if (!memoryStat) return rest;
  const kept: Record<string, number> = {};
  for (const k of WORKING_SET_KEYS) if (memoryStat[k] !== undefined) kept[k] = memoryStat[k]!;
  return { ...rest, memory_stats: { ...stats.memory_stats, stats: kept } };
}

/**
 * corral's `pressure` field of GET /containers/stats: the sample's PSI files (cpu, memory, io),
 * undefined when it has none (cgroup v1, a kernel without PSI or booted with psi=0).
 */
export function pressureStats(s: ContainerSample | undefined): CorralPressure | undefined {
  const p = s?.cgroup.pressure;
  if (!p || (!p.cpu && !p.memory && !p.io)) return undefined;
  const out: CorralPressure = {};
  for (const k of ['cpu', 'memory', 'io'] as const) {
    const f = p[k];
    if (f) out[k] = { some: { ...f.some }, ...(f.full ? { full: { ...f.full } } : {}) };
  }
  return out;
}

/**
 * The JSON text of a stats object: JSON.stringify (which leaves undefined fields out), except that
 * math.MaxUint64 is written exactly, 18446744073709551615, as Go writes it (a double cannot hold it).
 */
export function dockerStatsJson(stats: DockerStats | DockerStats[]): string {
  const token = '\u0001uint64max\u0001';
  const text = JSON.stringify(stats, (_key, value: unknown) => (value === UINT64_MAX ? token : value));
  return text.includes('uint64max') ? text.split(JSON.stringify(token)).join('18446744073709551615') : text;
}

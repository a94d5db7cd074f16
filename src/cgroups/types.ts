/**
 * The cgroup domain model, in cgroup v2's meanings (Documentation/admin-guide/cgroup-v2.rst).
 *
 * Every field is optional: `undefined` means "leave as is". Unlimited is the literal `'max'`, never
 * -1 or 0. Swap means swap alone (memory.swap.max), as in v2; the v1 driver converts it to
 * memory+swap (memory.memsw.limit_in_bytes = memory + swap).
 */

/** A limit that may be unlimited. */
export type Limit = number | 'max';

export interface CpuLimits {
  /** cpu.max quota in microseconds per period, or 'max'. v1: cpu.cfs_quota_us (-1 for 'max'). */
  quota?: Limit;
  /** cpu.max period in microseconds (1000-1000000). v1: cpu.cfs_period_us. */
  period?: number;
  /** cpu.weight, 1-10000 (default 100). v1: cpu.shares, converted back from weight. */
  weight?: number;
}

export interface CpusetLimits {
  /** cpuset.cpus, a kernel list such as "0-1,3". */
  cpus?: string;
  /** cpuset.mems, a kernel list such as "0". */
  mems?: string;
}

export interface MemoryLimits {
  /** memory.max in bytes. v1: memory.limit_in_bytes. */
  max?: Limit;
  /** memory.high in bytes (throttle point). v1: no equivalent (UnsupportedError). */
  high?: Limit;
  /** memory.low in bytes (best-effort protection; Docker's --memory-reservation). v1: memory.soft_limit_in_bytes. */
  low?: number;
  /** memory.swap.max in bytes, swap alone. v1: memory.memsw.limit_in_bytes = max + swapMax. */
  swapMax?: Limit;
  /** memory.oom.group: kill the whole cgroup on OOM. v1: no equivalent (UnsupportedError). */
  oomGroup?: boolean;
  /**
   * v1 memory.oom_control 1: the OOM killer leaves the cgroup's tasks alone (at the limit they wait
   * for memory instead). v2: no equivalent (UnsupportedError).
   */
  oomKillDisable?: boolean;
  /** v1 memory.swappiness, 0-100 (how readily the cgroup's pages are swapped). v2: no equivalent (UnsupportedError). */
  swappiness?: number;
}

export interface PidsLimits {
  /** pids.max, a number of tasks. */
  max?: Limit;
}

/** One device's line of io.max. */
export interface IoDeviceLimit {
  major: number;
  minor: number;
  /** bytes per second */
  rbps?: Limit;
  /** bytes per second */
  wbps?: Limit;
  /** operations per second */
  riops?: Limit;
  /** operations per second */
  wiops?: Limit;
}

export interface IoLimits {
  /** io.weight default, 1-10000 (default 100). v1: blkio.weight 10-1000, converted. */
  weight?: number;
  /** io.max lines. v1: blkio.throttle.{read,write}_{bps,iops}_device. */
  max?: IoDeviceLimit[];
}

export interface Resources {
  cpu?: CpuLimits;
  cpuset?: CpusetLimits;
  memory?: MemoryLimits;
  pids?: PidsLimits;
  io?: IoLimits;
}

export type CgroupMode = 'v1' | 'v2';

/**
 * One planned write: `value` goes into `file` (relative to the cgroup directory, v2; or to the hierarchy's
 * cgroup directory, v1). A plan is an ordered list: the writes are performed in order.
 */
export interface PlannedWrite {
  /** v1 only: the hierarchy (controller mount) the file lives in, e.g. 'memory'. */
  hierarchy?: string;
  file: string;
  value: string;
}

/** One line of a PSI file: shares of wall time (percent) over 10/60/300 s, and the total stall time in microseconds. */
export interface PressureLine {
  avg10: number;
  avg60: number;
  avg300: number;
  /** microseconds */
  total: number;
}

/** A PSI file (cpu.pressure, memory.pressure, io.pressure; kernel 4.20+). `full` is absent from cpu.pressure before 5.13. */
export interface Pressure {
  some: PressureLine;
  full?: PressureLine;
}

/** One device's I/O counters (v2 io.stat; v1 blkio.throttle.io_service_bytes_recursive / io_serviced_recursive). */
export interface IoDeviceStats {
  major: number;
  minor: number;
  /** bytes read */
  rbytes?: number;
  /** bytes written */
  wbytes?: number;
  /** read operations */
  rios?: number;
  /** write operations */
  wios?: number;
  /** bytes discarded */
  dbytes?: number;
  /** discard operations */
  dios?: number;
}

/**
 * What the kernel accounts for a cgroup, read back. Missing optional files are `undefined`,
 * never 0; `errors` lists what could not be read (a broken file never blanks the others).
 */
export interface CgroupStats {
  cpu?: {
    /** total CPU time in microseconds (v2 cpu.stat usage_usec; v1 cpuacct.usage / 1000) */
    usageUsec?: number;
    userUsec?: number;
    systemUsec?: number;
    nrPeriods?: number;
    nrThrottled?: number;
    throttledUsec?: number;
  };
  memory?: {
    /** bytes (v2 memory.current; v1 memory.usage_in_bytes) */
    current?: number;
    /** bytes (v2 memory.peak, kernel 5.19+; v1 memory.max_usage_in_bytes) */
    peak?: number;
    /** limit in bytes or 'max' */
    max?: Limit;
    /**
     * bytes of swap in use (v2 memory.swap.current, absent without swap accounting; v1 memory.stat
     * total_swap, present only with swap accounting)
     */
    swapCurrent?: number;
    /** times the usage hit the limit (v1 memory.failcnt; v2 has no such file: see events.max) */
    failcnt?: number;
    /** counters of memory.events (v2) or oom_kill from memory.oom_control (v1) */
    events?: { low?: number; high?: number; max?: number; oom?: number; oomKill?: number; oomGroupKill?: number };
    /** memory.stat as flat key -> number */
    stat?: Record<string, number>;
  };
  pids?: { current?: number; max?: Limit };
  /** per-device I/O counters (v1: only devices with a blkio.throttle rule are counted by the kernel) */
  io?: { devices: IoDeviceStats[] };
  /** pressure stall information (v2 only; undefined where the kernel has no PSI or it is disabled) */
  pressure?: { cpu?: Pressure; memory?: Pressure; io?: Pressure };
  /** `file` is the absolute path of the file that could not be read or parsed */
  errors: { file: string; message: string }[];
}

/**
 * What CgroupStatsReader.activity() read: the files, and their bytes one after the other in `bytes`
 * (file i's end at ends[i]), in the same order. Bytes, not texts: a quiet container costs a compare.
 */
export interface ActivityReading {
  readonly files: readonly string[];
  readonly bytes: Uint8Array;
  readonly ends: readonly number[];
}

/**
 * Reads a cgroup's stats again and again, synchronously (cgroup files answer from kernel memory; no
 * promise per file). The counters are read on every read(); the limits (v1 memory.limit_in_bytes, v2
 * memory.max, pids.max) and, on v2, cgroup.controllers change only when corral writes them, so they are
 * read on the first read() and again on the read() after refreshLimits() (or after they failed).
 */
export interface CgroupStatsReader {
  /** every counter file; `activity`, from activity() just before, spares reading its files again */
  read(activity?: ActivityReading): CgroupStats;
  /**
   * The cgroup's two cheapest moving counters, read now: CPU time (v1 cpuacct.usage; v2 cpu.stat) and
   * memory charged (v1 memory.usage_in_bytes; v2 memory.current). Neither moves unless a task of the
   * cgroup runs or its memory charge changes, so equal readings one interval apart say the cgroup was
   * quiet. undefined when a file failed, or (v2, before the first read()) its controllers are unknown.
   */
  activity(): ActivityReading | undefined;
  /**
   * The files activity() would read now, or undefined when it would read none: for a caller that reads
   * many cgroups' activity counters in one go (FileBatch) instead of activity() one by one.
   */
  activityFiles?(): readonly string[] | undefined;
  /** read the limits again on the next read(): they were written (`corral update`) */
  refreshLimits(): void;
}

/**
 * What woke a memory cgroup's notification source. A notification only says "look now": several
 * kernel events may come as one, and the counters (memory.events, memory.oom_control) say what happened.
 */
export type MemoryNotification =
  /** v1: the OOM eventfd (memory.oom_control): the OOM killer is about to run, or the cgroup was removed */
  | 'oom'
  /** v1: memory.usage_in_bytes crossed the threshold of watchUsageThreshold, up or down */
  | 'usage-threshold'
  /** v2: memory.events changed (the kernel notifies at most every 20 ms per file, never dropping the last) */
  | 'events'
  /** v2: memory.events is gone (the cgroup was removed) */
  | 'gone';

/**
 * A memory cgroup's OOM and limit notifications, as the kernel gives them (Cgroup.memoryEvents()):
 * v1 an eventfd registered through cgroup.event_control and waited on by the process's one fd poller
 * (src/sys/fd-poller.ts); v2 an inotify watch of memory.events.
 */
interface MemoryEventSourceCommon {
  /**
   * Resolves once the kernel notifies; rejects when it cannot (no memory controller, the cgroup is
   * gone): nothing is held then.
   */
  readonly ready: Promise<void>;
  /** call `listener` at each notification until close() */
  onChange(listener: (what: MemoryNotification) => void): void;
  /** release the eventfds or the inotify watch (after setup, if it still runs); idempotent */
  close(): Promise<void>;
}

/** cgroup v1's source, which also notifies usage thresholds. */
export interface V1MemoryEventSource extends MemoryEventSourceCommon {
  readonly mode: 'v1';
  /**
   * Notify 'usage-threshold' when memory.usage_in_bytes crosses `bytes` either way, in place of the
   * threshold set before (undefined: none). One eventfd per threshold: the kernel's unregister removes
   * every threshold of an eventfd at once, and before Linux 5.6 a second unregister of the same eventfd
   * dereferenced NULL. Throws when the kernel refuses (PREEMPT_RT kernels have no thresholds).
   */
  watchUsageThreshold(bytes: number | undefined): Promise<void>;
}

/** cgroup v2's source: the watch of memory.events. */
export interface V2MemoryEventSource extends MemoryEventSourceCommon {
  readonly mode: 'v2';
}

export type MemoryEventSource = V1MemoryEventSource | V2MemoryEventSource;

export interface MemoryEventOptions {
  /** errors of the notification machinery after setup (inotify errors, the fd poller's) */
  onError?: (err: Error) => void;
}

/** What both modes' handles have. */
interface CgroupCommon {
  /** the name relative to the driver's parent, e.g. "<container id>" */
  readonly name: string;
  /** absolute cgroup.procs files the launcher writes "0" into (one per hierarchy on v1) */
  readonly procsFiles: readonly string[];
  /** the absolute directory per hierarchy: v2 { unified: dir }; v1 { cpu: ..., memory: ..., ... } (co-mounted controllers share one) */
  readonly paths: Readonly<Record<string, string>>;
  /** move an existing process in */
  addProcess(pid: number): Promise<void>;
  /** apply limits (validated and planned first; nothing is written if the plan fails) */
  apply(resources: Resources): Promise<void>;
  /** every stats file read once (a new statsReader() each time) */
  stats(): Promise<CgroupStats>;
  /** a reader for sampling this cgroup again and again (file paths joined once, limits kept) */
  statsReader(): CgroupStatsReader;
  /** the kernel's count of OOM kills in this cgroup (v2 memory.events oom_kill; v1 memory.oom_control oom_kill) */
  oomKillCount(): Promise<number | undefined>;
  /** the pids currently in the cgroup (all hierarchies, deduplicated) */
  pids(): Promise<number[]>;
  /** stop every task inside (docker pause): returns once the kernel says the cgroup is frozen */
  freeze(): Promise<void>;
  thaw(): Promise<void>;
  /**
   * whether a freeze is in force: v1 freezer.state FROZEN or FREEZING (some tasks stopped), v2
   * cgroup.freeze 1 (asked; cgroup.events' `frozen` says when it has taken hold). False where the
   * cgroup cannot be frozen (no v1 freezer hierarchy, a v2 kernel before 5.2): nothing is frozen there
   */
  frozen(): Promise<boolean>;
  /** SIGKILL everything inside (cgroup.kill where present, else freeze + kill each + thaw) and wait until empty */
  kill(): Promise<void>;
  /** kill, then remove every directory of this cgroup; idempotent; a missing cgroup is fine */
  destroy(): Promise<void>;
}

/** A cgroup v1 container cgroup: one directory per hierarchy. */
export interface CgroupV1 extends CgroupCommon {
  readonly mode: 'v1';
  /** v1 has no one directory (see paths) */
  readonly dir: undefined;
  /** the memory cgroup's OOM notification, set up now (see `ready`); throws UnsupportedError without a memory hierarchy */
  memoryEvents(options?: MemoryEventOptions): V1MemoryEventSource;
}

/** A cgroup v2 container cgroup: one directory. */
export interface CgroupV2 extends CgroupCommon {
  readonly mode: 'v2';
  /** the absolute directory (the launcher's CLONE_INTO_CGROUP target) */
  readonly dir: string;
  /** the watch of memory.events, set up now (see `ready`) */
  memoryEvents(options?: MemoryEventOptions): V2MemoryEventSource;
}

/**
 * A container's cgroup, its mode said by `mode`. Obtained from CgroupDriver.create / open. Every method
 * that a mode cannot do throws UnsupportedError.
 */
export type Cgroup = CgroupV1 | CgroupV2;

/** Facts about where corral may create cgroups, used to validate limits before anything is created. */
export interface CgroupParentInfo {
  mode: CgroupMode;
  /**
   * the parent's effective CPUs (cpuset.cpus.effective / cpuset.effective_cpus) as a kernel list, read from
   * the nearest existing cgroup on the way up from the parent (the parent may not exist yet); without a
   * cpuset controller, the kernel's online CPUs (/sys/devices/system/cpu/online)
   */
  effectiveCpus: string;
  /** the parent's effective memory nodes, as effectiveCpus (fallback /sys/devices/system/node/online, else "0") */
  effectiveMems: string;
  /** controllers usable for children */
  controllers: string[];
  /** the parent's absolute directory per hierarchy (v2 { unified: dir }); it may not exist yet */
  dirs: Record<string, string>;
}

export interface CgroupDriver {
  readonly mode: CgroupMode;
  /** facts about the parent under which containers are created */
  parentInfo(): Promise<CgroupParentInfo>;
  /**
   * validate and plan `resources` for a new cgroup; reads the parent's files (available controllers,
   * effective cpus, which files exist) but writes nothing; throws InvalidLimitError / UnsupportedError
   */
  plan(resources: Resources): Promise<PlannedWrite[]>;
  /** create the container cgroup `name` and apply `resources`; on any failure nothing is left behind */
  create(name: string, resources: Resources): Promise<Cgroup>;
  /** a handle to an existing container cgroup (it may already be gone: destroy() is then a no-op) */
  open(name: string): Cgroup;
  /** names of the container cgroups that exist now */
  list(): Promise<string[]>;
  /**
   * remove the parent directories corral created (`<own>/corral`, or a relative --cgroup-parent) when no
   * container cgroup is left in them; true when they are gone. destroy() never does this (other containers
   * may share the parent).
   */
  removeParentIfEmpty(): Promise<boolean>;
}

/**
 * The pure half of the OOM watcher: the kernel's OOM counters parsed from their files, diffed
 * against the last values seen, and an `oom` event's attributes built from them and from a
 * `memory.stat` snapshot. No I/O here; src/metrics/oom-watch.ts reads the files.
 *
 * Sources (Documentation/admin-guide/cgroup-v2.rst "memory.events"; cgroup-v1/memory.rst 10. OOM
 * Control): v2 `memory.events` holds low, high, max, oom, oom_kill (Linux 4.13+) and
 * oom_group_kill (5.17+), each a monotonic count local to the cgroup and its descendants; v1
 * `memory.oom_control` holds oom_kill_disable, under_oom and oom_kill (4.13+), and `memory.failcnt`
 * counts the times usage hit the limit.
 *
 * The counters are the truth, never the notifications: a notification may come before the counter
 * moves, several changes may share one notification, and a kill may be seen only by the backstop
 * re-read. Diffing two reads gives how many kills happened in between, whatever was notified.
 */
import { ParseError } from '../errors.js';
import { parseFlatKeyed } from '../cgroups/parse.js';
import type { CgroupMode, Limit } from '../cgroups/types.js';

export interface OomCounters {
  /** processes the OOM killer killed in this cgroup (v2 memory.events / v1 memory.oom_control oom_kill) */
  oomKill: number;
  /** v2: times the OOM killer was invoked because the limit was hit and reclaim failed */
  oom?: number;
  /** v2: times usage was about to go over memory.max (direct reclaim followed) */
  max?: number;
  /** v2: times usage went over memory.high (the cgroup was throttled) */
  high?: number;
  /** v2 (5.17+): times memory.oom.group killed the whole cgroup */
  oomGroupKill?: number;
  /** v1 memory.failcnt: times usage hit memory.limit_in_bytes */
  failcnt?: number;
  /** v1: 1 while the cgroup's tasks are stuck under OOM (only with oom_kill_disable 1) */
  underOom?: number;
}

/** How much each counter rose between two reads; 0 where it did not move or is not kept. */
export interface OomDelta {
  oomKill: number;
  oom: number;
  max: number;
  high: number;
  oomGroupKill: number;
  failcnt: number;
}

/** A cgroup that has not seen anything: the baseline of a container this daemon starts. */
export const ZERO_COUNTERS: OomCounters = { oomKill: 0 };

/** v2 memory.events, e.g. "low 0\nhigh 0\nmax 161\noom 2\noom_kill 2\noom_group_kill 0\n". */
export function parseMemoryEvents(text: string, path = 'memory.events'): OomCounters {
  const e = parseFlatKeyed(text, path);
  if (e.oom_kill === undefined) throw new ParseError('memory.events (no oom_kill counter: Linux 4.13+ needed)', text.trim(), path);
  const out: OomCounters = { oomKill: e.oom_kill };
  if (e.oom !== undefined) out.oom = e.oom;
  if (e.max !== undefined) out.max = e.max;
  if (e.high !== undefined) out.high = e.high;
  if (e.oom_group_kill !== undefined) out.oomGroupKill = e.oom_group_kill;
  return out;
}

/**
 * v1 memory.oom_control ("oom_kill_disable 0\nunder_oom 0\noom_kill 1\n") and, when read,
 * memory.failcnt's single number.
 */
export function parseOomControl(text: string, failcnt?: number, path = 'memory.oom_control'): OomCounters {
  const c = parseFlatKeyed(text, path);
  if (c.oom_kill === undefined) throw new ParseError('memory.oom_control (no oom_kill counter: Linux 4.13+ needed)', text.trim(), path);
  const out: OomCounters = { oomKill: c.oom_kill };
  if (c.under_oom !== undefined) out.underOom = c.under_oom;
  if (failcnt !== undefined) out.failcnt = failcnt;
  return out;
}

/**
 * How far a counter rose. A counter that went down belongs to a new cgroup of the same name (the
 * old one was removed and made again): everything it holds is new.
 */
function rise(prev: number | undefined, next: number | undefined): number {
  if (next === undefined) return 0;
  if (prev === undefined || next < prev) return next;
  return next - prev;
}

export function diffCounters(prev: OomCounters, next: OomCounters): OomDelta {
  return {
    oomKill: rise(prev.oomKill, next.oomKill),
    oom: rise(prev.oom, next.oom),
    max: rise(prev.max, next.max),
    high: rise(prev.high, next.high),
    oomGroupKill: rise(prev.oomGroupKill, next.oomGroupKill),
    failcnt: rise(prev.failcnt, next.failcnt),
  };
}

/**
 * Whether a snapshot was read before or after the kill it goes with. The kernel counts a kill
 * (oom_kill) before it sends the SIGKILL ("raise event before sending signal", mm/oom_kill.c), so
 * a memory.stat read followed by a counter read that still shows the old count was read while the
 * victim's pages were all there: 'before-kill'. A snapshot read after the count moved may show the
 * victim's memory already freed: 'after-kill'.
 */
export type SnapshotWhen = 'before-kill' | 'after-kill';

/** What the cgroup's memory held when the snapshot was read. */
export interface MemorySnapshot {
  /** ms since the epoch */
  takenAt: number;
  /** set once the counters read after it are known */
  when?: SnapshotWhen;
  /** bytes: v2 memory.current, v1 memory.usage_in_bytes */
  usage?: number;
  /** v2 memory.max, v1 memory.limit_in_bytes (v1's huge "unlimited" as 'max') */
  limit?: Limit;
  /** bytes, the highest usage the cgroup has seen: v2 memory.peak (Linux 5.19+), v1 memory.max_usage_in_bytes */
  peak?: number;
  /** v1 only: memory.kmem.usage_in_bytes (kernel memory; v2 has `kernel` in memory.stat) */
  kernel?: number;
  /** memory.stat as read */
  stat: Record<string, number>;
}

/**
 * The memory.stat keys an `oom` event carries, under one name for both modes: the event attribute
 * is `memory.<name>`, the v2 key and the v1 key (hierarchical `total_*`, so a nested cgroup
 * counts). v1 has no per-kind kernel breakdown: only `kernel` (from memory.kmem.usage_in_bytes).
 */
export const SNAPSHOT_KEYS: readonly { name: string; v2: string; v1?: string }[] = [
  { name: 'anon', v2: 'anon', v1: 'total_rss' },
  { name: 'file', v2: 'file', v1: 'total_cache' },
  { name: 'shmem', v2: 'shmem', v1: 'total_shmem' },
  { name: 'kernel', v2: 'kernel' },
  { name: 'kernel_stack', v2: 'kernel_stack' },
  { name: 'pagetables', v2: 'pagetables' },
  { name: 'slab', v2: 'slab' },
  { name: 'sock', v2: 'sock' },
  { name: 'percpu', v2: 'percpu' },
  { name: 'file_mapped', v2: 'file_mapped', v1: 'total_mapped_file' },
  { name: 'file_dirty', v2: 'file_dirty', v1: 'total_dirty' },
  { name: 'file_writeback', v2: 'file_writeback', v1: 'total_writeback' },
  { name: 'swapcached', v2: 'swapcached', v1: 'total_swapcached' },
  { name: 'active_anon', v2: 'active_anon', v1: 'total_active_anon' },
  { name: 'inactive_anon', v2: 'inactive_anon', v1: 'total_inactive_anon' },
  { name: 'active_file', v2: 'active_file', v1: 'total_active_file' },
  { name: 'inactive_file', v2: 'inactive_file', v1: 'total_inactive_file' },
  { name: 'unevictable', v2: 'unevictable', v1: 'total_unevictable' },
];

/** `memory.*` attributes of a snapshot; a key the kernel did not give is left out, never 0. */
export function snapshotAttributes(mode: CgroupMode, s: MemorySnapshot): Record<string, string> {
  const out: Record<string, string> = {};
  if (s.usage !== undefined) out['memory.usage'] = String(s.usage);
  if (s.limit !== undefined) out['memory.limit'] = String(s.limit);
  if (s.peak !== undefined) out['memory.peak'] = String(s.peak);
  for (const k of SNAPSHOT_KEYS) {
    const value = mode === 'v2' ? s.stat[k.v2] : k.v1 === undefined ? undefined : s.stat[k.v1];
    if (value !== undefined) out[`memory.${k.name}`] = String(value);
  }
  if (mode === 'v1' && s.kernel !== undefined) out['memory.kernel'] = String(s.kernel);
  out['memory.stat_time'] = new Date(s.takenAt).toISOString();
  if (s.when !== undefined) out['memory.stat_when'] = s.when;
  return out;
}

/**
 * The snapshot an `oom` event carries, of the last one read before the kill and one read after it:
 * the fuller (by usage), the earlier on a tie. The one before shows what filled the memory; the
 * one after may show the victim's pages already freed, but it is the newer when the one before is
 * old and the cgroup is still full (a child was killed and the rest still fills the limit).
 */
export function killSnapshot(before: MemorySnapshot | undefined, after: MemorySnapshot | undefined): MemorySnapshot | undefined {
  if (before === undefined || after === undefined) return before ?? after;
  return (before.usage ?? 0) >= (after.usage ?? 0) ? before : after;
}

/** the largest gap between a v1 usage threshold and the limit */
export const NEAR_LIMIT_MAX_GAP = 16 * 1024 * 1024;

/**
 * The usage (bytes) at which cgroup v1 signals a threshold eventfd so a snapshot is read before an
 * OOM kill: a tenth of the limit below it, at most NEAR_LIMIT_MAX_GAP (16 MiB) below. The gap must
 * be wider than the kernel's granularity (usage is compared to thresholds every 128 page charges
 * per CPU) and than what a fast hog allocates while the daemon reads; closer is fresher. Undefined
 * when there is no limit.
 */
export function nearLimitThreshold(limit: Limit): number | undefined {
  if (limit === 'max' || limit <= 0) return undefined;
  return limit - Math.min(Math.floor(limit / 10), NEAR_LIMIT_MAX_GAP);
}

/** The counters as attributes, named as in the kernel's files. */
export function counterAttributes(c: OomCounters): Record<string, string> {
  const out: Record<string, string> = { oom_kill: String(c.oomKill) };
  if (c.oom !== undefined) out.oom = String(c.oom);
  if (c.max !== undefined) out.max = String(c.max);
  if (c.high !== undefined) out.high = String(c.high);
  if (c.oomGroupKill !== undefined) out.oom_group_kill = String(c.oomGroupKill);
  if (c.failcnt !== undefined) out.failcnt = String(c.failcnt);
  if (c.underOom !== undefined) out.under_oom = String(c.underOom);
  return out;
}

/**
 * The attributes of the `oom` event for kill number `killNumber` (the oom_kill counter counting
 * this kill: when one read shows two new kills, the first event says n-1, the second n).
 */
export function oomEventAttributes(mode: CgroupMode, killNumber: number, counters: OomCounters, snapshot: MemorySnapshot | undefined): Record<string, string> {
  return { ...counterAttributes(counters), oom_kill: String(killNumber), ...(snapshot ? snapshotAttributes(mode, snapshot) : {}) };
}

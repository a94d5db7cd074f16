/**
 * cgroup v1 memory controller (Documentation/admin-guide/cgroup-v1/memory.rst).
 *
 * Limits: memory.limit_in_bytes (memory.max), memory.memsw.limit_in_bytes (memory + swap: the v2 meaning
 * "swap alone" is converted, memsw = max + swapMax), memory.soft_limit_in_bytes (memory.low). The kernel
 * keeps memsw >= memory at every moment, so the two writes are ordered against the current values: raising
 * writes memsw first, lowering writes memory first. memory.high and memory.oom.group have no v1 equivalent.
 *
 * Stats: memory.usage_in_bytes, memory.max_usage_in_bytes, memory.failcnt, memory.oom_control (oom_kill,
 * Linux 4.13+), memory.stat; the limit, memory.limit_in_bytes, apart (limit()): it changes only when
 * written, so a stats reader keeps it.
 */
import { posix as path } from 'node:path';
import { InvalidLimitError, UnsupportedError } from '../../errors.js';
import type { CgroupDir, StatsCollector } from '../collect.js';
import { compact } from '../collect.js';
import { parseFlatKeyed, parseSingleValue } from '../parse.js';
import { parseNumberBytes, parseSingleValueBytes } from '../parse-bytes.js';
import type { CgroupStats, Limit, MemoryLimits, PlannedWrite } from '../types.js';
import { checkAtLeast, checkLimit } from '../validate.js';

const H = 'memory';
const LIMIT = 'memory.limit_in_bytes';
const MEMSW = 'memory.memsw.limit_in_bytes';

/**
 * v1 reports "no limit" as PAGE_COUNTER_MAX pages in bytes (9223372036854771712 with 4 KiB pages, larger
 * than 2^53): anything at or above 2^62 is read as 'max'.
 */
export const V1_UNLIMITED_MIN = 2 ** 62;

/** A v1 limit file's number -> Limit. */
export function fromV1Limit(value: Limit): Limit {
  return value === 'max' || value === -1 || value >= V1_UNLIMITED_MIN ? 'max' : value;
}

/** A Limit -> what v1 limit files take ("-1" for unlimited). */
export function toV1Limit(value: Limit): string {
  return value === 'max' ? '-1' : String(value);
}

export interface MemoryPlanContext {
  /** the cgroup's limits now; a new cgroup's are unlimited (the default) */
  current?: { limit: Limit; memsw: Limit };
  /** whether memory.memsw.limit_in_bytes exists (swap accounting on); assumed when undefined */
  hasMemsw?: boolean;
  /** where hasMemsw was checked, for the message */
  checkedDir?: string;
}

/** a <= b, with 'max' as infinity */
function le(a: Limit, b: Limit): boolean {
  return b === 'max' || (a !== 'max' && a <= b);
}

export function plan(limits: MemoryLimits | undefined, ctx: MemoryPlanContext = {}): PlannedWrite[] {
  if (!limits) return [];
  if (limits.high !== undefined) {
    throw new UnsupportedError('memory.high is not supported on cgroup v1: it has no throttling limit (use memory.max)');
  }
  if (limits.oomGroup === true) {
    throw new UnsupportedError('memory.oom.group is not supported on cgroup v1: its OOM killer picks single tasks');
  }
  const max = limits.max === undefined ? undefined : checkLimit('memory.max', limits.max, 0, 'bytes');
  const swap = limits.swapMax === undefined ? undefined : checkLimit('memory.swap.max', limits.swapMax, 0, 'bytes');
  const low = limits.low === undefined ? undefined : checkAtLeast('memory.low', limits.low, 0, 'bytes');
  const hasMemsw = ctx.hasMemsw !== false;
  const cur = ctx.current ?? { limit: 'max', memsw: 'max' };
  const mem: Limit = max ?? cur.limit;

  // The memory + swap limit to write, if any.
  let memsw: Limit | undefined;
  if (swap !== undefined) {
    if (!hasMemsw) {
      throw new UnsupportedError(
        `memory.swap.max is not supported here: ${MEMSW} does not exist in ${ctx.checkedDir ?? 'the parent cgroup'} (the kernel does no swap accounting; boot with swapaccount=1)`,
      );
    }
    if (swap === 'max') memsw = 'max';
    else if (mem === 'max') {
      throw new UnsupportedError(`memory.swap.max ${swap} without a memory.max is not supported on cgroup v1: it limits memory + swap (${MEMSW}), so the swap limit needs a memory limit`);
    } else {
      memsw = mem + swap;
      if (!Number.isSafeInteger(memsw)) throw new InvalidLimitError(`invalid memory.max + memory.swap.max ${mem} + ${swap}: too large`);
    }
  } else if (max !== undefined && hasMemsw && cur.memsw !== 'max') {
    // Swap left as is: keep the current swap allowance (memsw - memory) on top of the new memory limit.
    memsw = max === 'max' || cur.limit === 'max' ? 'max' : max + (cur.memsw - cur.limit);
  }

  const writes: PlannedWrite[] = [];
  const memWrite: PlannedWrite | undefined = max === undefined ? undefined : { hierarchy: H, file: LIMIT, value: toV1Limit(max) };
  const swWrite: PlannedWrite | undefined = memsw === undefined ? undefined : { hierarchy: H, file: MEMSW, value: toV1Limit(memsw) };
  // memsw may go first only if it stays >= the memory limit in force until the second write.
  if (swWrite && memsw !== undefined && le(cur.limit, memsw)) writes.push(swWrite, ...(memWrite ? [memWrite] : []));
  else writes.push(...(memWrite ? [memWrite] : []), ...(swWrite ? [swWrite] : []));
  if (low !== undefined) writes.push({ hierarchy: H, file: 'memory.soft_limit_in_bytes', value: String(low) });
  if (limits.swappiness !== undefined) {
    const s = limits.swappiness;
    if (!Number.isInteger(s) || s < 0 || s > 100) throw new InvalidLimitError(`invalid memory.swappiness ${s}: expected 0 to 100`);
    writes.push({ hierarchy: H, file: 'memory.swappiness', value: String(s) });
  }
  // memory.oom_control takes only its oom_kill_disable flag on writes
  if (limits.oomKillDisable !== undefined) writes.push({ hierarchy: H, file: 'memory.oom_control', value: limits.oomKillDisable ? '1' : '0' });
  return writes;
}

/** The cgroup's current limits, for plan's ordering (memsw 'max' when swap accounting is off). */
export function currentLimits(dir: string, c: StatsCollector): { limit: Limit; memsw: Limit } | undefined {
  const limit = c.required(path.join(dir, LIMIT), parseSingleValue);
  const memsw = c.optional(path.join(dir, MEMSW), parseSingleValue);
  return limit === undefined ? undefined : { limit: fromV1Limit(limit), memsw: memsw === undefined ? 'max' : fromV1Limit(memsw) };
}

/** The memory limit, memory.limit_in_bytes: what a stats reader keeps until the limits change. */
export function limit(dir: CgroupDir, c: StatsCollector): Limit | undefined {
  const max = c.requiredBytes(dir.file(LIMIT), parseSingleValueBytes);
  return max === undefined ? undefined : fromV1Limit(max);
}

/** The counters; `max` is limit()'s reading. */
export function stats(dir: CgroupDir, c: StatsCollector, max: Limit | undefined): CgroupStats['memory'] {
  const current = c.requiredBytes(dir.file('memory.usage_in_bytes'), parseNumberBytes);
  const peak = c.requiredBytes(dir.file('memory.max_usage_in_bytes'), parseNumberBytes);
  const failcnt = c.requiredBytes(dir.file('memory.failcnt'), parseNumberBytes);
  const oom = c.requiredBytes(dir.file('memory.oom_control'), dir.flatKeyed('memory.oom_control'));
  const stat = c.requiredBytes(dir.file('memory.stat'), dir.flatKeyed('memory.stat'));
  return compact({
    current,
    peak,
    // swap accounting on: memory.stat has total_swap (what memory.memsw.usage_in_bytes - usage would give, without a read)
    swapCurrent: stat?.total_swap,
    failcnt,
    max,
    events: oom?.oom_kill === undefined ? undefined : { oomKill: oom.oom_kill },
    stat,
  });
}

/** memory.oom_control oom_kill (Linux 4.13+); undefined when the file or the key is absent. */
export function oomKillCount(dir: string, c: StatsCollector): number | undefined {
  const oom = c.optional(path.join(dir, 'memory.oom_control'), parseFlatKeyed);
  return oom?.oom_kill;
}

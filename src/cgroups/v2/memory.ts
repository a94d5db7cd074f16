/**
 * cgroup v2 memory controller: memory.max, memory.swap.max, memory.high, memory.low, memory.oom.group;
 * stats from memory.current, memory.peak (5.19+), memory.swap.current, memory.max, memory.events, memory.stat, memory.pressure.
 * The v2 limits are independent of each other: no write order matters.
 */
import { posix as path } from 'node:path';
import { UnsupportedError } from '../../errors.js';
import type { CgroupDir, StatsCollector } from '../collect.js';
import { compact } from '../collect.js';
import { parseFlatKeyed, parsePressure } from '../parse.js';
import { parseNumberBytes, parseSingleValueBytes } from '../parse-bytes.js';
import type { CgroupStats, Limit, MemoryLimits, PlannedWrite, Pressure } from '../types.js';
import { checkAtLeast, checkLimit } from '../validate.js';

export interface MemoryPlanContext {
  /** whether memory.swap.max exists (no swap accounting: CONFIG_MEMCG_SWAP off or swapaccount=0); unchecked when undefined */
  hasSwap?: boolean;
  /** where hasSwap was checked, for the message */
  checkedDir?: string;
}

export function plan(limits: MemoryLimits | undefined, ctx: MemoryPlanContext = {}): PlannedWrite[] {
  if (!limits) return [];
  const writes: PlannedWrite[] = [];
  if (limits.max !== undefined) writes.push({ file: 'memory.max', value: String(checkLimit('memory.max', limits.max, 0, 'bytes')) });
  if (limits.swapMax !== undefined) {
    const value = String(checkLimit('memory.swap.max', limits.swapMax, 0, 'bytes'));
    if (ctx.hasSwap === false) {
      throw new UnsupportedError(
        `memory.swap.max is not supported here: the file does not exist in ${ctx.checkedDir ?? 'the parent cgroup'} (the kernel does no swap accounting; boot without swapaccount=0)`,
      );
    }
    writes.push({ file: 'memory.swap.max', value });
  }
  if (limits.high !== undefined) writes.push({ file: 'memory.high', value: String(checkLimit('memory.high', limits.high, 0, 'bytes')) });
  if (limits.low !== undefined) writes.push({ file: 'memory.low', value: String(checkAtLeast('memory.low', limits.low, 0, 'bytes')) });
  if (limits.oomGroup !== undefined) writes.push({ file: 'memory.oom.group', value: limits.oomGroup ? '1' : '0' });
  if (limits.swappiness !== undefined) {
    throw new UnsupportedError('memory.swappiness is not supported on cgroup v2: it has no per-cgroup swappiness (the kernel-wide vm.swappiness applies)');
  }
  if (limits.oomKillDisable === true) {
    throw new UnsupportedError('memory.oom_control is not supported on cgroup v2: the OOM killer cannot be turned off for a cgroup (memory.oom.group decides only how much it kills)');
  }
  return writes;
}

function events(e: Record<string, number>): NonNullable<CgroupStats['memory']>['events'] {
  return compact({ low: e.low, high: e.high, max: e.max, oom: e.oom, oomKill: e.oom_kill, oomGroupKill: e.oom_group_kill }) ?? {};
}

/** The memory limit, memory.max: what a stats reader keeps until the limits change. */
export function limit(dir: CgroupDir, c: StatsCollector): Limit | undefined {
  return c.requiredBytes(dir.file('memory.max'), parseSingleValueBytes);
}

/** The counters; `max` is limit()'s reading. */
export function stats(dir: CgroupDir, c: StatsCollector, max: Limit | undefined): CgroupStats['memory'] {
  const current = c.requiredBytes(dir.file('memory.current'), parseNumberBytes);
  const peak = c.optionalBytes(dir.file('memory.peak'), parseNumberBytes); // Linux 5.19+
  const swapCurrent = c.optionalBytes(dir.file('memory.swap.current'), parseNumberBytes); // absent without swap accounting
  const ev = c.requiredBytes(dir.file('memory.events'), dir.flatKeyed('memory.events'));
  const stat = c.requiredBytes(dir.file('memory.stat'), dir.flatKeyed('memory.stat'));
  return compact({ current, peak, swapCurrent, max, events: ev ? events(ev) : undefined, stat });
}

/** memory.pressure: a core file of every non-root cgroup (Linux 4.20+ with PSI; absent otherwise). */
export function pressure(dir: CgroupDir, c: StatsCollector): Pressure | undefined {
  return c.optional(dir.file('memory.pressure'), parsePressure);
}

/** memory.events oom_kill (Linux 4.13+); undefined when the file or the key is absent. */
export function oomKillCount(dir: string, c: StatsCollector): number | undefined {
  const ev = c.optional(path.join(dir, 'memory.events'), parseFlatKeyed);
  return ev?.oom_kill;
}

/**
 * cgroup v2 cpu controller: cpu.weight and cpu.max; stats from cpu.stat and cpu.pressure.
 * cpu.stat's usage_usec/user_usec/system_usec exist in every cgroup (core accounting); nr_periods,
 * nr_throttled and throttled_usec only where the cpu controller is enabled.
 */
import type { CgroupDir, StatsCollector } from '../collect.js';
import { compact } from '../collect.js';
import { parsePressure } from '../parse.js';
import type { CgroupStats, CpuLimits, Limit, PlannedWrite, Pressure } from '../types.js';
import { checkLimit, checkRange } from '../validate.js';

/** cpu.max period range, microseconds (kernel: 1 ms - 1 s) */
export const PERIOD_MIN = 1000;
export const PERIOD_MAX = 1_000_000;
/** smallest cpu.max quota the kernel accepts, microseconds */
export const QUOTA_MIN = 1000;
/** cpu.max of a new cgroup */
export const DEFAULT_CPU_MAX = { quota: 'max', period: 100_000 } as const;

export interface CpuPlanContext {
  /** the cgroup's cpu.max now (to keep the quota when only the period changes); a new cgroup's default otherwise */
  current?: { quota: Limit; period: number };
}

/** Validate and plan: cpu.weight, then cpu.max ("$QUOTA $PERIOD"). */
export function plan(limits: CpuLimits | undefined, ctx: CpuPlanContext = {}): PlannedWrite[] {
  if (!limits) return [];
  const writes: PlannedWrite[] = [];
  if (limits.weight !== undefined) {
    writes.push({ file: 'cpu.weight', value: String(checkRange('cpu.weight', limits.weight, 1, 10000)) });
  }
  const period = limits.period === undefined ? undefined : checkRange('cpu.max period', limits.period, PERIOD_MIN, PERIOD_MAX, 'microseconds');
  const quota = limits.quota === undefined ? undefined : checkLimit('cpu.max quota', limits.quota, QUOTA_MIN, 'microseconds');
  if (quota !== undefined) {
    writes.push({ file: 'cpu.max', value: period === undefined ? String(quota) : `${quota} ${period}` });
  } else if (period !== undefined) {
    // cpu.max takes the quota first: keep the current one.
    writes.push({ file: 'cpu.max', value: `${(ctx.current ?? DEFAULT_CPU_MAX).quota} ${period}` });
  }
  return writes;
}

/** cpu.stat, present in every cgroup. */
export function stats(dir: CgroupDir, c: StatsCollector): CgroupStats['cpu'] {
  const stat = c.requiredBytes(dir.file('cpu.stat'), dir.flatKeyed('cpu.stat'));
  return stat
    ? compact({
        usageUsec: stat.usage_usec,
        userUsec: stat.user_usec,
        systemUsec: stat.system_usec,
        nrPeriods: stat.nr_periods,
        nrThrottled: stat.nr_throttled,
        throttledUsec: stat.throttled_usec,
      })
    : undefined;
}

/** cpu.pressure: a core file of every non-root cgroup, whatever its controllers (Linux 4.20+ with PSI; absent otherwise). */
export function pressure(dir: CgroupDir, c: StatsCollector): Pressure | undefined {
  return c.optional(dir.file('cpu.pressure'), parsePressure);
}

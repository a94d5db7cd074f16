/**
 * cgroup v1 cpu controller (CFS): cpu.shares (from cpu.weight, converted as runc and crun do),
 * cpu.cfs_period_us and cpu.cfs_quota_us (-1 for 'max'); throttling stats from cpu.stat.
 */
import type { CgroupDir, StatsCollector } from '../collect.js';
import { compact } from '../collect.js';
import { cpuWeightToShares } from '../convert.js';
import type { CgroupStats, CpuLimits, PlannedWrite } from '../types.js';
import { checkLimit, checkRange } from '../validate.js';
import { PERIOD_MAX, PERIOD_MIN, QUOTA_MIN } from '../v2/cpu.js';

const H = 'cpu';

/** Validate and plan: cpu.shares, then the period, then the quota (each file takes its value alone). */
export function plan(limits: CpuLimits | undefined): PlannedWrite[] {
  if (!limits) return [];
  const writes: PlannedWrite[] = [];
  if (limits.weight !== undefined) {
    writes.push({ hierarchy: H, file: 'cpu.shares', value: String(cpuWeightToShares(checkRange('cpu.weight', limits.weight, 1, 10000))) });
  }
  if (limits.period !== undefined) {
    writes.push({ hierarchy: H, file: 'cpu.cfs_period_us', value: String(checkRange('cpu.max period', limits.period, PERIOD_MIN, PERIOD_MAX, 'microseconds')) });
  }
  if (limits.quota !== undefined) {
    const quota = checkLimit('cpu.max quota', limits.quota, QUOTA_MIN, 'microseconds');
    writes.push({ hierarchy: H, file: 'cpu.cfs_quota_us', value: quota === 'max' ? '-1' : String(quota) });
  }
  return writes;
}

/** cpu.stat: nr_periods, nr_throttled, throttled_time (nanoseconds -> microseconds). */
export function stats(dir: CgroupDir, c: StatsCollector): CgroupStats['cpu'] {
  const stat = c.requiredBytes(dir.file('cpu.stat'), dir.flatKeyed('cpu.stat'));
  if (!stat) return undefined;
  return compact({
    nrPeriods: stat.nr_periods,
    nrThrottled: stat.nr_throttled,
    throttledUsec: stat.throttled_time === undefined ? undefined : Math.floor(stat.throttled_time / 1000),
  });
}

/** cgroup v2 pids controller: pids.max; stats from pids.current and pids.max. */
import type { CgroupDir, StatsCollector } from '../collect.js';
import { compact } from '../collect.js';
import { parseNumberBytes, parseSingleValueBytes } from '../parse-bytes.js';
import type { CgroupStats, Limit, PidsLimits, PlannedWrite } from '../types.js';
import { checkLimit } from '../validate.js';

export function plan(limits: PidsLimits | undefined): PlannedWrite[] {
  if (limits?.max === undefined) return [];
  return [{ file: 'pids.max', value: String(checkLimit('pids.max', limits.max, 0, 'tasks')) }];
}

/** The task limit, pids.max: what a stats reader keeps until the limits change. */
export function limit(dir: CgroupDir, c: StatsCollector): Limit | undefined {
  return c.requiredBytes(dir.file('pids.max'), parseSingleValueBytes);
}

/** pids.current; `max` is limit()'s reading. */
export function stats(dir: CgroupDir, c: StatsCollector, max: Limit | undefined): CgroupStats['pids'] {
  return compact({ current: c.requiredBytes(dir.file('pids.current'), parseNumberBytes), max });
}

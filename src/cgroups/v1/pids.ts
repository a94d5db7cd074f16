/** cgroup v1 pids controller: pids.max ("max" as in v2); stats from pids.current and pids.max, the same files as v2's. */
import type { PidsLimits, PlannedWrite } from '../types.js';
import { checkLimit } from '../validate.js';

export function plan(limits: PidsLimits | undefined): PlannedWrite[] {
  if (limits?.max === undefined) return [];
  return [{ hierarchy: 'pids', file: 'pids.max', value: String(checkLimit('pids.max', limits.max, 0, 'tasks')) }];
}

export { limit, stats } from '../v2/pids.js';

/**
 * cgroup v1 cpuacct controller: accounting only, no limits. cpuacct.usage is the total; user and system
 * come from cpuacct.usage_all (per CPU, summed: the same counters cpuacct.usage_user and
 * cpuacct.usage_sys add up, one file instead of two). Nanoseconds, reported in microseconds as v2's
 * cpu.stat does. usage_all appeared in Linux 4.7 with usage_user/usage_sys: absent before, and then
 * user and system are undefined.
 */
import type { CgroupDir, StatsCollector } from '../collect.js';
import { compact } from '../collect.js';
import { parseCpuacctUsageAllBytes, parseNumberBytes } from '../parse-bytes.js';
import type { CgroupStats } from '../types.js';

const usec = (ns: number | undefined) => (ns === undefined ? undefined : Math.floor(ns / 1000));

export function stats(dir: CgroupDir, c: StatsCollector): CgroupStats['cpu'] {
  const usage = c.requiredBytes(dir.file('cpuacct.usage'), parseNumberBytes);
  const perCpu = c.optionalBytes(dir.file('cpuacct.usage_all'), parseCpuacctUsageAllBytes);
  let user: number | undefined;
  let system: number | undefined;
  if (perCpu) {
    user = 0;
    system = 0;
    for (const cpu of perCpu) {
      user += cpu.user;
      system += cpu.system;
    }
  }
  return compact({ usageUsec: usec(usage), userUsec: usec(user), systemUsec: usec(system) });
}

/**
 * A v2 cgroup's stats, read synchronously from its one directory: cpu.stat and the PSI files always,
 * memory, pids and io where cgroup.controllers lists them. cgroup.controllers and the limits
 * (memory.max, pids.max) are kept between reads: see CgroupStatsReader.
 */
import { CgroupDir, FullReads, readActivity } from '../collect.js';
import type { CgroupFs } from '../cgroupfs.js';
import type { ActivityReading, CgroupStats, CgroupStatsReader, Limit } from '../types.js';
import * as cpu from './cpu.js';
import * as io from './io.js';
import * as memory from './memory.js';
import * as pids from './pids.js';

export class V2StatsReader implements CgroupStatsReader {
  private readonly dir: CgroupDir;
  /** what activity() reads, joined once */
  private readonly activityPaths: readonly string[];
  private limitsKnown = false;
  private readonly fullReads: FullReads;
  private controllers: readonly string[] = [];
  private memoryMax: Limit | undefined;
  private pidsMax: Limit | undefined;

  constructor(
    private readonly fs: CgroupFs,
    dir: string,
  ) {
    this.fullReads = new FullReads(fs);
    this.dir = new CgroupDir(dir);
    this.activityPaths = [this.dir.file('cpu.stat'), this.dir.file('memory.current')];
  }

  refreshLimits(): void {
    this.limitsKnown = false;
  }

  activity(): ActivityReading | undefined {
    const files = this.activityFiles();
    return files && readActivity(this.fs, files);
  }

  activityFiles(): readonly string[] | undefined {
    return this.limitsKnown && this.controllers.includes('memory') ? this.activityPaths : undefined;
  }

  read(activity?: ActivityReading): CgroupStats {
    const c = this.fullReads.collector(activity);
    const dir = this.dir;
    if (!this.limitsKnown) {
      const errors = c.errors.length;
      this.controllers = (c.required(dir.file('cgroup.controllers'), (t) => t) ?? '').split(/\s+/).filter(Boolean);
      this.memoryMax = this.controllers.includes('memory') ? memory.limit(dir, c) : undefined;
      this.pidsMax = this.controllers.includes('pids') ? pids.limit(dir, c) : undefined;
      this.limitsKnown = c.errors.length === errors;
    }
    const on = (name: string) => this.controllers.includes(name);
    const cpuStats = cpu.stats(dir, c);
    const memoryStats = on('memory') ? memory.stats(dir, c, this.memoryMax) : undefined;
    const pidsStats = on('pids') ? pids.stats(dir, c, this.pidsMax) : undefined;
    const ioStats = on('io') ? io.stats(dir, c) : undefined;
    const cpuP = cpu.pressure(dir, c);
    const memoryP = memory.pressure(dir, c);
    const ioP = io.pressure(dir, c);
    const stats = {} as CgroupStats;
    if (cpuStats) stats.cpu = cpuStats;
    if (memoryStats) stats.memory = memoryStats;
    if (pidsStats) stats.pids = pidsStats;
    if (ioStats) stats.io = ioStats;
    if (cpuP || memoryP || ioP) {
      stats.pressure = {};
      if (cpuP) stats.pressure.cpu = cpuP;
      if (memoryP) stats.pressure.memory = memoryP;
      if (ioP) stats.pressure.io = ioP;
    }
    stats.errors = c.errors;
    this.fullReads.done(c);
    return stats;
  }
}

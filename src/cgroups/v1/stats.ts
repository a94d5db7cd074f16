/**
 * A v1 cgroup's stats, read synchronously per controller directory (cpuacct, cpu, memory, pids, blkio,
 * each where its hierarchy is mounted). The limits (memory.limit_in_bytes, pids.max) are kept between
 * reads: see CgroupStatsReader.
 */
import { CgroupDir, FullReads, readActivity } from '../collect.js';
import type { CgroupFs } from '../cgroupfs.js';
import type { ActivityReading, CgroupStats, CgroupStatsReader, Limit } from '../types.js';
import * as blkio from './blkio.js';
import * as cpu from './cpu.js';
import * as cpuacct from './cpuacct.js';
import * as memory from './memory.js';
import * as pids from './pids.js';

export class V1StatsReader implements CgroupStatsReader {
  private readonly cpuacct: CgroupDir | undefined;
  private readonly cpu: CgroupDir | undefined;
  private readonly memory: CgroupDir | undefined;
  private readonly pids: CgroupDir | undefined;
  private readonly blkio: CgroupDir | undefined;
  private limitsKnown = false;
  private readonly fullReads: FullReads;
  private memoryMax: Limit | undefined;
  private pidsMax: Limit | undefined;
  /** what activity() reads, joined once; undefined without a cpuacct or memory hierarchy */
  private readonly activityPaths: readonly string[] | undefined;

  /** `dirs`: the cgroup's directory per mounted controller (Cgroup.paths) */
  constructor(
    private readonly fs: CgroupFs,
    dirs: Readonly<Record<string, string>>,
  ) {
    this.fullReads = new FullReads(fs);
    const at = (controller: string) => (dirs[controller] === undefined ? undefined : new CgroupDir(dirs[controller]));
    this.cpuacct = at('cpuacct');
    this.cpu = at('cpu');
    this.memory = at('memory');
    this.pids = at('pids');
    this.blkio = at('blkio');
    if (this.cpuacct && this.memory) this.activityPaths = [this.cpuacct.file('cpuacct.usage'), this.memory.file('memory.usage_in_bytes')];
  }

  refreshLimits(): void {
    this.limitsKnown = false;
  }

  activity(): ActivityReading | undefined {
    return this.activityPaths && readActivity(this.fs, this.activityPaths);
  }

  activityFiles(): readonly string[] | undefined {
    return this.activityPaths;
  }

  read(activity?: ActivityReading): CgroupStats {
    const c = this.fullReads.collector(activity);
    if (!this.limitsKnown) {
      const errors = c.errors.length;
      this.memoryMax = this.memory && memory.limit(this.memory, c);
      this.pidsMax = this.pids && pids.limit(this.pids, c);
      this.limitsKnown = c.errors.length === errors;
    }
    const usage = this.cpuacct && cpuacct.stats(this.cpuacct, c);
    const throttling = this.cpu && cpu.stats(this.cpu, c);
    const mem = this.memory && memory.stats(this.memory, c, this.memoryMax);
    const pid = this.pids && pids.stats(this.pids, c, this.pidsMax);
    const io = this.blkio && blkio.stats(this.blkio, c);
    const cpuStats = usage && throttling ? { ...usage, ...throttling } : (usage ?? throttling);
    const stats = {} as CgroupStats;
    if (cpuStats) stats.cpu = cpuStats;
    if (mem) stats.memory = mem;
    if (pid) stats.pids = pid;
    if (io) stats.io = io;
    stats.errors = c.errors;
    this.fullReads.done(c);
    return stats;
  }
}

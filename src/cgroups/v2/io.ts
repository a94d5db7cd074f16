/**
 * cgroup v2 io controller: io.weight (or io.bfq.weight under the BFQ scheduler) and io.max; stats from
 * io.stat and io.pressure.
 */
import { UnsupportedError } from '../../errors.js';
import type { CgroupDir, StatsCollector } from '../collect.js';
import { ioWeightToBlkioWeight } from '../convert.js';
import { parseNestedKeyed, parsePressure } from '../parse.js';
import type { IoDeviceStats, IoLimits, PlannedWrite, Pressure } from '../types.js';
import { checkDevice, checkLimit, checkRange } from '../validate.js';

export interface IoPlanContext {
  /**
   * which weight file the kernel offers: io.weight (blk-iocost), io.bfq.weight (BFQ, 1-1000, written as
   * blkio.weight is converted), or none; io.weight is assumed when unknown
   */
  weightFile?: 'io.weight' | 'io.bfq.weight' | null;
  checkedDir?: string;
  /** why the weight file, though present, would act on no device (blockdev.ts); undefined when it acts */
  inactive?: string;
}

const MAX_KEYS = ['rbps', 'wbps', 'riops', 'wiops'] as const;
const UNITS: Record<(typeof MAX_KEYS)[number], string> = {
  rbps: 'bytes per second',
  wbps: 'bytes per second',
  riops: 'operations per second',
  wiops: 'operations per second',
};

export function plan(limits: IoLimits | undefined, ctx: IoPlanContext = {}): PlannedWrite[] {
  if (!limits) return [];
  const writes: PlannedWrite[] = [];
  if (limits.weight !== undefined) {
    const weight = checkRange('io.weight', limits.weight, 1, 10000);
    const file = ctx.weightFile === undefined ? 'io.weight' : ctx.weightFile;
    if (file === null) {
      throw new UnsupportedError(
        `io.weight is not supported here: neither io.weight nor io.bfq.weight exists in ${ctx.checkedDir ?? 'the parent cgroup'} (they need the blk-iocost controller or the BFQ I/O scheduler)`,
      );
    }
    if (ctx.inactive !== undefined) throw new UnsupportedError(`io.weight is not supported here: ${ctx.inactive}`);
    writes.push({ file, value: `default ${file === 'io.weight' ? weight : ioWeightToBlkioWeight(weight)}` });
  }
  for (const dev of limits.max ?? []) {
    const device = checkDevice('io.max', dev.major, dev.minor);
    const fields = MAX_KEYS.filter((k) => dev[k] !== undefined).map((k) => `${k}=${checkLimit(`io.max ${k}`, dev[k]!, 1, UNITS[k])}`);
    if (fields.length > 0) writes.push({ file: 'io.max', value: `${device} ${fields.join(' ')}` });
  }
  return writes;
}

/** io.stat lines -> per-device counters (numbers only; unknown keys such as cost.* are left out). */
export function ioStatDevices(stat: Record<string, Record<string, number | 'max'>>): IoDeviceStats[] {
  const out: IoDeviceStats[] = [];
  for (const [key, fields] of Object.entries(stat)) {
    const [major, minor] = key.split(':').map(Number);
    if (major === undefined || minor === undefined) continue;
    const entry: IoDeviceStats = { major, minor };
    for (const k of ['rbytes', 'wbytes', 'rios', 'wios', 'dbytes', 'dios'] as const) {
      const v = fields[k];
      if (typeof v === 'number') entry[k] = v;
    }
    out.push(entry);
  }
  return out;
}

export function stats(dir: CgroupDir, c: StatsCollector): { devices: IoDeviceStats[] } | undefined {
  const stat = c.required(dir.file('io.stat'), parseNestedKeyed);
  return stat ? { devices: ioStatDevices(stat) } : undefined;
}

/** io.pressure: a core file of every non-root cgroup (Linux 4.20+ with PSI; absent otherwise). */
export function pressure(dir: CgroupDir, c: StatsCollector): Pressure | undefined {
  return c.optional(dir.file('io.pressure'), parsePressure);
}

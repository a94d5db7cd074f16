/**
 * cgroup v1 blkio controller: a weight (blkio.weight under CFQ, removed in Linux 5.0; blkio.bfq.weight
 * under BFQ; io.weight 1-10000 converted to 10-1000 as runc does) and throttle rules
 * (blkio.throttle.{read,write}_{bps,iops}_device, "major:minor value"; 'max' removes the rule, written as 0).
 *
 * Stats: blkio.throttle.io_service_bytes_recursive and io_serviced_recursive. The kernel counts there only
 * the I/O of devices that have a throttle rule somewhere in the cgroup's path (seen on 6.18: "Total 0"
 * without a rule).
 */
import { UnsupportedError } from '../../errors.js';
import type { CgroupDir, StatsCollector } from '../collect.js';
import { ioWeightToBlkioWeight } from '../convert.js';
import type { BlkioDeviceCounters } from '../parse.js';
import type { IoDeviceStats, IoLimits, PlannedWrite } from '../types.js';
import { checkDevice, checkLimit, checkRange } from '../validate.js';

const H = 'blkio';

export interface BlkioPlanContext {
  /** the weight file the kernel offers, or null when neither exists; blkio.weight is assumed when undefined */
  weightFile?: 'blkio.weight' | 'blkio.bfq.weight' | null;
  /** the cgroup directory where weightFile was looked for, for the message */
  checkedDir?: string;
  /** why the weight file, though present, would act on no device (blockdev.ts); undefined when it acts */
  inactive?: string;
}

const THROTTLE = {
  rbps: ['blkio.throttle.read_bps_device', 'bytes per second'],
  wbps: ['blkio.throttle.write_bps_device', 'bytes per second'],
  riops: ['blkio.throttle.read_iops_device', 'operations per second'],
  wiops: ['blkio.throttle.write_iops_device', 'operations per second'],
} as const;

export function plan(limits: IoLimits | undefined, ctx: BlkioPlanContext = {}): PlannedWrite[] {
  if (!limits) return [];
  const writes: PlannedWrite[] = [];
  if (limits.weight !== undefined) {
    const weight = checkRange('io.weight', limits.weight, 1, 10000);
    const file = ctx.weightFile === undefined ? 'blkio.weight' : ctx.weightFile;
    if (file === null) {
      throw new UnsupportedError(
        `io.weight is not supported here: neither blkio.weight nor blkio.bfq.weight exists in ${ctx.checkedDir ?? 'the parent cgroup'} (cgroup v1 needs the BFQ I/O scheduler for a weight; CFQ's blkio.weight was removed in Linux 5.0)`,
      );
    }
    if (ctx.inactive !== undefined) throw new UnsupportedError(`io.weight is not supported here: ${ctx.inactive}`);
    writes.push({ hierarchy: H, file, value: String(ioWeightToBlkioWeight(weight)) });
  }
  for (const dev of limits.max ?? []) {
    const device = checkDevice('io.max', dev.major, dev.minor);
    for (const key of ['rbps', 'wbps', 'riops', 'wiops'] as const) {
      const v = dev[key];
      if (v === undefined) continue;
      const [file, unit] = THROTTLE[key];
      const value = checkLimit(`io.max ${key}`, v, 1, unit);
      writes.push({ hierarchy: H, file, value: `${device} ${value === 'max' ? 0 : value}` });
    }
  }
  return writes;
}

/** Merge the bytes and operations files into per-device counters. */
export function blkioDevices(bytes: BlkioDeviceCounters[] | undefined, ios: BlkioDeviceCounters[] | undefined): IoDeviceStats[] {
  const byKey = new Map<string, IoDeviceStats>();
  const entry = (d: BlkioDeviceCounters) => {
    const key = `${d.major}:${d.minor}`;
    let e = byKey.get(key);
    if (!e) {
      e = { major: d.major, minor: d.minor };
      byKey.set(key, e);
    }
    return e;
  };
  for (const d of bytes ?? []) Object.assign(entry(d), { rbytes: d.ops.Read, wbytes: d.ops.Write, dbytes: d.ops.Discard });
  for (const d of ios ?? []) Object.assign(entry(d), { rios: d.ops.Read, wios: d.ops.Write, dios: d.ops.Discard });
  for (const e of byKey.values()) for (const k of Object.keys(e) as (keyof IoDeviceStats)[]) if (e[k] === undefined) delete e[k];
  return [...byKey.values()];
}

export function stats(dir: CgroupDir, c: StatsCollector): { devices: IoDeviceStats[] } | undefined {
  const bytes = c.requiredBytes(dir.file('blkio.throttle.io_service_bytes_recursive'), dir.blkioStat('blkio.throttle.io_service_bytes_recursive'));
  const ios = c.requiredBytes(dir.file('blkio.throttle.io_serviced_recursive'), dir.blkioStat('blkio.throttle.io_serviced_recursive'));
  return bytes === undefined && ios === undefined ? undefined : { devices: blkioDevices(bytes, ios) };
}

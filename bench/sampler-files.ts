/**
 * The files one sampler pass reads, for bench:sampling's floor (bench/floor/sample-floor.c): found by
 * running the sampler's own readers (Cgroup.statsReader(), as Sampler follows a container) over a
 * CgroupFs that notes every path read, so that the floor reads exactly the sampler's files, whatever
 * the cgroup version and controllers. Per running container of a state root:
 *   - `activity`: what reader.activity() reads, every tick in quiet mode (v1: cpuacct.usage,
 *     memory.usage_in_bytes; v2: cpu.stat, memory.current);
 *   - `rest`: what a full reading reads besides (reader.read(activity) once the limits are known, and
 *     /proc/<pid>/net/dev unless the container shares the host's network);
 * and `host`: the tick's host-wide files (/proc/stat, the online CPUs list).
 */
import fs from 'node:fs';
import path from 'node:path';
import { NodeCgroupFs } from '../src/cgroups/cgroupfs.js';
import { createCgroupDriver } from '../src/cgroups/index.js';
import type { CgroupDriver } from '../src/cgroups/types.js';
import { listContainerRecords, parsePidFile } from '../src/container/records.js';
import { readTracked } from '../src/metrics/containers.js';
import { idlePhase } from '../src/metrics/sampler.js';

export interface ContainerFiles {
  id: string;
  /** idlePhase() of the container: where its own full reading falls in each idle interval, ms */
  phase: number;
  activity: string[];
  rest: string[];
}

export interface SamplerFiles {
  host: string[];
  containers: ContainerFiles[];
}

/** NodeCgroupFs that notes the paths it reads, in order. */
class NotingCgroupFs extends NodeCgroupFs {
  noted: string[] = [];

  override readSync(file: string): string {
    this.noted.push(file);
    return super.readSync(file);
  }

  take(): string[] {
    const out = this.noted;
    this.noted = [];
    return out;
  }
}

/** The files a sampler of `stateRoot` with this idle interval reads per pass (see the module comment). */
export async function samplerFiles(stateRoot: string, idleIntervalMs: number): Promise<SamplerFiles> {
  const noting = new NotingCgroupFs();
  const drivers = new Map<string, Promise<CgroupDriver>>();
  const driver = (parent: string | undefined) => {
    let d = drivers.get(parent ?? '');
    if (!d) {
      d = createCgroupDriver({ fs: noting, ...(parent !== undefined ? { parent } : {}) });
      drivers.set(parent ?? '', d);
    }
    return d;
  };
  const containers: ContainerFiles[] = [];
  const { records } = await listContainerRecords(stateRoot);
  for (const record of records) {
    const c = await readTracked(stateRoot, record.id);
    if (c?.status !== 'running') continue;
    const reader = (await driver(c.cgroupParent)).open(c.id).statsReader();
    reader.read(); // the limits, read once
    noting.take();
    const activity = reader.activity();
    const activityFiles = noting.take();
    reader.read(activity);
    const rest = noting.take();
    const pid = c.pid ?? pidFileOf(stateRoot, c.id);
    if (c.network !== 'host' && pid !== undefined) rest.push(path.join('/proc', String(pid), 'net', 'dev'));
    containers.push({ id: c.id, phase: idlePhase(c.id, idleIntervalMs), activity: activityFiles, rest });
  }
  return { host: ['/proc/stat', '/sys/devices/system/cpu/online'], containers };
}

function pidFileOf(stateRoot: string, id: string): number | undefined {
  try {
    return parsePidFile(fs.readFileSync(path.join(stateRoot, 'containers', id, 'pid'), 'utf8'))?.pid;
  } catch {
    return undefined;
  }
}

/**
 * The list sample-floor reads (pure): one line per file, `h PATH` for a host file, then per container
 * `c PHASE_MS` followed by `a PATH` (activity) and `f PATH` (the rest of a full reading).
 */
export function formatFloorList(files: SamplerFiles): string {
  const lines = files.host.map((f) => `h ${f}`);
  for (const c of files.containers) lines.push(`c ${c.phase}`, ...c.activity.map((f) => `a ${f}`), ...c.rest.map((f) => `f ${f}`));
  return `${lines.join('\n')}\n`;
}

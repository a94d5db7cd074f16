/**
 * The cgroup v2 driver: one directory per container, `<parent>/<name>`, in the unified hierarchy.
 *
 * Creating obeys two kernel rules:
 * - A controller is usable in a cgroup only when its parent lists it in cgroup.subtree_control. corral
 *   enables cpu, cpuset, memory, pids and io (those the cgroup.controllers file offers) in every cgroup
 *   from the delegation boundary (paths.ts) down to the parent.
 * - No internal processes: a non-root cgroup with controllers in its subtree_control cannot hold
 *   processes itself. When such a cgroup holds exactly corral's own process, corral moves itself into a
 *   leaf `<cgroup>/corral-supervisor`; any other process there is an error that says what to do.
 *
 * Limits are validated and planned before anything is created; a failure part way removes what this
 * call created (the subtree_control changes and the supervisor move stay: they are harmless).
 */
import { posix as path } from 'node:path';
import type { CgroupDriverBaseOptions } from '../driver-options.js';
import { setTimeout as sleep } from 'node:timers/promises';
import { CgroupFileError, CorralError, UnsupportedError } from '../../errors.js';
import { isCgroupErrno, readOptional, readPids, type CgroupFs } from '../cgroupfs.js';
import { bfqInactive, iocostInactive } from '../blockdev.js';
import { SUPERVISOR_LEAF, type CgroupLayout } from '../detect.js';
import { removeTree, subtreePids, waitUntilEmpty } from '../lifecycle.js';
import { parseCpuMax, parseFlatKeyed } from '../parse.js';
import { checkName, dirOf, pathsDown, resolveParent } from '../paths.js';
import type { Cgroup, CgroupDriver, CgroupParentInfo, CgroupStats, CgroupStatsReader, CgroupV2, MemoryEventOptions, PlannedWrite, Resources, V2MemoryEventSource } from '../types.js';
import * as cpu from './cpu.js';
import * as cpuset from './cpuset.js';
import * as io from './io.js';
import * as memory from './memory.js';
import { V2MemoryEvents } from './memory-events.js';
import * as pids from './pids.js';
import { V2StatsReader } from './stats.js';

/** the controllers corral enables for container cgroups */
export const V2_CONTROLLERS = ['cpu', 'cpuset', 'memory', 'pids', 'io'] as const;

export interface V2DriverOptions extends CgroupDriverBaseOptions {
  layout: Extract<CgroupLayout, { mode: 'v2' }>;
}

function words(text: string | undefined): string[] {
  return (text ?? '')
    .trim()
    .split(/\s+/)
    .filter((w) => w !== '');
}

/** the controllers a Resources object needs (a section with at least one field set) */
export function neededControllers(r: Resources): string[] {
  const set = (o: object | undefined) => o !== undefined && Object.values(o).some((v) => v !== undefined);
  return V2_CONTROLLERS.filter((c) => set(r[c]));
}

export class V2Driver implements CgroupDriver {
  readonly mode = 'v2' as const;
  readonly parentDir: string;
  readonly boundaryDir: string;
  private readonly parentPath: string;
  private readonly boundaryPath: string;

  constructor(private readonly o: V2DriverOptions) {
    const { parentPath, boundaryPath } = resolveParent(o.layout.ownPath, o.parent);
    this.parentPath = parentPath;
    this.boundaryPath = boundaryPath === '/' ? o.layout.mountRoot : boundaryPath;
    this.parentDir = this.dirOf(parentPath);
    this.boundaryDir = this.dirOf(this.boundaryPath);
  }

  private dirOf(cgroupPath: string): string {
    return dirOf(this.o.layout.mountPoint, this.o.layout.mountRoot, cgroupPath);
  }

  private get fs(): CgroupFs {
    return this.o.fs;
  }

  async parentInfo(): Promise<CgroupParentInfo> {
    const [effectiveCpus, effectiveMems, controllers] = await Promise.all([
      this.nearestEffective('cpuset.cpus.effective', 'cpu'),
      this.nearestEffective('cpuset.mems.effective', 'node'),
      this.fs.read(path.join(this.boundaryDir, 'cgroup.controllers')),
    ]);
    return {
      mode: 'v2',
      effectiveCpus,
      effectiveMems,
      controllers: V2_CONTROLLERS.filter((c) => words(controllers).includes(c)),
      dirs: { unified: this.parentDir },
    };
  }

  /** `file` from the parent, or the nearest existing cgroup above it; else the kernel's online list. */
  private async nearestEffective(file: string, sysKind: 'cpu' | 'node'): Promise<string> {
    for (const p of pathsDown(this.o.layout.mountRoot, this.parentPath).reverse()) {
      const text = await readOptional(this.fs, path.join(this.dirOf(p), file));
      if (text !== undefined && text.trim() !== '') return text.trim();
    }
    const online = await readOptional(this.fs, path.join(this.o.sysDevicesDir, sysKind, 'online'));
    return online?.trim() || '0';
  }

  /**
   * A non-root cgroup on the way from the parent up to the boundary that has `controller`, whose files show
   * what a new child would have (the root lacks most interface files), if one exists.
   */
  private async probeDir(controller: string): Promise<string | undefined> {
    for (const p of pathsDown(this.boundaryPath, this.parentPath).reverse()) {
      const dir = this.dirOf(p);
      if (dir === this.o.layout.mountPoint) continue;
      const controllers = await readOptional(this.fs, path.join(dir, 'cgroup.controllers'));
      if (words(controllers).includes(controller)) return dir;
    }
    return undefined;
  }

  plan(resources: Resources): Promise<PlannedWrite[]> {
    return this.planFor(resources);
  }

  /**
   * Validate and plan. For a new cgroup (`leaf` undefined) the needed controllers must be available at
   * the delegation boundary; for an existing one, enabled in it.
   */
  async planFor(resources: Resources, leaf?: string): Promise<PlannedWrite[]> {
    const needed = neededControllers(resources);
    if (needed.length > 0) {
      const where = leaf ?? this.boundaryDir;
      const have = words(await this.fs.read(path.join(where, 'cgroup.controllers')));
      const missing = needed.find((c) => !have.includes(c));
      if (missing !== undefined) {
        const hint =
          where === this.o.layout.mountPoint
            ? 'the kernel does not offer it on the cgroup v2 hierarchy (it may be bound to a v1 hierarchy, or disabled with cgroup_disable=)'
            : `enable it in the parent's cgroup.subtree_control (echo +${missing} > ${path.dirname(where)}/cgroup.subtree_control), or choose another --cgroup-parent`;
        throw new UnsupportedError(`${missing} limits need the ${missing} controller, which is not available in ${where} (cgroup.controllers: "${have.join(' ')}"): ${hint}`);
      }
    }

    const cpusetCtx: cpuset.CpusetPlanContext = {};
    if (resources.cpuset?.cpus !== undefined) cpusetCtx.parentCpus = await this.nearestEffective('cpuset.cpus.effective', 'cpu');
    if (resources.cpuset?.mems !== undefined) cpusetCtx.parentMems = await this.nearestEffective('cpuset.mems.effective', 'node');

    const cpuCtx: cpu.CpuPlanContext = {};
    if (leaf && resources.cpu?.period !== undefined && resources.cpu.quota === undefined) {
      cpuCtx.current = parseCpuMax(await this.fs.read(path.join(leaf, 'cpu.max')), path.join(leaf, 'cpu.max'));
    }

    const memoryCtx: memory.MemoryPlanContext = {};
    if (resources.memory?.swapMax !== undefined) {
      const dir = leaf ?? (await this.probeDir('memory'));
      if (dir) Object.assign(memoryCtx, { hasSwap: await this.fs.exists(path.join(dir, 'memory.swap.max')), checkedDir: dir });
    }

    const ioCtx: io.IoPlanContext = {};
    if (resources.io?.weight !== undefined) {
      const root = this.o.layout.mountPoint;
      const dir = leaf ?? (await this.probeDir('io'));
      if (dir) {
        ioCtx.checkedDir = dir;
        ioCtx.weightFile = (await this.fs.exists(path.join(dir, 'io.bfq.weight'))) ? 'io.bfq.weight' : (await this.fs.exists(path.join(dir, 'io.weight'))) ? 'io.weight' : null;
      } else {
        // Only the root to look at: blk-iocost's root files mean its io.weight exists in children.
        ioCtx.checkedDir = root;
        ioCtx.weightFile = (await this.fs.exists(path.join(root, 'io.cost.qos'))) ? 'io.weight' : null;
      }
      if (ioCtx.weightFile === 'io.bfq.weight') {
        const why = await bfqInactive(this.fs, this.o.sysBlockDir, 'io.bfq.weight', this.parentDir);
        if (why !== undefined) ioCtx.inactive = why;
      } else if (ioCtx.weightFile === 'io.weight') {
        const why = await iocostInactive(this.fs, root, this.parentDir);
        if (why !== undefined) ioCtx.inactive = why;
      }
    }

    return [
      ...cpuset.plan(resources.cpuset, cpusetCtx),
      ...cpu.plan(resources.cpu, cpuCtx),
      ...memory.plan(resources.memory, memoryCtx),
      ...pids.plan(resources.pids),
      ...io.plan(resources.io, ioCtx),
    ];
  }

  async create(name: string, resources: Resources): Promise<Cgroup> {
    checkName(name);
    const writes = await this.planFor(resources);
    const leaf = path.join(this.parentDir, name);
    const created: string[] = [];
    try {
      await this.prepareParent(created);
      if (!(await this.fs.mkdir(leaf))) {
        throw new CgroupFileError('mkdir', leaf, undefined, Object.assign(new Error('the cgroup already exists'), { code: 'EEXIST' }));
      }
      created.push(leaf);
      for (const w of writes) await this.fs.write(path.join(leaf, w.file), w.value);
    } catch (err) {
      for (const dir of created.reverse()) await this.fs.rmdir(dir).catch(() => undefined);
      throw err;
    }
    return this.open(name);
  }

  /** Create the cgroups from the boundary down to the parent, enabling the controllers in each. */
  private async prepareParent(created: string[]): Promise<void> {
    for (const p of pathsDown(this.boundaryPath, this.parentPath)) {
      const dir = this.dirOf(p);
      if (p !== this.boundaryPath && (await this.fs.mkdir(dir))) created.push(dir);
      await this.enableControllers(dir);
    }
  }

  private async enableControllers(dir: string): Promise<void> {
    const available = words(await this.fs.read(path.join(dir, 'cgroup.controllers')));
    const enabled = words(await this.fs.read(path.join(dir, 'cgroup.subtree_control')));
    const missing = V2_CONTROLLERS.filter((c) => available.includes(c) && !enabled.includes(c));
    if (missing.length === 0) return;
    const file = path.join(dir, 'cgroup.subtree_control');
    const value = missing.map((c) => `+${c}`).join(' ');
    if (dir !== this.o.layout.mountPoint) await this.vacate(dir);
    try {
      await this.fs.write(file, value);
    } catch (err) {
      // The mount root is the real root (exempt from the rule) unless it is a cgroup namespace's root.
      if (dir !== this.o.layout.mountPoint || !isCgroupErrno(err, 'EBUSY')) throw err;
      await this.vacate(dir);
      await this.fs.write(file, value);
    }
  }

  /** Move corral's own process out of `dir` into `dir/corral-supervisor`; any other process is an error. */
  private async vacate(dir: string): Promise<void> {
    const present = await readPids(this.fs, path.join(dir, 'cgroup.procs'));
    if (present.length === 0) return;
    const others = present.filter((p) => p !== this.o.pid);
    if (others.length > 0) {
      throw new UnsupportedError(
        `cannot enable controllers for child cgroups of ${dir}: it holds processes other than corral (pid ${this.o.pid}): ${others.join(', ')}; ` +
          `cgroup v2 allows no processes in a cgroup whose children use controllers: move them into a leaf cgroup ` +
          `(e.g. mkdir ${dir}/leaf and write each pid to ${dir}/leaf/cgroup.procs), or start corral with --cgroup-parent naming an empty cgroup`,
      );
    }
    const leaf = path.join(dir, SUPERVISOR_LEAF);
    await this.fs.mkdir(leaf);
    await this.fs.write(path.join(leaf, 'cgroup.procs'), String(this.o.pid));
  }

  open(name: string): Cgroup {
    checkName(name);
    return new V2Cgroup(this, this.o, name, path.join(this.parentDir, name));
  }

  async list(): Promise<string[]> {
    return ((await this.fs.subdirs(this.parentDir)) ?? []).filter((n) => n !== SUPERVISOR_LEAF);
  }

  async removeParentIfEmpty(): Promise<boolean> {
    for (const p of pathsDown(this.boundaryPath, this.parentPath).slice(1).reverse()) {
      const dir = this.dirOf(p);
      const children = await this.fs.subdirs(dir);
      if (children === undefined) continue;
      if (children.length > 0) return false;
      try {
        await this.fs.rmdir(dir);
      } catch (err) {
        if (isCgroupErrno(err, 'EBUSY')) return false;
        throw err;
      }
    }
    return true;
  }
}

class V2Cgroup implements CgroupV2 {
  readonly mode = 'v2' as const;
  readonly procsFiles: readonly string[];
  readonly paths: Readonly<Record<string, string>>;

  constructor(
    private readonly driver: V2Driver,
    private readonly o: V2DriverOptions,
    readonly name: string,
    readonly dir: string,
  ) {
    this.procsFiles = [path.join(dir, 'cgroup.procs')];
    this.paths = { unified: dir };
  }

  private file(name: string): string {
    return path.join(this.dir, name);
  }

  async addProcess(pid: number): Promise<void> {
    await this.o.fs.write(this.file('cgroup.procs'), String(pid));
  }

  async apply(resources: Resources): Promise<void> {
    const writes = await this.driver.planFor(resources, this.dir);
    for (const w of writes) await this.o.fs.write(this.file(w.file), w.value);
  }

  async stats(): Promise<CgroupStats> {
    return this.statsReader().read();
  }

  statsReader(): CgroupStatsReader {
    return new V2StatsReader(this.o.fs, this.dir);
  }

  async oomKillCount(): Promise<number | undefined> {
    const text = await readOptional(this.o.fs, this.file('memory.events'));
    return text === undefined ? undefined : parseFlatKeyed(text, this.file('memory.events')).oom_kill;
  }

  memoryEvents(options: MemoryEventOptions = {}): V2MemoryEventSource {
    return new V2MemoryEvents({ ...options, dir: this.dir });
  }

  async pids(): Promise<number[]> {
    return readPids(this.o.fs, this.file('cgroup.procs'));
  }

  /** pids in this cgroup and every cgroup below it (a container may nest its own) */
  private allPids(): Promise<number[]> {
    return subtreePids(this.o.fs, this.dir);
  }

  async freeze(): Promise<void> {
    await this.setFrozen(true);
  }

  async thaw(): Promise<void> {
    await this.setFrozen(false);
  }

  async frozen(): Promise<boolean> {
    // cgroup.freeze is this cgroup's own request (an ancestor's freeze shows only in cgroup.events)
    const asked = await readOptional(this.o.fs, this.file('cgroup.freeze'));
    if (asked === undefined) {
      // Linux before 5.2 has no v2 freezer: nothing here can be frozen. A cgroup that is gone is an error.
      if (!(await this.o.fs.exists(this.dir))) throw new CgroupFileError('read', this.file('cgroup.freeze'), undefined, Object.assign(new Error(), { code: 'ENOENT' }));
      return false;
    }
    return asked.trim() === '1';
  }

  /** cgroup.freeze (Linux 5.2+), then wait until cgroup.events says so */
  private async setFrozen(frozen: boolean): Promise<void> {
    const file = this.file('cgroup.freeze');
    if (!(await this.o.fs.exists(file))) {
      if (!(await this.o.fs.exists(this.dir))) throw new CgroupFileError('write', file, frozen ? '1' : '0', Object.assign(new Error(), { code: 'ENOENT' }));
      throw new UnsupportedError(`freezing is not supported here: ${file} does not exist (cgroup v2 freezer: Linux 5.2+)`);
    }
    await this.o.fs.write(file, frozen ? '1' : '0');
    const deadline = Date.now() + this.o.killTimeoutMs;
    for (;;) {
      const events = parseFlatKeyed(await this.o.fs.read(this.file('cgroup.events')), this.file('cgroup.events'));
      if ((events.frozen === 1) === frozen) return;
      if (Date.now() >= deadline) {
        throw new CorralError('EFREEZE', `${frozen ? 'freeze' : 'thaw'} ${this.dir}: cgroup.events still says frozen ${events.frozen} after ${this.o.killTimeoutMs} ms`);
      }
      await sleep(5);
    }
  }

  async kill(): Promise<void> {
    if (!(await this.o.fs.exists(this.dir))) return;
    const killFile = this.file('cgroup.kill');
    if (await this.o.fs.exists(killFile)) {
      // Linux 5.14+: the kernel kills every process in the cgroup and below, forks included.
      await this.o.fs.write(killFile, '1');
      await waitUntilEmpty(this.dir, () => this.allPids(), this.o.killTimeoutMs);
      return;
    }
    const canFreeze = await this.o.fs.exists(this.file('cgroup.freeze'));
    if (canFreeze) await this.freeze();
    try {
      this.o.signal(await this.allPids());
    } finally {
      if (canFreeze) await this.thaw();
    }
    await waitUntilEmpty(
      this.dir,
      () => this.allPids(),
      this.o.killTimeoutMs,
      (left) => this.o.signal(left),
    );
  }

  async destroy(): Promise<void> {
    await this.kill();
    await removeTree(this.o.fs, this.dir, this.o.killTimeoutMs);
  }
}

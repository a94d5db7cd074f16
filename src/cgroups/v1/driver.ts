/**
 * The cgroup v1 driver: one directory per container in every mounted hierarchy corral manages (cpu,
 * cpuacct, cpuset, memory, pids, blkio, freezer; co-mounted controllers share one directory), each under
 * the own cgroup of that hierarchy (on a hybrid host they differ: memory:/process_api/<id>, cpu:/).
 *
 * Creating: validate and plan first; then per hierarchy mkdir from the delegation boundary down. In the
 * cpuset hierarchy every new directory gets its parent's cpuset.cpus/mems before anything else (a v1
 * cpuset starts empty and refuses tasks). Memory children of a use_hierarchy parent are accounted and
 * limited under it by the kernel; nothing to do. A failure part way removes what this call created.
 *
 * kill(): freeze (freezer.state), SIGKILL every pid, thaw, then wait until every hierarchy is empty.
 */
import { posix as path } from 'node:path';
import type { CgroupDriverBaseOptions } from '../driver-options.js';
import { CgroupFileError, CorralError, UnsupportedError } from '../../errors.js';
import { isCgroupErrno, readOptional, type CgroupFs } from '../cgroupfs.js';
import { bfqInactive } from '../blockdev.js';
import { StatsCollector } from '../collect.js';
import { SUPERVISOR_LEAF, type CgroupLayout, type V1Controller, type V1Hierarchy } from '../detect.js';
import { removeTree, subtreePids, waitUntilEmpty } from '../lifecycle.js';
import { parseFlatKeyed } from '../parse.js';
import { checkName, dirOf, pathsDown, resolveParent } from '../paths.js';
import type { Cgroup, CgroupDriver, CgroupParentInfo, CgroupStats, CgroupStatsReader, CgroupV1, MemoryEventOptions, PlannedWrite, Resources, V1MemoryEventSource } from '../types.js';
import * as blkio from './blkio.js';
import * as cpu from './cpu.js';
import * as cpuset from './cpuset.js';
import * as freezer from './freezer.js';
import * as memory from './memory.js';
import { V1MemoryEvents, type EventfdSyscalls } from './memory-events.js';
import * as pids from './pids.js';
import { V1StatsReader } from './stats.js';

/** the v1 controllers corral creates container cgroups in ('devices' is left to whoever manages devices) */
export const V1_MANAGED: readonly V1Controller[] = ['cpuset', 'cpu', 'cpuacct', 'memory', 'pids', 'blkio', 'freezer'];

/** which v1 controller a Resources section needs */
const SECTION_CONTROLLER = { cpu: 'cpu', cpuset: 'cpuset', memory: 'memory', pids: 'pids', io: 'blkio' } as const;

export interface V1DriverOptions extends CgroupDriverBaseOptions {
  layout: Extract<CgroupLayout, { mode: 'v1' }>;
  /** the native calls of the memory notifications (eventfd, epoll), loaded on the first memoryEvents() */
  syscalls: () => Promise<EventfdSyscalls>;
}

/** One managed hierarchy with the driver's paths in it. */
interface Hier extends V1Hierarchy {
  parentPath: string;
  boundaryPath: string;
  parentDir: string;
  boundaryDir: string;
}

export class V1Driver implements CgroupDriver {
  readonly mode = 'v1' as const;
  readonly hierarchies: readonly Hier[];
  private readonly byController = new Map<string, Hier>();

  constructor(private readonly o: V1DriverOptions) {
    const hiers: Hier[] = [];
    for (const h of o.layout.hierarchies) {
      if (!h.controllers.some((c) => V1_MANAGED.includes(c))) continue;
      const { parentPath, boundaryPath: b } = resolveParent(h.ownPath, o.parent);
      const boundaryPath = b === '/' ? h.mountRoot : b;
      const hier: Hier = {
        ...h,
        parentPath,
        boundaryPath,
        parentDir: dirOf(h.mountPoint, h.mountRoot, parentPath),
        boundaryDir: dirOf(h.mountPoint, h.mountRoot, boundaryPath),
      };
      hiers.push(hier);
      for (const c of h.controllers) if (V1_MANAGED.includes(c)) this.byController.set(c, hier);
    }
    this.hierarchies = hiers;
  }

  private get fs(): CgroupFs {
    return this.o.fs;
  }

  /** the hierarchy of `controller`; UnsupportedError naming what needs it when it is not mounted */
  hierarchy(controller: string, neededFor: string): Hier {
    const h = this.byController.get(controller);
    if (!h) {
      const mounted = [...this.byController.keys()].join(', ') || 'none';
      throw new UnsupportedError(`${neededFor} needs the cgroup v1 ${controller} controller, which is not mounted (mounted: ${mounted})`);
    }
    return h;
  }

  private dirIn(h: Hier, cgroupPath: string): string {
    return dirOf(h.mountPoint, h.mountRoot, cgroupPath);
  }

  /** the first existing directory from the parent up to the hierarchy's root */
  private async nearestExisting(h: Hier): Promise<string> {
    for (const p of pathsDown(h.mountRoot, h.parentPath).reverse()) {
      const dir = this.dirIn(h, p);
      if (await this.fs.exists(dir)) return dir;
    }
    return h.mountPoint;
  }

  private async effective(file: 'cpuset.effective_cpus' | 'cpuset.effective_mems', sysKind: 'cpu' | 'node'): Promise<string> {
    const h = this.byController.get('cpuset');
    if (h) {
      for (const p of pathsDown(h.mountRoot, h.parentPath).reverse()) {
        const text = await readOptional(this.fs, path.join(this.dirIn(h, p), file));
        if (text !== undefined && text.trim() !== '') return text.trim();
      }
    }
    const online = await readOptional(this.fs, path.join(this.o.sysDevicesDir, sysKind, 'online'));
    return online?.trim() || '0';
  }

  async parentInfo(): Promise<CgroupParentInfo> {
    const dirs: Record<string, string> = {};
    for (const [c, h] of this.byController) dirs[c] = h.parentDir;
    return {
      mode: 'v1',
      effectiveCpus: await this.effective('cpuset.effective_cpus', 'cpu'),
      effectiveMems: await this.effective('cpuset.effective_mems', 'node'),
      controllers: V1_MANAGED.filter((c) => this.byController.has(c)),
      dirs,
    };
  }

  plan(resources: Resources): Promise<PlannedWrite[]> {
    return this.planFor(resources);
  }

  /** Validate and plan, for a new cgroup (`leaf` undefined) or for the existing cgroup `leaf`. */
  async planFor(resources: Resources, leaf?: V1Cgroup): Promise<PlannedWrite[]> {
    for (const [section, controller] of Object.entries(SECTION_CONTROLLER)) {
      const limits = resources[section as keyof Resources];
      if (limits && Object.values(limits).some((v) => v !== undefined)) this.hierarchy(controller, `${section === 'io' ? 'io' : section} limits`);
    }
    const probe = async (controller: string) => {
      const h = this.hierarchy(controller, controller);
      return leaf ? leaf.dirOf(h) : this.nearestExisting(h);
    };

    const cpusetCtx: cpuset.CpusetPlanContext = {};
    if (resources.cpuset?.cpus !== undefined) cpusetCtx.parentCpus = await this.effective('cpuset.effective_cpus', 'cpu');
    if (resources.cpuset?.mems !== undefined) cpusetCtx.parentMems = await this.effective('cpuset.effective_mems', 'node');

    const memoryCtx: memory.MemoryPlanContext = {};
    const m = resources.memory;
    if (m && (m.max !== undefined || m.swapMax !== undefined)) {
      const dir = await probe('memory');
      memoryCtx.hasMemsw = await this.fs.exists(path.join(dir, 'memory.memsw.limit_in_bytes'));
      memoryCtx.checkedDir = dir;
      if (leaf) {
        const c = new StatsCollector(this.fs);
        const current = await memory.currentLimits(dir, c);
        if (!current) throw new CorralError('ECGROUPFILE', c.errors.map((e) => e.message).join('; '));
        memoryCtx.current = current;
      }
    }

    const blkioCtx: blkio.BlkioPlanContext = {};
    if (resources.io?.weight !== undefined) {
      const h = this.hierarchy('blkio', 'io limits');
      const dir = await probe('blkio');
      const has = (file: string) => this.fs.exists(path.join(dir, file));
      blkioCtx.checkedDir = dir;
      blkioCtx.weightFile = (await has('blkio.bfq.weight'))
        ? 'blkio.bfq.weight'
        : (await has('blkio.weight'))
          ? 'blkio.weight'
          : // blkio.bfq.weight is not on the root cgroup; BFQ's root files say that children have it.
            dir === h.mountPoint && (await has('blkio.bfq.io_service_bytes'))
            ? 'blkio.bfq.weight'
            : null;
      if (blkioCtx.weightFile === 'blkio.bfq.weight') {
        const why = await bfqInactive(this.fs, this.o.sysBlockDir, 'blkio.bfq.weight', h.parentDir);
        if (why !== undefined) blkioCtx.inactive = why;
      }
    }

    return [...cpuset.plan(resources.cpuset, cpusetCtx), ...cpu.plan(resources.cpu), ...memory.plan(resources.memory, memoryCtx), ...pids.plan(resources.pids), ...blkio.plan(resources.io, blkioCtx)];
  }

  async create(name: string, resources: Resources): Promise<Cgroup> {
    checkName(name);
    const writes = await this.planFor(resources);
    const cg = this.open(name);
    const created: string[] = [];
    try {
      for (const h of this.hierarchies) {
        const chain = pathsDown(h.boundaryPath, h.parentPath)
          .slice(1)
          .map((p) => this.dirIn(h, p));
        for (const dir of chain) {
          if (await this.fs.mkdir(dir)) created.push(dir);
          if (h.controllers.includes('cpuset')) await cpuset.inherit(this.fs, dir);
        }
        const leaf = cg.dirOf(h);
        if (!(await this.fs.mkdir(leaf))) {
          throw new CgroupFileError('mkdir', leaf, undefined, Object.assign(new Error('the cgroup already exists'), { code: 'EEXIST' }));
        }
        created.push(leaf);
        if (h.controllers.includes('cpuset')) await cpuset.inherit(this.fs, leaf);
      }
      await cg.write(writes);
    } catch (err) {
      for (const dir of created.reverse()) await this.fs.rmdir(dir).catch(() => undefined);
      throw err;
    }
    return cg;
  }

  open(name: string): V1Cgroup {
    checkName(name);
    return new V1Cgroup(this, this.o, name);
  }

  async list(): Promise<string[]> {
    const names = new Set<string>();
    for (const h of this.hierarchies) for (const n of (await this.fs.subdirs(h.parentDir)) ?? []) names.add(n);
    names.delete(SUPERVISOR_LEAF);
    return [...names].sort();
  }

  async removeParentIfEmpty(): Promise<boolean> {
    let gone = true;
    for (const h of this.hierarchies) {
      for (const p of pathsDown(h.boundaryPath, h.parentPath).slice(1).reverse()) {
        const dir = this.dirIn(h, p);
        const children = await this.fs.subdirs(dir);
        if (children === undefined) continue;
        if (children.length > 0) {
          gone = false;
          break;
        }
        try {
          await this.fs.rmdir(dir);
        } catch (err) {
          if (!isCgroupErrno(err, 'EBUSY')) throw err;
          gone = false;
          break;
        }
      }
    }
    return gone;
  }
}

class V1Cgroup implements CgroupV1 {
  readonly mode = 'v1' as const;
  readonly dir = undefined;
  readonly procsFiles: readonly string[];
  readonly paths: Readonly<Record<string, string>>;

  constructor(
    private readonly driver: V1Driver,
    private readonly o: V1DriverOptions,
    readonly name: string,
  ) {
    this.procsFiles = driver.hierarchies.map((h) => path.join(this.dirOf(h), 'cgroup.procs'));
    const paths: Record<string, string> = {};
    for (const h of driver.hierarchies) for (const c of h.controllers) if (V1_MANAGED.includes(c)) paths[c] = this.dirOf(h);
    this.paths = paths;
  }

  dirOf(h: { parentDir: string }): string {
    return path.join(h.parentDir, this.name);
  }

  private dirFor(controller: string, neededFor = controller): string {
    return this.dirOf(this.driver.hierarchy(controller, neededFor));
  }

  /** perform planned writes in order, each in its hierarchy's directory */
  async write(writes: readonly PlannedWrite[]): Promise<void> {
    for (const w of writes) await this.o.fs.write(path.join(this.dirFor(w.hierarchy ?? ''), w.file), w.value);
  }

  async addProcess(pid: number): Promise<void> {
    for (const file of this.procsFiles) await this.o.fs.write(file, String(pid));
  }

  async apply(resources: Resources): Promise<void> {
    await this.write(await this.driver.planFor(resources, this));
  }

  async stats(): Promise<CgroupStats> {
    return this.statsReader().read();
  }

  statsReader(): CgroupStatsReader {
    return new V1StatsReader(this.o.fs, this.paths);
  }

  async oomKillCount(): Promise<number | undefined> {
    const file = path.join(this.dirFor('memory', 'the OOM kill count'), 'memory.oom_control');
    const text = await readOptional(this.o.fs, file);
    return text === undefined ? undefined : parseFlatKeyed(text, file).oom_kill;
  }

  memoryEvents(options: MemoryEventOptions = {}): V1MemoryEventSource {
    const dir = this.dirFor('memory', 'OOM notification');
    return new V1MemoryEvents({ ...options, fs: this.o.fs, dir, syscalls: this.o.syscalls });
  }

  async pids(): Promise<number[]> {
    const all = await Promise.all(this.driver.hierarchies.map((h) => subtreePids(this.o.fs, this.dirOf(h))));
    return [...new Set(all.flat())].sort((a, b) => a - b);
  }

  async freeze(): Promise<void> {
    await freezer.freeze(this.o.fs, this.dirFor('freezer', 'freezing'));
  }

  async thaw(): Promise<void> {
    await freezer.thaw(this.o.fs, this.dirFor('freezer', 'thawing'));
  }

  async frozen(): Promise<boolean> {
    const h = this.driver.hierarchies.find((x) => x.controllers.includes('freezer'));
    if (!h) return false;
    return (await freezer.state(this.o.fs, this.dirOf(h))) !== 'THAWED';
  }

  async kill(): Promise<void> {
    const existing = await Promise.all(this.driver.hierarchies.map((h) => this.o.fs.exists(this.dirOf(h))));
    if (!existing.some(Boolean)) return;
    // An empty cgroup (the container already ended) needs no freeze: nothing in it can fork.
    if ((await this.pids()).length === 0) return;
    const freezerHier = this.driver.hierarchies.find((h) => h.controllers.includes('freezer'));
    const frozen = freezerHier !== undefined && existing[this.driver.hierarchies.indexOf(freezerHier)] === true;
    if (frozen) await this.freeze();
    try {
      this.o.signal(await this.pids());
    } finally {
      if (frozen) await this.thaw();
    }
    const where = this.driver.hierarchies.map((h) => this.dirOf(h)).join(', ');
    await waitUntilEmpty(
      where,
      () => this.pids(),
      this.o.killTimeoutMs,
      (left) => this.o.signal(left),
    );
  }

  async destroy(): Promise<void> {
    await this.kill();
    for (const h of this.driver.hierarchies) await removeTree(this.o.fs, this.dirOf(h), this.o.killTimeoutMs);
  }
}

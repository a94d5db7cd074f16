/**
 * A temp-dir fake cgroupfs that imitates the kernel where the drivers depend on it: mkdir creates the
 * interface files, rmdir refuses a cgroup with children or tasks (EBUSY), cgroup.procs moves a pid out
 * of every other cgroup of the hierarchy, v2 subtree_control enforces the no-internal-process rule and
 * cgroup.controllers, a v1 cpuset refuses tasks until cpuset.cpus is set (ENOSPC), v1 memory keeps
 * memsw >= memory (EINVAL), cgroup.kill and freezer files act on the fake tasks. Writes are logged, and
 * failures can be injected.
 *
 * Pids in the fake are just numbers in files; the drivers' `signal` is injected (fake.signal) so that no
 * real process is ever signalled.
 */
import fs from 'node:fs';
import os from 'node:os';
import { posix as path } from 'node:path';
import { CgroupFileError } from '../../src/errors.js';
import { NodeCgroupFs } from '../../src/cgroups/cgroupfs.js';

const V1_UNLIMITED = '9223372036854771712';

export const MEMORY_STAT_V2 = 'anon 0\nfile 0\nkernel_stack 0\n';
export const MEMORY_STAT_V1 = 'cache 0\nrss 0\ntotal_cache 0\ntotal_rss 0\n';

function errno(code: string): NodeJS.ErrnoException {
  return Object.assign(new Error(code), { code });
}

export interface Failure {
  /** the file's path, or a regexp on it */
  path: string | RegExp;
  /** only when this value is written */
  value?: string;
  errno: string;
}

export interface FakeOptions {
  /** v2: omit cgroup.kill in new cgroups (kernels before 5.14) */
  noKill?: boolean;
  /** v1: give blkio cgroups a blkio.bfq.weight file */
  bfq?: boolean;
}

export class FakeKernel extends NodeCgroupFs {
  readonly writes: { path: string; value: string }[] = [];
  readonly signalled: number[] = [];
  readonly failures: Failure[] = [];
  /** pids that survive SIGKILL (to test kill()'s time limit) */
  readonly immortal = new Set<number>();

  constructor(
    readonly root: string,
    readonly mode: 'v1' | 'v2',
    /** v1: mount point -> controllers of that hierarchy; v2: { [root]: [] } */
    readonly hierarchies: Map<string, string[]>,
    readonly options: FakeOptions = {},
  ) {
    super();
  }

  /** a stand-in for process.kill: the pids leave every cgroup.procs */
  readonly signal = (pids: readonly number[]): void => {
    for (const pid of pids) {
      this.signalled.push(pid);
      if (this.immortal.has(pid)) continue;
      for (const mount of this.hierarchies.keys()) this.removePid(mount, pid);
    }
  };

  private mountOf(p: string): string {
    const m = [...this.hierarchies.keys()].filter((k) => p === k || p.startsWith(`${k}/`)).sort((a, b) => b.length - a.length)[0];
    if (!m) throw new Error(`fake cgroupfs: ${p} is in no hierarchy`);
    return m;
  }

  private controllersOf(p: string): string[] {
    return this.hierarchies.get(this.mountOf(p)) ?? [];
  }

  private allDirs(dir: string): string[] {
    const out = [dir];
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) out.push(...this.allDirs(path.join(dir, e.name)));
    return out;
  }

  private procs(dir: string): number[] {
    const f = path.join(dir, 'cgroup.procs');
    if (!fs.existsSync(f)) return [];
    return fs.readFileSync(f, 'utf8').split('\n').filter(Boolean).map(Number);
  }

  private setProcs(dir: string, pids: number[]): void {
    const text = pids.map((p) => `${p}\n`).join('');
    fs.writeFileSync(path.join(dir, 'cgroup.procs'), text);
    if (this.mode === 'v1') fs.writeFileSync(path.join(dir, 'tasks'), text);
    if (this.mode === 'v2') this.updatePopulated();
  }

  private removePid(mount: string, pid: number): void {
    for (const d of this.allDirs(mount)) {
      const before = this.procs(d);
      if (before.includes(pid))
        this.setProcs(
          d,
          before.filter((p) => p !== pid),
        );
    }
  }

  private updatePopulated(): void {
    for (const mount of this.hierarchies.keys()) {
      for (const d of this.allDirs(mount)) {
        const events = path.join(d, 'cgroup.events');
        if (!fs.existsSync(events)) continue;
        const populated = this.allDirs(d).some((x) => this.procs(x).length > 0) ? 1 : 0;
        const frozen = fs.readFileSync(path.join(d, 'cgroup.freeze'), 'utf8').trim() === '1' ? 1 : 0;
        fs.writeFileSync(events, `populated ${populated}\nfrozen ${frozen}\n`);
      }
    }
  }

  /** put fake tasks into a cgroup directly (as if they had been started there) */
  addTasks(dir: string, ...pids: number[]): void {
    for (const p of pids) this.removePid(this.mountOf(dir), p);
    this.setProcs(dir, [...this.procs(dir), ...pids]);
  }

  private fail(p: string, value: string, code: string): never {
    throw new CgroupFileError('write', p, value, errno(code));
  }

  override async write(p: string, value: string): Promise<void> {
    for (const f of this.failures) {
      const match = typeof f.path === 'string' ? f.path === p : f.path.test(p);
      if (match && (f.value === undefined || f.value === value)) this.fail(p, value, f.errno);
    }
    this.writes.push({ path: p, value });
    const dir = path.dirname(p);
    const file = path.basename(p);
    if (!fs.existsSync(p)) this.fail(p, value, 'ENOENT');
    if (file === 'cgroup.procs' || file === 'tasks') {
      const pid = Number(value);
      if (this.mode === 'v1' && this.controllersOf(dir).includes('cpuset') && fs.readFileSync(path.join(dir, 'cpuset.cpus'), 'utf8').trim() === '') {
        this.fail(p, value, 'ENOSPC');
      }
      if (this.mode === 'v2' && fs.readFileSync(path.join(dir, 'cgroup.subtree_control'), 'utf8').trim() !== '' && dir !== this.root) {
        this.fail(p, value, 'EBUSY');
      }
      this.addTasks(dir, pid);
      return;
    }
    if (this.mode === 'v2' && file === 'cgroup.subtree_control') {
      const available = fs.readFileSync(path.join(dir, 'cgroup.controllers'), 'utf8').trim().split(/\s+/);
      const enabled = new Set(fs.readFileSync(p, 'utf8').trim().split(/\s+/).filter(Boolean));
      if (dir !== this.root && this.procs(dir).length > 0) this.fail(p, value, 'EBUSY');
      for (const tok of value.trim().split(/\s+/)) {
        const name = tok.slice(1);
        if (!available.includes(name)) this.fail(p, value, 'ENOENT');
        if (tok.startsWith('+')) enabled.add(name);
        else enabled.delete(name);
      }
      fs.writeFileSync(p, available.filter((c) => enabled.has(c)).join(' ') + '\n');
      return;
    }
    if (this.mode === 'v2' && file === 'cgroup.kill') {
      for (const d of this.allDirs(dir)) this.setProcs(d, []);
      return;
    }
    if (this.mode === 'v2' && file === 'cgroup.freeze') {
      fs.writeFileSync(p, `${value}\n`);
      this.updatePopulated();
      return;
    }
    if (this.mode === 'v1' && (file === 'memory.limit_in_bytes' || file === 'memory.memsw.limit_in_bytes')) {
      const num = (v: string) => (v.trim() === '-1' || BigInt(v.trim()) >= 2n ** 62n ? Infinity : Number(v.trim()));
      const limit = num(fs.readFileSync(path.join(dir, 'memory.limit_in_bytes'), 'utf8'));
      const memsw = num(fs.readFileSync(path.join(dir, 'memory.memsw.limit_in_bytes'), 'utf8'));
      const v = num(value);
      if (file === 'memory.limit_in_bytes' && v > memsw) this.fail(p, value, 'EINVAL');
      if (file === 'memory.memsw.limit_in_bytes' && v < limit) this.fail(p, value, 'EINVAL');
      fs.writeFileSync(p, `${value === '-1' ? V1_UNLIMITED : value}\n`);
      return;
    }
    await super.write(p, value);
  }

  override async mkdir(p: string): Promise<boolean> {
    const created = await super.mkdir(p);
    if (created) this.populate(p);
    return created;
  }

  override async rmdir(p: string): Promise<boolean> {
    if (fs.existsSync(p)) {
      const children = fs.readdirSync(p, { withFileTypes: true }).filter((e) => e.isDirectory());
      if (children.length > 0 || this.procs(p).length > 0) throw new CgroupFileError('rmdir', p, undefined, errno('EBUSY'));
      for (const f of fs.readdirSync(p)) fs.unlinkSync(path.join(p, f));
    }
    return super.rmdir(p);
  }

  /** the interface files of a new cgroup */
  populate(dir: string): void {
    const files: Record<string, string> = {};
    const parent = path.dirname(dir);
    const read = (f: string) => fs.readFileSync(path.join(parent, f), 'utf8');
    if (this.mode === 'v2') {
      const controllers = read('cgroup.subtree_control').trim().split(/\s+/).filter(Boolean);
      Object.assign(files, {
        'cgroup.controllers': controllers.join(' ') + '\n',
        'cgroup.subtree_control': '\n',
        'cgroup.procs': '',
        'cgroup.events': 'populated 0\nfrozen 0\n',
        'cgroup.freeze': '0\n',
        'cgroup.type': 'domain\n',
        'cpu.stat': 'usage_usec 0\nuser_usec 0\nsystem_usec 0\n',
        'cpu.pressure': 'some avg10=0.00 avg60=0.00 avg300=0.00 total=0\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n',
        'memory.pressure': 'some avg10=0.00 avg60=0.00 avg300=0.00 total=0\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n',
        'io.pressure': 'some avg10=0.00 avg60=0.00 avg300=0.00 total=0\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n',
      });
      if (!this.options.noKill) files['cgroup.kill'] = '';
      if (controllers.includes('cpu')) {
        Object.assign(files, {
          'cpu.weight': '100\n',
          'cpu.max': 'max 100000\n',
          'cpu.stat': 'usage_usec 0\nuser_usec 0\nsystem_usec 0\nnr_periods 0\nnr_throttled 0\nthrottled_usec 0\n',
        });
      }
      if (controllers.includes('cpuset')) {
        Object.assign(files, {
          'cpuset.cpus': '\n',
          'cpuset.mems': '\n',
          'cpuset.cpus.effective': read('cpuset.cpus.effective'),
          'cpuset.mems.effective': read('cpuset.mems.effective'),
        });
      }
      if (controllers.includes('memory')) {
        Object.assign(files, {
          'memory.max': 'max\n',
          'memory.high': 'max\n',
          'memory.low': '0\n',
          'memory.swap.max': 'max\n',
          'memory.oom.group': '0\n',
          'memory.current': '0\n',
          'memory.peak': '0\n',
          'memory.events': 'low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\noom_group_kill 0\n',
          'memory.stat': MEMORY_STAT_V2,
        });
      }
      if (controllers.includes('pids')) Object.assign(files, { 'pids.max': 'max\n', 'pids.current': '0\n' });
      if (controllers.includes('io')) Object.assign(files, { 'io.max': '', 'io.weight': 'default 100\n', 'io.stat': '' });
    } else {
      const controllers = this.controllersOf(dir);
      // cgroup.event_control is write-only in the kernel; here the last registration stays readable
      Object.assign(files, { 'cgroup.procs': '', tasks: '', notify_on_release: '0\n', 'cgroup.event_control': '' });
      if (controllers.includes('cpu')) {
        Object.assign(files, {
          'cpu.shares': '1024\n',
          'cpu.cfs_period_us': '100000\n',
          'cpu.cfs_quota_us': '-1\n',
          'cpu.stat': 'nr_periods 0\nnr_throttled 0\nthrottled_time 0\nnr_bursts 0\nburst_time 0\n',
        });
      }
      if (controllers.includes('cpuacct'))
        Object.assign(files, { 'cpuacct.usage': '0\n', 'cpuacct.usage_user': '0\n', 'cpuacct.usage_sys': '0\n', 'cpuacct.usage_all': 'cpu user system\n0 0 0\n1 0 0\n' });
      if (controllers.includes('cpuset')) {
        Object.assign(files, { 'cpuset.cpus': '\n', 'cpuset.mems': '\n', 'cpuset.effective_cpus': '\n', 'cpuset.effective_mems': '\n' });
      }
      if (controllers.includes('memory')) {
        Object.assign(files, {
          'memory.limit_in_bytes': `${V1_UNLIMITED}\n`,
          'memory.memsw.limit_in_bytes': `${V1_UNLIMITED}\n`,
          'memory.soft_limit_in_bytes': `${V1_UNLIMITED}\n`,
          'memory.usage_in_bytes': '0\n',
          'memory.max_usage_in_bytes': '0\n',
          'memory.failcnt': '0\n',
          'memory.oom_control': 'oom_kill_disable 0\nunder_oom 0\noom_kill 0\n',
          'memory.use_hierarchy': '1\n',
          'memory.stat': MEMORY_STAT_V1,
        });
      }
      if (controllers.includes('pids')) Object.assign(files, { 'pids.max': 'max\n', 'pids.current': '0\n' });
      if (controllers.includes('blkio')) {
        Object.assign(files, {
          'blkio.throttle.read_bps_device': '',
          'blkio.throttle.write_bps_device': '',
          'blkio.throttle.read_iops_device': '',
          'blkio.throttle.write_iops_device': '',
          'blkio.throttle.io_service_bytes_recursive': 'Total 0\n',
          'blkio.throttle.io_serviced_recursive': 'Total 0\n',
        });
        if (this.options.bfq) files['blkio.bfq.weight'] = 'default 100\n';
      }
      if (controllers.includes('freezer') && dir !== this.mountOf(dir)) files['freezer.state'] = 'THAWED\n';
    }
    for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), text);
  }

  /** the file's text, trimmed */
  text(p: string): string {
    return fs.readFileSync(p, 'utf8').trim();
  }

  /** writes outside `dir` (for "never write outside the delegation" checks) */
  writesOutside(dir: string): { path: string; value: string }[] {
    return this.writes.filter((w) => !w.path.startsWith(`${dir}/`));
  }
}

export function tempRoot(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** A fake /sys/block: device -> the scheduler file's text, e.g. { vda: 'none [mq-deadline] kyber bfq' }. */
export function fakeSysBlock(root: string, schedulers: Record<string, string>): string {
  const dir = path.join(root, '.sys-block');
  for (const [dev, text] of Object.entries(schedulers)) {
    fs.mkdirSync(path.join(dir, dev, 'queue'), { recursive: true });
    fs.writeFileSync(path.join(dir, dev, 'queue', 'scheduler'), `${text}\n`);
  }
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

/** A pure v2 host: root with `rootControllers` enabled all the way to `own`, which holds `ownProcs`. */
export function fakeV2(opts: {
  own?: string;
  ownProcs?: number[];
  rootControllers?: string[];
  /** controllers the own cgroup's parent enabled for it (default: all of rootControllers) */
  ownControllers?: string[];
  effectiveCpus?: string;
  fake?: FakeOptions;
  schedulers?: Record<string, string>;
}) {
  const root = tempRoot('corral-fake-v2-');
  const sysBlockDir = fakeSysBlock(fs.mkdtempSync(path.join(os.tmpdir(), 'corral-fake-sys-')), opts.schedulers ?? { vda: 'none [mq-deadline] kyber bfq' });
  const rootControllers = opts.rootControllers ?? ['cpuset', 'cpu', 'io', 'memory', 'hugetlb', 'pids', 'rdma', 'misc'];
  const kernel = new FakeKernel(root, 'v2', new Map([[root, []]]), opts.fake);
  const own = opts.own ?? '/app';
  const w = (f: string, t: string) => fs.writeFileSync(path.join(root, f), t);
  w('cgroup.controllers', rootControllers.join(' ') + '\n');
  w('cgroup.subtree_control', '\n');
  w('cgroup.procs', '1\n2\n');
  w('cpuset.cpus.effective', `${opts.effectiveCpus ?? '0-3'}\n`);
  w('cpuset.mems.effective', '0\n');
  w('cpu.stat', 'usage_usec 0\nuser_usec 0\nsystem_usec 0\n');
  // Enable down to the own cgroup, as whoever delegated it did.
  let cur = root;
  const parts = own.split('/').filter(Boolean);
  for (const [i, part] of parts.entries()) {
    const enable = i === parts.length - 1 ? (opts.ownControllers ?? rootControllers) : rootControllers;
    fs.writeFileSync(path.join(cur, 'cgroup.subtree_control'), enable.join(' ') + '\n');
    cur = path.join(cur, part);
    fs.mkdirSync(cur);
    kernel.populate(cur);
  }
  if (opts.ownProcs?.length) kernel.addTasks(cur, ...opts.ownProcs);
  const mountinfo = `31 27 0:28 / ${root} rw,nosuid,nodev,noexec,relatime - cgroup2 cgroup2 rw,nsdelegate\n`;
  const procSelfCgroup = `0::${own}\n`;
  return { root, kernel, mountinfo, procSelfCgroup, ownDir: cur, sysBlockDir };
}

/** A v1 host like this project's machines: one hierarchy per controller (or cpu,cpuacct co-mounted). */
export function fakeV1(opts: { own?: Record<string, string>; comount?: boolean; cpus?: string; fake?: FakeOptions; schedulers?: Record<string, string> } = {}) {
  const root = tempRoot('corral-fake-v1-');
  const sysBlockDir = fakeSysBlock(fs.mkdtempSync(path.join(os.tmpdir(), 'corral-fake-sys-')), opts.schedulers ?? { vda: 'none [mq-deadline] kyber bfq' });
  const names = opts.comount
    ? [
        ['cpu,cpuacct', ['cpu', 'cpuacct']],
        ['cpuset', ['cpuset']],
        ['memory', ['memory']],
        ['pids', ['pids']],
        ['blkio', ['blkio']],
        ['freezer', ['freezer']],
        ['devices', ['devices']],
      ]
    : ['cpu', 'cpuacct', 'cpuset', 'memory', 'pids', 'blkio', 'freezer', 'devices'].map((c) => [c, [c]]);
  const hierarchies = new Map<string, string[]>();
  for (const [name, controllers] of names as [string, string[]][]) hierarchies.set(path.join(root, name), controllers);
  const kernel = new FakeKernel(root, 'v1', hierarchies, opts.fake);
  let mountinfo = `31 27 0:28 / ${root} rw,nosuid,nodev,noexec - tmpfs tmpfs rw,mode=755\n`;
  let procSelfCgroup = '';
  let id = 12;
  const ownDirs: Record<string, string> = {};
  for (const [mount, controllers] of hierarchies) {
    fs.mkdirSync(mount);
    kernel.populate(mount);
    if (controllers.includes('cpuset')) {
      for (const f of ['cpuset.cpus', 'cpuset.effective_cpus']) fs.writeFileSync(path.join(mount, f), `${opts.cpus ?? '0-1'}\n`);
      for (const f of ['cpuset.mems', 'cpuset.effective_mems']) fs.writeFileSync(path.join(mount, f), '0\n');
    }
    const ownPath = controllers.map((c) => opts.own?.[c]).find((x) => x !== undefined) ?? '/';
    let cur = mount;
    for (const part of ownPath.split('/').filter(Boolean)) {
      cur = path.join(cur, part);
      fs.mkdirSync(cur);
      kernel.populate(cur);
      if (controllers.includes('cpuset')) {
        for (const f of ['cpuset.cpus', 'cpuset.mems']) fs.writeFileSync(path.join(cur, f), fs.readFileSync(path.join(path.dirname(cur), f)));
      }
    }
    for (const c of controllers) ownDirs[c] = cur;
    mountinfo += `${id} 31 0:${id} / ${mount} rw,nosuid,nodev,noexec,relatime - cgroup cgroup rw,${controllers.join(',')}\n`;
    procSelfCgroup = `${id - 11}:${controllers.join(',')}:${ownPath}\n` + procSelfCgroup;
    id++;
  }
  procSelfCgroup += '0::/\n';
  return { root, kernel, mountinfo, procSelfCgroup, ownDirs, sysBlockDir };
}

/** The driver options that point createCgroupDriver at a fake hierarchy, as process `pid`. */
export function fakeDriverOptions(f: ReturnType<typeof fakeV1> | ReturnType<typeof fakeV2>, pid: number) {
  return {
    root: f.root,
    mountinfo: f.mountinfo,
    procSelfCgroup: f.procSelfCgroup,
    fs: f.kernel,
    pid,
    signal: f.kernel.signal,
    sysBlockDir: f.sysBlockDir,
    killTimeoutMs: 500,
  };
}

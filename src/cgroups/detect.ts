/**
 * Decide the cgroup mode and find this process's own cgroup, from /proc/self/mountinfo and
 * /proc/self/cgroup. The core (detectLayout) is pure; detectCgroupLayout reads the files.
 *
 * - 'v2' when the root (/sys/fs/cgroup) is a cgroup2 mount with controllers (or with none, when no
 *   v1 controller is mounted either: cgroup.kill and cgroup.freeze still work).
 * - 'v1' when v1 controller hierarchies are mounted below the root: one per folder
 *   (/sys/fs/cgroup/cpu, /sys/fs/cgroup/cpuacct, ...) or co-mounted (/sys/fs/cgroup/cpu,cpuacct). A hybrid
 *   host's /sys/fs/cgroup/unified (cgroup2, no controllers) is not used.
 */
import { posix as path } from 'node:path';
import { UnsupportedError } from '../errors.js';
import { NodeCgroupFs, readOptional, type CgroupFs } from './cgroupfs.js';
import { parseMountinfo, parseProcCgroup, type MountInfoEntry } from './parse.js';

/** The v1 controllers corral knows. */
export const V1_CONTROLLERS = ['cpu', 'cpuacct', 'cpuset', 'memory', 'pids', 'blkio', 'freezer', 'devices'] as const;
export type V1Controller = (typeof V1_CONTROLLERS)[number];

/**
 * The leaf that the v2 driver moves corral's own process into (no-internal-process rule). When corral
 * finds itself there, its own cgroup is the leaf's parent.
 */
export const SUPERVISOR_LEAF = 'corral-supervisor';

/** One mounted v1 hierarchy. */
export interface V1Hierarchy {
  /** the known controllers mounted together in this hierarchy, e.g. ['cpu', 'cpuacct'] */
  controllers: V1Controller[];
  mountPoint: string;
  /** the cgroup mounted at mountPoint (mountinfo's root field; "/" unless bind-mounted from a sub-cgroup) */
  mountRoot: string;
  /** this process's cgroup in the hierarchy, as /proc/self/cgroup gives it, e.g. "/process_api/1a8c" */
  ownPath: string;
  /** the directory of that cgroup */
  ownDir: string;
}

export type CgroupLayout =
  | {
      mode: 'v2';
      mountPoint: string;
      /** the cgroup mounted at mountPoint ("/" unless bind-mounted from a sub-cgroup) */
      mountRoot: string;
      /** this process's cgroup, e.g. "/user.slice/session-1.scope" ("/corral-supervisor" stripped) */
      ownPath: string;
      ownDir: string;
      /** the mount root's cgroup.controllers */
      rootControllers: string[];
    }
  | { mode: 'v1'; hierarchies: V1Hierarchy[] };

export interface DetectInput {
  /** where cgroups are mounted, normally /sys/fs/cgroup */
  root: string;
  /** contents of /proc/self/mountinfo */
  mountinfo: string;
  /** contents of /proc/self/cgroup */
  procSelfCgroup: string;
  /** contents of <root>/cgroup.controllers when <root> is a cgroup2 mount */
  rootControllers?: string;
}

function under(root: string, mountPoint: string): boolean {
  return mountPoint === root || mountPoint.startsWith(root.endsWith('/') ? root : `${root}/`);
}

/** The directory of cgroup `cgroupPath` in a hierarchy mounted at `mount` (whose root may be a sub-cgroup). */
function cgroupDir(mount: MountInfoEntry, cgroupPath: string, what: string): string {
  const mroot = mount.root;
  if (cgroupPath === mroot || cgroupPath === '/') return mount.mountPoint;
  if (mroot === '/') return path.join(mount.mountPoint, cgroupPath);
  if (cgroupPath.startsWith(`${mroot}/`)) return path.join(mount.mountPoint, cgroupPath.slice(mroot.length));
  throw new UnsupportedError(`the own ${what} cgroup ${cgroupPath} is not visible under ${mount.mountPoint}, which mounts ${mroot}: mount the hierarchy's root or use a cgroup namespace`);
}

/** The last mount at `mountPoint` (the visible one), if any. */
function mountAt(mounts: MountInfoEntry[], mountPoint: string): MountInfoEntry | undefined {
  return mounts.filter((m) => m.mountPoint === mountPoint).at(-1);
}

/** Pure: the cgroup layout from the file contents. Throws UnsupportedError when there is no usable hierarchy. */
export function detectLayout(input: DetectInput): CgroupLayout {
  const root = input.root.replace(/\/+$/, '') || '/';
  const mounts = parseMountinfo(input.mountinfo, '/proc/self/mountinfo');
  const own = parseProcCgroup(input.procSelfCgroup, '/proc/self/cgroup');

  // v1 hierarchies below the root, one per mount (a hierarchy bind-mounted twice is taken once).
  const hierarchies: V1Hierarchy[] = [];
  const seen = new Set<string>();
  for (const m of mounts) {
    if (m.fsType !== 'cgroup' || !under(root, m.mountPoint)) continue;
    const controllers = V1_CONTROLLERS.filter((c) => m.superOptions.includes(c));
    if (controllers.length === 0 || controllers.some((c) => seen.has(c))) continue;
    for (const c of controllers) seen.add(c);
    const entry = own.find((e) => controllers.some((c) => e.controllers.includes(c)));
    if (!entry) {
      throw new UnsupportedError(`no line for the ${controllers.join(',')} hierarchy in /proc/self/cgroup`);
    }
    hierarchies.push({ controllers, mountPoint: m.mountPoint, mountRoot: m.root, ownPath: entry.path, ownDir: cgroupDir(m, entry.path, controllers.join(',')) });
  }

  const rootMount = mountAt(mounts, root);
  if (rootMount?.fsType === 'cgroup2') {
    const rootControllers = (input.rootControllers ?? '')
      .trim()
      .split(/\s+/)
      .filter((c) => c !== '');
    if (rootControllers.length > 0 || hierarchies.length === 0) {
      const entry = own.find((e) => e.id === 0 && e.controllers.length === 0);
      if (!entry) throw new UnsupportedError(`no "0::" line for the cgroup v2 hierarchy in /proc/self/cgroup`);
      let ownPath = entry.path;
      if (path.basename(ownPath) === SUPERVISOR_LEAF) ownPath = path.dirname(ownPath);
      return { mode: 'v2', mountPoint: root, mountRoot: rootMount.root, ownPath, ownDir: cgroupDir(rootMount, ownPath, 'cgroup v2'), rootControllers };
    }
  }
  if (hierarchies.length > 0) return { mode: 'v1', hierarchies };
  throw new UnsupportedError(`no usable cgroup hierarchy at ${root}: it is ${rootMount ? `a ${rootMount.fsType} mount` : 'not a mount point'} and no cgroup v1 controller is mounted below it`);
}

export interface DetectOptions {
  root?: string;
  mountinfo?: string;
  procSelfCgroup?: string;
  fs?: CgroupFs;
}

/** Read /proc/self/mountinfo, /proc/self/cgroup and (on a cgroup2 root) cgroup.controllers, then detectLayout. */
export async function detectCgroupLayout(options: DetectOptions = {}): Promise<CgroupLayout> {
  const fs = options.fs ?? new NodeCgroupFs();
  const root = options.root ?? '/sys/fs/cgroup';
  const mountinfo = options.mountinfo ?? (await fs.read('/proc/self/mountinfo'));
  const procSelfCgroup = options.procSelfCgroup ?? (await fs.read('/proc/self/cgroup'));
  const rootMount = mountAt(parseMountinfo(mountinfo, '/proc/self/mountinfo'), root.replace(/\/+$/, '') || '/');
  const rootControllers = rootMount?.fsType === 'cgroup2' ? await readOptional(fs, path.join(root, 'cgroup.controllers')) : undefined;
  return detectLayout({ root, mountinfo, procSelfCgroup, ...(rootControllers !== undefined ? { rootControllers } : {}) });
}

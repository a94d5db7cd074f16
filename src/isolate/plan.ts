/**
 * IsolationOptions -> the launcher's spec: which namespaces, which mounts in which order, who runs
 * what. Pure: host facts (system directories, the skeleton) and the cgroup placement are injected,
 * and every directive is data that tests read as a table.
 *
 * The shape follows runc (libcontainer/rootfs_linux.go, specconv/example.go) and Docker's defaults
 * (moby oci/defaults.go): a private mount tree, the root overlay, per-system-directory overlays
 * without --rootfs, /proc, /dev, /sys, volumes, pivot_root, masked and read-only paths, then the
 * process: hostname, network, environment, cwd, user, capabilities, exec.
 */
import { posix } from 'node:path';
import { InvalidArgumentError, UnsupportedError } from '../errors.js';
import { capabilityMask } from './caps.js';
import type { SockFilter } from './seccomp/bpf.js';
import type { SeccompFacts } from './seccomp/compile.js';
import { type SeccompSetting, seccompFilter } from './seccomp/filter.js';
import { SeccompProfileError } from './seccomp/profile.js';
import type { Directive, LaunchSpec, MountFlag, Namespace, SpecHeader } from './spec.js';
import type { CgroupPlacement, ContainerPaths, HostLayout, IsolationOptions, TmpfsMount, VolumeMount } from './types.js';

/**
 * The host directories that may be shared with a container (read-only, as overlay lower layers),
 * in mount order. Nothing else of the host is ever a lower layer: not /root, /home, /var, /tmp,
 * /run, /srv, /opt or /mnt.
 */
export const SYSTEM_DIR_NAMES: readonly string[] = ['usr', 'etc', 'bin', 'sbin', 'lib', 'lib32', 'lib64', 'libx32'];

/** Directories of the skeleton root (besides the system directories' mount points and symlinks). */
export const SKELETON_DIRS: readonly string[] = ['proc', 'sys', 'dev', 'tmp', 'run', 'var', 'root', 'home', 'mnt', 'etc', 'usr'];

/** Docker's masked paths (moby oci/defaults.go), inside the container. */
export const MASKED_PATHS: readonly string[] = [
  '/proc/asound',
  '/proc/acpi',
  '/proc/kcore',
  '/proc/keys',
  '/proc/latency_stats',
  '/proc/timer_list',
  '/proc/timer_stats',
  '/proc/sched_debug',
  '/proc/scsi',
  '/sys/firmware',
  '/sys/devices/virtual/powercap',
];

/** Docker's read-only paths (moby oci/defaults.go), inside the container. */
export const READONLY_PATHS: readonly string[] = ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'];

/**
 * The device nodes of the container's /dev (runc's default devices). They are not mknod'ed: /dev
 * is nodev like every mount the workload can write to, so each is an empty file with the host's
 * node bind-mounted onto it (runc does this for rootless containers). A bind mount keeps its
 * source mount's flags, and the host's /dev is a devtmpfs without nodev.
 */
export const DEFAULT_DEVICES: readonly string[] = ['null', 'zero', 'full', 'random', 'urandom', 'tty'];

/** The /dev symlinks (runc setupDevSymlinks, plus ptmx -> pts/ptmx for the new devpts instance). */
export const DEV_SYMLINKS: readonly { name: string; target: string }[] = [
  { name: 'ptmx', target: 'pts/ptmx' },
  { name: 'fd', target: '/proc/self/fd' },
  { name: 'stdin', target: '/proc/self/fd/0' },
  { name: 'stdout', target: '/proc/self/fd/1' },
  { name: 'stderr', target: '/proc/self/fd/2' },
  { name: 'core', target: '/proc/kcore' },
];

/**
 * Files under /proc that a volume may cover (runc checkProcMount: the files lxcfs emulates).
 * Any other volume at or under /proc is refused.
 */
export const PROC_VOLUME_TARGETS: readonly string[] = [
  '/proc/cpuinfo',
  '/proc/diskstats',
  '/proc/meminfo',
  '/proc/stat',
  '/proc/swaps',
  '/proc/uptime',
  '/proc/loadavg',
  '/proc/slabinfo',
  '/proc/sys/kernel/ns_last_pid',
  '/proc/sys/crypto/fips_enabled',
];

const MAX_ID = 4_294_967_294;

/** What the plan mounts where; the header and body for the launcher. */
export function planIsolation(opts: IsolationOptions, paths: ContainerPaths, cgroup: CgroupPlacement, host: HostLayout): LaunchSpec {
  const header = planHeader(opts, paths, cgroup);
  const merged = paths.merged;
  const inRoot = (path: string): string => posix.join(merged, path);
  const d: Directive[] = [];
  const mount = (source: string, target: string, fstype: string, flags: MountFlag[], data = ''): void => {
    d.push({ kind: 'mount', source, target, fstype, flags, data });
  };
  const mkdir = (path: string, mode = 0o755): void => {
    d.push({ kind: 'mkdir', path, mode });
  };

  // Validate everything the user gave before planning anything.
  const volumes = checkVolumes(opts.volumes);
  const workdir = checkWorkdir(opts.workdir);
  const env = buildEnvironment(opts.env, opts.user.uid);
  checkUser(opts.user);
  if (opts.hostname === '' || opts.hostname.length > 64) {
    throw new InvalidArgumentError('--hostname', opts.hostname, 'expected a host name of 1 to 64 characters');
  }
  if (opts.command.length === 0 || opts.command[0] === '') {
    throw new InvalidArgumentError('COMMAND', opts.command[0] ?? '', 'a command to run is required');
  }
  const caps = capabilityMask(opts.capAdd, opts.capDrop);
  const seccomp = seccompProgram(opts.seccomp, { caps, kernel: host.kernel });

  // 1. Nothing mounted from here on propagates back to the host (runc: rootfsParentMountPrivate).
  mount('', '/', '', ['rprivate']);

  // 2. The root and, without --rootfs, one overlay per host system directory. The layers'
  //    upper and work directories are created here (mkdir directives), not by rootfs.ts.
  const overlays = rootOverlays(opts, paths, host);
  for (const o of overlays) {
    mkdir(o.upper);
    mkdir(o.work, 0o700);
  }
  // nodev on every mount the workload can create files in: with CAP_MKNOD (in Docker's default
  // set) and no device cgroup, a node it made there could open any host device, e.g. the root disk.
  for (const o of overlays) {
    // an image's layers are named relative to the store's link directory (overlay2's way): the
    // mount's options must fit in one page, and 125 absolute layer paths would not
    if (o.lowerBase !== undefined) d.push({ kind: 'cwd', path: o.lowerBase });
    const data = `lowerdir=${o.lower},upperdir=${o.upper},workdir=${o.work},index=off`;
    if (data.length >= MOUNT_DATA_MAX) {
      throw new UnsupportedError(`the root's overlay mount options would be ${data.length} bytes, more than the kernel's ${MOUNT_DATA_MAX} (too many layers)`);
    }
    mount('overlay', o.target, 'overlay', ['nodev'], data);
  }

  // 3. /proc, /dev, /sys: runc's default mounts (specconv.Example).
  mkdir(inRoot('/proc'));
  mount('proc', inRoot('/proc'), 'proc', ['nosuid', 'nodev', 'noexec']);

  mkdir(inRoot('/dev'));
  mount('tmpfs', inRoot('/dev'), 'tmpfs', ['nosuid', 'nodev', 'strictatime'], 'mode=755,size=65536k');
  for (const name of DEFAULT_DEVICES) {
    d.push({ kind: 'touch', path: inRoot(`/dev/${name}`) });
    mount(`/dev/${name}`, inRoot(`/dev/${name}`), '', ['bind']);
  }
  mkdir(inRoot('/dev/pts'));
  mount('devpts', inRoot('/dev/pts'), 'devpts', ['nosuid', 'noexec'], 'newinstance,ptmxmode=0666,mode=0620,gid=5');
  for (const link of DEV_SYMLINKS) d.push({ kind: 'symlink', target: link.target, linkpath: inRoot(`/dev/${link.name}`) });
  mkdir(inRoot('/dev/shm'));
  // --shm-size, in bytes as moby writes it; Docker's 64MiB without it
  mount('shm', inRoot('/dev/shm'), 'tmpfs', ['nosuid', 'nodev', 'noexec'], `mode=1777,size=${opts.shmSize === undefined ? '65536k' : checkShmSize(opts.shmSize)}`);
  mkdir(inRoot('/dev/mqueue'));
  mount('mqueue', inRoot('/dev/mqueue'), 'mqueue', ['nosuid', 'nodev', 'noexec']);

  // A fresh sysfs shows the network namespace of the mounter. With --network host there is no
  // new network namespace and no user namespace, so the mount works as well (as in Docker).
  mkdir(inRoot('/sys'));
  mount('sysfs', inRoot('/sys'), 'sysfs', ['ro', 'nosuid', 'nodev', 'noexec']);
  if (cgroup.mode === 'v2') {
    // The child unshared its cgroup namespace after joining its cgroup: this root is its own cgroup.
    mount('cgroup2', inRoot('/sys/fs/cgroup'), 'cgroup2', ['ro', 'nosuid', 'nodev', 'noexec', 'relatime']);
  }

  // 4. Volumes and --tmpfs mounts, shallowest first so that /a is mounted before /a/b (moby's
  //    sortMounts). They come after /dev and /sys so that one under them is not hidden.
  for (const v of mountsByDepth(volumes, checkTmpfs(opts.tmpfs ?? [], volumes))) {
    if ('flags' in v) {
      mkdir(inRoot(v.target));
      mount('tmpfs', inRoot(v.target), 'tmpfs', v.flags, v.data);
      continue;
    }
    const target = inRoot(v.target);
    if (v.kind === 'dir') {
      mkdir(target);
    } else {
      mkdir(posix.dirname(target));
      d.push({ kind: 'touch', path: target });
    }
    mount(v.source, target, '', ['bind', 'rec']);
    // nodev (and ro for :ro) on the volume and every mount below it, each keeping the flags it
    // has (nosuid, noexec, ...): a writable mount below a volume is as good a place for a node.
    d.push({ kind: 'remount', path: target, flags: v.readOnly ? ['nodev', 'ro', 'rec'] : ['nodev', 'rec'] });
  }

  // Docker creates the working directory if it is missing.
  if (workdir !== '/') mkdir(inRoot(workdir));

  // 5. Switch to the new root; from here on, paths are the container's.
  d.push({ kind: 'pivot-root', root: merged });
  for (const path of MASKED_PATHS) d.push({ kind: 'mask', path });
  for (const path of READONLY_PATHS) d.push({ kind: 'readonly', path });

  // 6. --read-only: the root and the system-directory overlays become read-only mounts, keeping
  //    nodev. Not recursive: /proc, /dev, /sys and volumes keep their own flags.
  if (opts.readOnly) {
    for (const o of overlays) d.push({ kind: 'remount', path: o.containerPath, flags: ['ro'] });
  }

  // 7. The process.
  d.push({ kind: 'hostname', name: opts.hostname });
  if (opts.network === 'none') d.push({ kind: 'loopback-up' });
  // before `user` and `caps`: raising a hard limit or lowering the OOM score needs CAP_SYS_RESOURCE
  for (const u of opts.ulimits ?? []) d.push({ kind: 'rlimit', name: u.name, soft: u.soft, hard: u.hard });
  if (opts.oomScoreAdj !== undefined) d.push({ kind: 'oom-score-adj', value: opts.oomScoreAdj });
  for (const entry of env) d.push({ kind: 'env', entry });
  d.push({ kind: 'cwd', path: workdir });
  d.push({ kind: 'user', uid: opts.user.uid, gid: opts.user.gid, additionalGids: [...opts.user.additionalGids] });
  d.push({ kind: 'caps', mask: caps });
  d.push({ kind: 'no-new-privs' });
  if (seccomp !== undefined) d.push({ kind: 'seccomp', program: seccomp });
  // the launcher's child forks the workload last and stays as its init (the workload is PID 2)
  if (opts.init === true) d.push({ kind: 'init' });
  const [command = '', ...args] = opts.command;
  d.push({ kind: 'exec', command, argv: [command, ...args] });

  return { header, directives: d };
}

/**
 * The seccomp program for a container with these capabilities (Docker's default profile unless the
 * setting says otherwise), or undefined for none. A custom profile that cannot be used is an
 * InvalidArgumentError of --security-opt (run's rules check it first: this is for a stored one).
 */
export function seccompProgram(setting: SeccompSetting | undefined, facts: SeccompFacts): readonly SockFilter[] | undefined {
  try {
    return seccompFilter(setting, facts);
  } catch (err) {
    if (err instanceof SeccompProfileError) throw new InvalidArgumentError('--security-opt', 'seccomp=<profile>', `the profile: ${err.message}`);
    throw err;
  }
}

function planHeader(opts: IsolationOptions, paths: ContainerPaths, cgroup: CgroupPlacement): SpecHeader {
  const namespaces: Namespace[] = ['pid', 'mount', 'uts', 'ipc'];
  if (opts.network !== 'host') namespaces.push('net');
  namespaces.push('cgroup');
  const header: SpecHeader = { version: 1, namespaces, cgroupProcs: [...cgroup.procsFiles], stateDir: paths.dir };
  if (cgroup.dir !== undefined) {
    if (cgroup.mode !== 'v2') throw new UnsupportedError(`cgroup v1 cannot place the workload with clone3(CLONE_INTO_CGROUP) into ${cgroup.dir}: use procsFiles`);
    header.cgroupDir = cgroup.dir;
  }
  return header;
}

interface Overlay {
  /** host path of the mount point */
  target: string;
  /** the same mount point inside the container */
  containerPath: string;
  lower: string;
  /** the directory `lower`'s relative names are in (an image's links), made the cwd for the mount */
  lowerBase?: string;
  upper: string;
  work: string;
}

/** mount(2) copies at most one page of options (PAGE_SIZE on x86_64 and arm64's default) */
const MOUNT_DATA_MAX = 4096;
/** overlayfs' OVL_MAX_STACK */
const OVERLAY_MAX_LOWER = 500;

function rootOverlays(opts: IsolationOptions, paths: ContainerPaths, host: HostLayout): Overlay[] {
  const layer = (name: string) => ({ upper: posix.join(paths.upper, name), work: posix.join(paths.work, name) });
  const overlays: Overlay[] = [];
  const rootfs = opts.rootfs;
  if (opts.layers !== undefined) {
    const { linkDir, links } = opts.layers;
    if (rootfs !== undefined) throw new InvalidArgumentError('--rootfs', rootfs, 'an image and --rootfs cannot both be the root');
    if (!linkDir.startsWith('/') || OVERLAY_UNSAFE.test(linkDir)) throw new UnsupportedError(`overlayfs cannot use the layer directory ${linkDir}`);
    if (links.length === 0 || links.length > OVERLAY_MAX_LOWER) throw new UnsupportedError(`an image of ${links.length} layers: overlayfs stacks 1 to ${OVERLAY_MAX_LOWER}`);
    for (const l of links) if (!/^[A-Za-z0-9]+$/.test(l)) throw new UnsupportedError(`"${l}" is not a layer link name`);
    overlays.push({ target: paths.merged, containerPath: '/', lower: links.map((l) => `l/${l}`).join(':'), lowerBase: posix.dirname(linkDir), ...layer('root') });
  } else if (rootfs !== undefined) {
    if (!rootfs.startsWith('/')) throw new InvalidArgumentError('--rootfs', rootfs, 'expected an absolute path to an existing directory');
    if (OVERLAY_UNSAFE.test(rootfs)) throw new InvalidArgumentError('--rootfs', rootfs, overlayPathProblem(rootfs));
    overlays.push({ target: paths.merged, containerPath: '/', lower: rootfs, ...layer('root') });
  } else {
    overlays.push({ target: paths.merged, containerPath: '/', lower: host.skeleton, ...layer('root') });
    for (const name of SYSTEM_DIR_NAMES) {
      const dir = host.systemDirs.find((s) => s.name === name);
      if (dir?.kind !== 'dir') continue; // absent, or a merged-/usr symlink that the skeleton has
      overlays.push({ target: posix.join(paths.merged, name), containerPath: `/${name}`, lower: `/${name}`, ...layer(name) });
    }
  }
  // The rest are corral's own paths (the state directory and the skeleton under it).
  for (const o of overlays) {
    for (const path of o.lower === rootfs || o.lowerBase !== undefined ? [o.upper, o.work] : [o.lower, o.upper, o.work]) {
      if (OVERLAY_UNSAFE.test(path)) {
        throw new UnsupportedError(`overlayfs cannot use ${path}: ${overlayPathProblem(path)}; use a state directory without them`);
      }
    }
  }
  return overlays;
}

/** Characters that overlayfs's option parser splits on or unescapes: a path with them cannot be passed. */
const OVERLAY_UNSAFE = /[,:\\]/;

function overlayPathProblem(path: string): string {
  const c = OVERLAY_UNSAFE.exec(path)?.[0] ?? '';
  const name = c === ',' ? 'a comma' : c === ':' ? 'a colon' : 'a backslash';
  return `the path contains ${name}, and overlayfs mount options cannot carry a comma, colon or backslash in a path`;
}

function volumeText(v: VolumeMount): string {
  return `${v.source}:${v.target}${v.readOnly ? ':ro' : ''}`;
}

/** Validated volumes, targets normalised, shallowest first (stable). */
function checkVolumes(volumes: VolumeMount[]): VolumeMount[] {
  const seen = new Set<string>();
  const out = volumes.map((v) => {
    const bad = (why: string) => new InvalidArgumentError('--volume', volumeText(v), why);
    if (!v.source.startsWith('/')) throw bad('the host path must be absolute');
    if (!v.target.startsWith('/')) throw bad('the container path must be absolute');
    if (v.kind !== 'dir' && v.kind !== 'file') throw bad(`unknown source kind "${String(v.kind)}"; expected file or dir`);
    // normalize() of an absolute path cannot climb above "/": the target stays under the new root.
    let target = posix.normalize(v.target);
    if (target.length > 1 && target.endsWith('/')) target = target.slice(0, -1);
    if (target === '/') throw bad('the container path cannot be /');
    if ((target === '/proc' || target.startsWith('/proc/')) && !PROC_VOLUME_TARGETS.includes(target)) {
      throw bad(`${target} is inside /proc; only ${PROC_VOLUME_TARGETS.join(', ')} may be covered`);
    }
    if (seen.has(target)) throw bad(`duplicate mount point ${target}`);
    seen.add(target);
    return { ...v, target };
  });
  const depth = (path: string) => path.split('/').length;
  return out
    .map((v, i) => ({ v, i }))
    .sort((a, b) => depth(a.v.target) - depth(b.v.target) || a.i - b.i)
    .map((x) => x.v);
}

/** --shm-size's bytes for the tmpfs's size= (above 0: run's rules turned 0 into the default). */
function checkShmSize(bytes: number): string {
  if (!Number.isSafeInteger(bytes) || bytes <= 0) throw new InvalidArgumentError('--shm-size', String(bytes), 'expected a size above 0');
  return String(bytes);
}

/** --tmpfs mounts: absolute targets, not /, not in /proc, none twice nor at a volume's target; nodev kept. */
function checkTmpfs(mounts: readonly TmpfsMount[], volumes: readonly VolumeMount[]): TmpfsMount[] {
  const seen = new Set(volumes.map((v) => v.target));
  return mounts.map((m) => {
    const bad = (why: string) => new InvalidArgumentError('--tmpfs', m.target, why);
    let target = posix.normalize(m.target);
    if (target.length > 1 && target.endsWith('/')) target = target.slice(0, -1);
    if (!m.target.startsWith('/') || target === '/') throw bad('expected an absolute path inside the container, not /');
    if (target === '/proc' || target.startsWith('/proc/')) throw bad('a tmpfs cannot cover /proc');
    if (seen.has(target)) throw bad(`duplicate mount point ${target}`);
    if (!m.flags.includes('nodev')) throw bad('every mount the workload can write to is nodev');
    seen.add(target);
    return { ...m, target };
  });
}

/** Volumes and tmpfs mounts together, shallowest first (stable: volumes before tmpfs at one depth). */
function mountsByDepth(volumes: readonly VolumeMount[], tmpfs: readonly TmpfsMount[]): (VolumeMount | TmpfsMount)[] {
  const depth = (path: string) => path.split('/').length;
  return [...volumes, ...tmpfs]
    .map((v, i) => ({ v, i }))
    .sort((a, b) => depth(a.v.target) - depth(b.v.target) || a.i - b.i)
    .map((x) => x.v);
}

function checkWorkdir(workdir: string): string {
  if (!workdir.startsWith('/')) throw new InvalidArgumentError('--workdir', workdir, 'expected an absolute path inside the container');
  const normalised = posix.normalize(workdir);
  return normalised.length > 1 && normalised.endsWith('/') ? normalised.slice(0, -1) : normalised;
}

function checkUser(user: IsolationOptions['user']): void {
  const ok = (n: number) => Number.isInteger(n) && n >= 0 && n <= MAX_ID;
  const text = `${user.uid}:${user.gid}`;
  if (!ok(user.uid) || !ok(user.gid)) throw new InvalidArgumentError('--user', text, `expected a numeric uid[:gid] from 0 to ${MAX_ID}`);
  for (const gid of user.additionalGids) {
    if (!ok(gid)) throw new InvalidArgumentError('--user', `${text} (supplementary gid ${gid})`, `expected numeric ids from 0 to ${MAX_ID}`);
  }
}

/**
 * The workload's whole environment: a later KEY replaces an earlier one in place (Docker's
 * ReplaceOrAppendEnvValues); HOME is added when missing, as runc does without a passwd entry
 * ("/root" for uid 0, "/" otherwise).
 */
export function buildEnvironment(entries: string[], uid: number): string[] {
  const env = new Map<string, string>();
  for (const entry of entries) {
    const eq = entry.indexOf('=');
    if (eq <= 0) throw new InvalidArgumentError('--env', entry, 'expected KEY=VALUE with a non-empty KEY');
    env.set(entry.slice(0, eq), entry.slice(eq + 1));
  }
  if (!env.has('HOME')) env.set('HOME', uid === 0 ? '/root' : '/');
  return [...env].map(([key, value]) => `${key}=${value}`);
}

/**
 * The file-system side of isolation, kept small: a container's directories, the host skeleton
 * (the root's lower layer without --rootfs) and the host facts that plan.ts needs. The upper and
 * work directories of each overlay layer are created by the plan's mkdir directives, not here.
 */
import { randomBytes } from 'node:crypto';
import { chmod, lstat, mkdir, readlink, rename, rm, stat, symlink } from 'node:fs/promises';
import { mkdirSync, readFileSync, rmSync, type Stats } from 'node:fs';
import { join, posix } from 'node:path';
import { CorralError, InvalidArgumentError, UnsupportedError } from '../errors.js';
import { SKELETON_DIRS, SYSTEM_DIR_NAMES } from './plan.js';
import type { ContainerPaths, HostSystemDir, IsolationOptions, VolumeMount } from './types.js';

/** The skeleton does not match the host's system directories (the host's layout changed). */
export class HostSkeletonError extends CorralError {
  readonly path: string;
  constructor(path: string, problem: string) {
    super('ESKELETON', `host skeleton ${path}: ${problem}; remove it while no container runs and it is rebuilt`);
    this.path = path;
  }
}

/** A container's directory cannot be removed safely. */
export class ContainerDirsBusyError extends CorralError {
  readonly path: string;
  readonly mountPoints: string[];
  constructor(path: string, mountPoints: string[]) {
    super('EBUSY', `remove ${path}: still mounted at ${mountPoints.join(', ')}`);
    this.path = path;
    this.mountPoints = mountPoints;
  }
}

function isErrno(error: unknown, ...codes: string[]): boolean {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return code !== undefined && codes.includes(code);
}

/**
 * Create a container's directory, its upper and work roots (0700: the layers are the container's
 * own files) and the merged mount point. Existing directories are fine (a restarted container keeps
 * its layer). With --rootfs, checks that it is a directory.
 */
export async function prepareContainerDirs(paths: ContainerPaths, opts: IsolationOptions): Promise<void> {
  if (opts.rootfs !== undefined) {
    let isDir: boolean;
    try {
      isDir = (await stat(opts.rootfs)).isDirectory();
    } catch (error) {
      if (!isErrno(error, 'ENOENT', 'ENOTDIR')) throw error;
      throw new InvalidArgumentError('--rootfs', opts.rootfs, `${opts.rootfs} does not exist; expected an absolute path to an existing directory`);
    }
    if (!isDir) throw new InvalidArgumentError('--rootfs', opts.rootfs, `${opts.rootfs} is not a directory; expected an absolute path to an existing directory`);
  }
  // Synchronous on purpose: a handful of metadata calls cost less than thread-pool round trips.
  mkdirSync(paths.dir, { recursive: true, mode: 0o700 });
  mkdirSync(paths.upper, { recursive: true, mode: 0o700 });
  mkdirSync(paths.work, { recursive: true, mode: 0o700 });
  mkdirSync(paths.merged, { recursive: true, mode: 0o755 });
}

/**
 * The mount points at or below `dir` in a /proc/self/mountinfo text (field 5, octal escapes undone).
 * Pure.
 */
export function mountPointsUnder(dir: string, mountinfo: string): string[] {
  const out: string[] = [];
  for (const line of mountinfo.split('\n')) {
    const field = line.split(' ')[4];
    if (field === undefined) continue;
    const point = field.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));
    if (point === dir || point.startsWith(dir.endsWith('/') ? dir : `${dir}/`)) out.push(point);
  }
  return out;
}

/**
 * Remove a container's directory recursively; a missing one is fine. Refuses (ContainerDirsBusyError)
 * while anything is mounted inside it in corral's mount namespace, so that removal never walks into a
 * mounted layer or volume. The container's own mounts live in its private mount namespace and are
 * gone once its last process exited.
 */
export async function removeContainerDirs(paths: ContainerPaths, mountinfoPath = '/proc/self/mountinfo'): Promise<void> {
  const mounted = mountPointsUnder(paths.dir, readFileSync(mountinfoPath, 'utf8'));
  if (mounted.length > 0) throw new ContainerDirsBusyError(paths.dir, mounted);
  // Synchronous: a fresh container's tree is a few dozen entries, each async call a thread-pool hop.
  rmSync(paths.dir, { recursive: true, force: true });
}

/**
 * The host's system directories (SYSTEM_DIR_NAMES) that exist under `hostRoot`: real directories,
 * or symlinks (merged /usr: bin -> usr/bin) with their target. A missing one is left out; one that
 * is neither a directory nor a symlink is an UnsupportedError.
 */
export async function describeHostSystemDirs(hostRoot = '/'): Promise<HostSystemDir[]> {
  const out: HostSystemDir[] = [];
  for (const name of SYSTEM_DIR_NAMES) {
    const path = join(hostRoot, name);
    let info: Stats;
    try {
      info = await lstat(path);
    } catch (error) {
      if (isErrno(error, 'ENOENT')) continue;
      throw error;
    }
    if (info.isDirectory()) out.push({ name, kind: 'dir' });
    else if (info.isSymbolicLink()) out.push({ name, kind: 'symlink', target: await readlink(path) });
    else throw new UnsupportedError(`host system directory ${path} is neither a directory nor a symlink`);
  }
  return out;
}

/** Where ensureHostSkeleton puts the skeleton: `<stateRoot>/skeleton`. Pure. */
export function skeletonPath(stateRoot: string): string {
  return join(stateRoot, 'skeleton');
}

/**
 * Build `<stateRoot>/skeleton` once and return its path: the empty directories of SKELETON_DIRS
 * (tmp 1777, root 0700, the rest 0755), a mount point for each host system directory that is a real
 * directory, and a copy of each that is a symlink (bin -> usr/bin). Built under a temporary name and
 * renamed into place, so concurrent callers are safe. An existing skeleton is checked against
 * `systemDirs` and never modified (it may be a lower layer of running containers): a mismatch is a
 * HostSkeletonError.
 */
export async function ensureHostSkeleton(stateRoot: string, systemDirs?: HostSystemDir[]): Promise<string> {
  const dirs = systemDirs ?? (await describeHostSystemDirs());
  const skeleton = skeletonPath(stateRoot);
  if (!(await exists(skeleton))) {
    await mkdir(stateRoot, { recursive: true, mode: 0o700 });
    const temp = join(stateRoot, `.skeleton-${process.pid}-${randomBytes(4).toString('hex')}`);
    try {
      await buildSkeleton(temp, dirs);
      await rename(temp, skeleton);
    } catch (error) {
      await rm(temp, { recursive: true, force: true });
      if (!isErrno(error, 'EEXIST', 'ENOTEMPTY')) throw error; // another process won the rename
    }
  }
  await checkSkeleton(skeleton, dirs);
  return skeleton;
}

async function exists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch (error) {
    if (isErrno(error, 'ENOENT')) return false;
    throw error;
  }
}

async function buildSkeleton(root: string, systemDirs: HostSystemDir[]): Promise<void> {
  await mkdir(root, { mode: 0o755 });
  await chmod(root, 0o755);
  const symlinks = new Map(systemDirs.filter((s) => s.kind === 'symlink').map((s) => [s.name, s.target ?? '']));
  const names = new Set([...SKELETON_DIRS, ...systemDirs.filter((s) => s.kind === 'dir').map((s) => s.name)]);
  for (const name of names) {
    if (symlinks.has(name)) continue;
    const mode = name === 'tmp' ? 0o1777 : name === 'root' ? 0o700 : 0o755;
    await mkdir(join(root, name));
    await chmod(join(root, name), mode); // umask-proof, and mkdir(2) ignores the sticky bit
  }
  for (const [name, target] of symlinks) {
    if (target === '') throw new UnsupportedError(`host system directory /${name} is a symlink without a target`);
    await symlink(target, join(root, name));
  }
}

async function checkSkeleton(skeleton: string, systemDirs: HostSystemDir[]): Promise<void> {
  for (const dir of systemDirs) {
    const path = posix.join(skeleton, dir.name);
    let info: Stats;
    try {
      info = await lstat(path);
    } catch (error) {
      if (!isErrno(error, 'ENOENT')) throw error;
      throw new HostSkeletonError(skeleton, `${dir.name} is missing, but the host has /${dir.name}`);
    }
    if (dir.kind === 'dir' && !info.isDirectory()) {
      throw new HostSkeletonError(skeleton, `${dir.name} is not a directory, but /${dir.name} is one on the host`);
    }
    if (dir.kind === 'symlink') {
      const target = info.isSymbolicLink() ? await readlink(path) : undefined;
      if (target !== dir.target) {
        throw new HostSkeletonError(skeleton, `${dir.name} is not a symlink to ${dir.target ?? ''}, as /${dir.name} is on the host`);
      }
    }
  }
}

/**
 * What a volume's source is, for VolumeMount.kind: 'dir' for a directory (symlinks followed),
 * 'file' for anything else. A missing source is an InvalidArgumentError for --volume.
 */
export async function volumeSourceKind(volume: Pick<VolumeMount, 'source' | 'target' | 'readOnly'>): Promise<'file' | 'dir'> {
  try {
    return (await stat(volume.source)).isDirectory() ? 'dir' : 'file';
  } catch (error) {
    if (!isErrno(error, 'ENOENT', 'ENOTDIR')) throw error;
    const text = `${volume.source}:${volume.target}${volume.readOnly ? ':ro' : ''}`;
    throw new InvalidArgumentError('--volume', text, `the host path ${volume.source} does not exist`);
  }
}

/**
 * Where container cgroups go. By default under the cgroup corral itself runs in, as `<own>/corral/<name>`
 * (per hierarchy on v1, where the own cgroup differs by hierarchy). With --cgroup-parent: a relative path
 * is taken inside the own cgroup (`<own>/<parent>/<name>`), an absolute one as is (`<parent>/<name>`).
 *
 * The delegation boundary is the topmost cgroup corral writes to: the own cgroup when the parent lies
 * inside it, else the hierarchy's mounted root (an absolute --cgroup-parent elsewhere is the operator's
 * explicit choice). Nothing above the boundary is ever created, written or removed.
 */
import { posix as path } from 'node:path';
import { InvalidArgumentError, UnsupportedError } from '../errors.js';
import { SUPERVISOR_LEAF } from './detect.js';

export const DEFAULT_PARENT = 'corral';

/** cgroup path `inner` is `outer` or below it */
export function within(outer: string, inner: string): boolean {
  return outer === '/' || inner === outer || inner.startsWith(`${outer}/`);
}

export interface ResolvedParent {
  /** the parent cgroup path, e.g. "/process_api/1a8c/corral" */
  parentPath: string;
  /** the delegation boundary's cgroup path */
  boundaryPath: string;
}

/** Resolve the --cgroup-parent value (or the default) against the own cgroup path. */
export function resolveParent(ownPath: string, parent: string = DEFAULT_PARENT): ResolvedParent {
  if (parent.trim() === '' || parent.includes('\0')) {
    throw new InvalidArgumentError('--cgroup-parent', parent, 'a cgroup path such as /corral-test or corral-test');
  }
  const parentPath = path.normalize(path.isAbsolute(parent) ? parent : path.join(ownPath, parent)).replace(/(.)\/+$/, '$1');
  if (!path.isAbsolute(parent) && !within(ownPath, parentPath)) {
    throw new InvalidArgumentError('--cgroup-parent', parent, `a relative path must stay inside the own cgroup ${ownPath}`);
  }
  return { parentPath, boundaryPath: within(ownPath, parentPath) ? ownPath : '/' };
}

/** The directory of cgroup `cgroupPath` in a hierarchy mounted at `mountPoint` from cgroup `mountRoot`. */
export function dirOf(mountPoint: string, mountRoot: string, cgroupPath: string): string {
  if (!within(mountRoot, cgroupPath)) {
    throw new UnsupportedError(`cgroup ${cgroupPath} is not visible under ${mountPoint}, which mounts ${mountRoot}`);
  }
  const rel = mountRoot === '/' ? cgroupPath : cgroupPath.slice(mountRoot.length);
  return rel === '' || rel === '/' ? mountPoint : path.join(mountPoint, rel);
}

/** The cgroup paths from `top` down to `bottom`, both included (bottom must be within top). */
export function pathsDown(top: string, bottom: string): string[] {
  const out = [top];
  const rest = path.relative(top, bottom);
  if (rest === '') return out;
  let cur = top;
  for (const part of rest.split('/')) {
    cur = path.join(cur, part);
    out.push(cur);
  }
  return out;
}

/** A container cgroup name: one path component, not "." or "..", not corral's own supervisor leaf. */
export function checkName(name: string): string {
  if (!/^[A-Za-z0-9_.-]+$/.test(name) || name === '.' || name === '..' || name === SUPERVISOR_LEAF) {
    throw new InvalidArgumentError('cgroup name', name, `one path component of letters, digits, "_", "." or "-", not "." or ".." or "${SUPERVISOR_LEAF}"`);
  }
  return name;
}

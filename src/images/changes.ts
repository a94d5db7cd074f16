/**
 * What a container changed, read from its overlay's upper directory as Docker's overlay2 driver reads
 * it (moby pkg/archive changes.go with overlayDeletedFile): the upper directory is walked in Go's
 * filepath.Walk order (each directory's entries by name); a whiteout (a 0/0 character device) is a
 * deletion, and so is an opaque directory (trusted.overlay.opaque=y), whose contents then follow as
 * additions; anything else is an addition, or a modification when a lower layer has the path (a
 * directory equal in size, mode and time to the lower one is no change); the parent of an addition
 * or a deletion is listed as modified, once, before it.
 */
import fs from 'node:fs/promises';
import type { Stats } from 'node:fs';
import path from 'node:path';
import type { Syscalls } from '../sys/syscalls.js';
import { OPAQUE_XATTR } from './unpack.js';

/** Docker's ChangeType: 0 modified, 1 added, 2 deleted. */
export type ChangeKind = 0 | 1 | 2;
export const CHANGE = { modified: 0, added: 1, deleted: 2 } as const;

export interface Change {
  Path: string;
  Kind: ChangeKind;
}

/** One overlay of the container's root: its upper directory, its lowers (topmost first), where it shows. */
export interface OverlayLayers {
  upper: string;
  lowers: string[];
  /** the path the overlay is mounted at inside the container: `/`, or `/usr` for a host directory */
  at: string;
}

export function isWhiteout(st: Stats): boolean {
  return st.isCharacterDevice() && st.rdev === 0;
}

/**
 * What Docker keeps in a container's init layer (moby daemon/initlayer), below its writable layer and
 * so never in its changes: the mount points corral's plan makes in the root (/proc, /sys, /dev with
 * its mounts) and the files Docker binds over. A walk skips them and what is under them.
 */
export const INIT_LAYER_PATHS: ReadonlySet<string> = new Set(['/dev', '/proc', '/sys', '/.dockerenv', '/.dockerinit', '/etc/resolv.conf', '/etc/hosts', '/etc/hostname', '/etc/mtab']);

/** Go's sameFsTime: equal, or the same second with one side's nanoseconds unknown (0). */
function sameTime(a: Stats, b: Stats): boolean {
  const [sa, sb] = [Math.floor(a.mtimeMs / 1000), Math.floor(b.mtimeMs / 1000)];
  return a.mtimeMs === b.mtimeMs || (sa === sb && (a.mtimeMs % 1000 === 0 || b.mtimeMs % 1000 === 0));
}

const lstatOrUndefined = (p: string) => fs.lstat(p).catch(() => undefined);
const statOrUndefined = (p: string) => fs.stat(p).catch(() => undefined);

/** The changes of one overlay, its paths as the container sees them. */
async function overlayChanges(layer: OverlayLayers, sys: Syscalls): Promise<Change[]> {
  const changes: Change[] = [];
  const changedDirs = new Set<string>();
  const visit = async (rel: string): Promise<void> => {
    const upperPath = path.join(layer.upper, rel);
    const fi = await lstatOrUndefined(upperPath);
    if (fi === undefined) return;
    const shown = path.posix.join(layer.at, rel);
    if (INIT_LAYER_PATHS.has(shown)) return;
    if (rel !== '/') {
      const deleted = isWhiteout(fi) || (fi.isDirectory() && sys.lgetxattr(upperPath, OPAQUE_XATTR)?.toString() === 'y');
      let kind: ChangeKind | undefined = deleted ? CHANGE.deleted : CHANGE.added;
      if (!deleted) {
        for (const lower of layer.lowers) {
          // os.Stat, as moby: a symlink in the lower layer is followed
          const st = await statOrUndefined(path.join(lower, rel));
          if (st === undefined) continue;
          if (st.isDirectory() && fi.isDirectory() && st.size === fi.size && st.mode === fi.mode && sameTime(st, fi)) kind = undefined;
          else kind = CHANGE.modified;
          break;
        }
      }
      // a directory equal to the lower one is no change, and not yet a changed parent (moby returns
      // before recording it): a change below it lists it then
      if (kind !== undefined && fi.isDirectory()) changedDirs.add(shown);
      if (kind !== undefined) {
        if (kind === CHANGE.added || kind === CHANGE.deleted) {
          const parent = path.posix.dirname(shown);
          if (!changedDirs.has(parent) && parent !== '/') {
            changes.push({ Path: parent, Kind: CHANGE.modified });
            changedDirs.add(parent);
          }
        }
        changes.push({ Path: shown, Kind: kind });
      }
    }
    if (fi.isDirectory()) {
      const names = (await fs.readdir(upperPath)).sort();
      for (const name of names) await visit(path.posix.join(rel, name));
    }
  };
  await visit('/');
  return changes;
}

/** Path components compared one by one: the order a walk of the whole root visits them. */
function walkOrder(a: Change, b: Change): number {
  const [pa, pb] = [a.Path.split('/'), b.Path.split('/')];
  for (let i = 0; i < Math.min(pa.length, pb.length); i++) {
    if (pa[i] !== pb[i]) return pa[i]! < pb[i]! ? -1 : 1;
  }
  return pa.length - pb.length;
}

/**
 * A container's changes over all its overlays (an image's or a rootfs's root is one; the host's
 * system directories are one each), in the order of one walk of the whole root.
 */
export async function containerChanges(layers: readonly OverlayLayers[], sys: Syscalls): Promise<Change[]> {
  const all: Change[] = [];
  for (const layer of layers) all.push(...(await overlayChanges(layer, sys)));
  return all.sort(walkOrder);
}

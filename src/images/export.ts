/**
 * `export`: a container's root as one tar, read from its overlay's layers without mounting them (a
 * stopped container's overlay is not mounted): the union overlayfs would show, walked top layer
 * first. In each directory the topmost layer holding a name decides it: a whiteout (a 0/0
 * character device) hides it; a directory merges with the same directory of the layers below,
 * down to one that is opaque (trusted.overlay.opaque=y) or holds no directory there. Entries go in
 * walk order (each directory's names sorted), names relative (`etc/motd`), hard links within the
 * export kept as links; overlayfs' own xattrs are left out, sockets skipped.
 */
import type { Stats } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import type { Syscalls } from '../sys/syscalls.js';
import { isWhiteout } from './changes.js';
import { TreeTar } from './tree-tar.js';
import { OPAQUE_XATTR } from './unpack.js';

const lstatOrUndefined = (p: string) => fs.lstat(p).catch(() => undefined);

/** The union of `layers` (topmost first) as a tar stream. */
export function exportTar(layers: readonly string[], sys: Syscalls): Readable {
  const tar = new TreeTar(sys);
  /** the directory `rel` as merged from `dirs` (its copies, topmost first, down to an opaque one) */
  const walk = async (rel: string, dirs: string[]): Promise<void> => {
    const names = new Set<string>();
    for (const dir of dirs) for (const n of await fs.readdir(dir).catch(() => [] as string[])) names.add(n);
    for (const n of [...names].sort()) {
      const name = rel === '' ? n : `${rel}/${n}`;
      let top: { file: string; st: Stats } | undefined;
      const merged: string[] = [];
      for (const dir of dirs) {
        const file = path.join(dir, n);
        const st = await lstatOrUndefined(file);
        if (st === undefined) continue;
        if (top === undefined) {
          if (isWhiteout(st)) break;
          top = { file, st };
          if (!st.isDirectory()) break;
          merged.push(file);
          if (sys.lgetxattr(file, OPAQUE_XATTR)?.toString() === 'y') break;
          continue;
        }
        // below the top copy of a directory: another directory merges, anything else ends it
        if (!st.isDirectory()) break;
        merged.push(file);
        if (sys.lgetxattr(file, OPAQUE_XATTR)?.toString() === 'y') break;
      }
      if (top === undefined) continue;
      await tar.add(name, top.file, top.st);
      if (top.st.isDirectory()) await walk(name, merged);
    }
  };
  return tar.stream(() => walk('', [...layers]));
}

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
import { createReadStream } from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Syscalls } from '../sys/syscalls.js';
import { isWhiteout } from './changes.js';
import { keptXattrs } from './commit.js';
import { packTar, xattrPax } from './tar.js';
import { OPAQUE_XATTR } from './unpack.js';

type Pack = ReturnType<typeof packTar>;
type PackEntry = Parameters<Pack['entry']>[0];

const lstatOrUndefined = (p: string) => fs.lstat(p).catch(() => undefined);

/** The union of `layers` (topmost first) as a tar stream. */
export function exportTar(layers: readonly string[], sys: Syscalls): Readable {
  const pack = packTar();
  const linked = new Map<string, string>();
  const entry = (header: PackEntry) => new Promise<void>((resolve, reject) => pack.entry(header, Buffer.alloc(0), (err) => (err ? reject(err) : resolve())));
  const fileEntry = (header: PackEntry, file: string) =>
    new Promise<void>((resolve, reject) => {
      const sink = pack.entry(header, (err) => (err ? reject(err) : resolve()));
      pipeline(createReadStream(file), sink as unknown as NodeJS.WritableStream).catch(reject);
    });
  /** one path, found in `file` (its layer's copy); `below`: the layers a directory merges with */
  const emit = async (name: string, file: string, st: Stats): Promise<void> => {
    const common = { mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, mtime: st.mtime, pax: xattrPax(keptXattrs(file, sys)) };
    if (st.isDirectory()) await entry({ ...common, name: `${name}/`, type: 'directory' });
    else if (st.isSymbolicLink()) await entry({ ...common, name, type: 'symlink', linkname: await fs.readlink(file) });
    else if (st.isFile()) {
      const key = `${st.dev}:${st.ino}`;
      const first = st.nlink > 1 ? linked.get(key) : undefined;
      if (first !== undefined) await entry({ ...common, name, type: 'link', linkname: first });
      else {
        if (st.nlink > 1) linked.set(key, name);
        await fileEntry({ ...common, name, type: 'file', size: st.size }, file);
      }
    } else if (st.isCharacterDevice() || st.isBlockDevice() || st.isFIFO()) {
      const type = st.isFIFO() ? 'fifo' : st.isBlockDevice() ? 'block-device' : 'character-device';
      await entry({ ...common, name, type, devmajor: (st.rdev >> 8) & 0xfff, devminor: (st.rdev & 0xff) | ((st.rdev >> 12) & 0xfff00) });
    }
  };
  /** the directory `rel` as merged from `dirs` (its copies, topmost first, down to an opaque one) */
  const walk = async (rel: string, dirs: string[]): Promise<void> => {
    const seen = new Set<string>();
    const names: string[] = [];
    for (const dir of dirs) {
      for (const n of await fs.readdir(dir).catch(() => [] as string[])) {
        if (!seen.has(n)) {
          seen.add(n);
          names.push(n);
        }
      }
    }
    for (const n of names.sort()) {
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
      await emit(name, top.file, top.st);
      if (top.st.isDirectory()) await walk(name, merged);
    }
  };
  void (async () => {
    try {
      await walk('', [...layers]);
      pack.finalize();
    } catch (err) {
      pack.destroy(err as Error);
    }
  })();
  return pack as unknown as Readable;
}

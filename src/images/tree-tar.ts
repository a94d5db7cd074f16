/**
 * A tar of files read from a tree (a commit's changes, an export's union): each path's entry from its
 * lstat, in the caller's order, with its xattrs (overlayfs' own left out), hard links within the
 * archive kept as links, sockets skipped (as Docker's tar writer skips them). Names are relative
 * (`etc/motd`), a directory's with a trailing slash.
 */
import type { Stats } from 'node:fs';
import { createReadStream } from 'node:fs';
import fs from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Syscalls } from '../sys/syscalls.js';
import { packTar, xattrPax } from './tar.js';

type Pack = ReturnType<typeof packTar>;
export type TarHeader = Parameters<Pack['entry']>[0];

/** A file's xattrs for a layer or an export: every one but overlayfs' own. */
export function keptXattrs(file: string, sys: Syscalls): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  for (const name of sys.llistxattr(file)) {
    if (name.startsWith('trusted.overlay.')) continue;
    const value = sys.lgetxattr(file, name);
    if (value !== undefined) out.set(name, value);
  }
  return out;
}

export class TreeTar {
  private readonly pack: Pack = packTar();
  private readonly linked = new Map<string, string>();

  constructor(private readonly sys: Syscalls) {}

  /** An entry without a body (a marker file, a directory...): an empty one is given, as a file entry given none waits for its body. */
  empty(header: TarHeader): Promise<void> {
    return new Promise((resolve, reject) => this.pack.entry(header, Buffer.alloc(0), (err) => (err ? reject(err) : resolve())));
  }

  /** The path `name`, as `file` (lstat'ed as `st`) is. */
  async add(name: string, file: string, st: Stats): Promise<void> {
    const common = { mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, mtime: st.mtime, pax: xattrPax(keptXattrs(file, this.sys)) };
    if (st.isDirectory()) await this.empty({ ...common, name: `${name}/`, type: 'directory' });
    else if (st.isSymbolicLink()) await this.empty({ ...common, name, type: 'symlink', linkname: await fs.readlink(file) });
    else if (st.isFile()) {
      const key = `${st.dev}:${st.ino}`;
      const first = st.nlink > 1 ? this.linked.get(key) : undefined;
      if (first !== undefined) return this.empty({ ...common, name, type: 'link', linkname: first });
      if (st.nlink > 1) this.linked.set(key, name);
      await new Promise<void>((resolve, reject) => {
        const sink = this.pack.entry({ ...common, name, type: 'file', size: st.size }, (err) => (err ? reject(err) : resolve()));
        pipeline(createReadStream(file), sink as unknown as NodeJS.WritableStream).catch(reject);
      });
    } else if (st.isCharacterDevice() || st.isBlockDevice() || st.isFIFO()) {
      const type = st.isFIFO() ? 'fifo' : st.isBlockDevice() ? 'block-device' : 'character-device';
      await this.empty({ ...common, name, type, devmajor: (st.rdev >> 8) & 0xfff, devminor: (st.rdev & 0xff) | ((st.rdev >> 12) & 0xfff00) });
    }
  }

  /** The archive, written by `fill` as it is read; a failure of `fill` fails the stream. */
  stream(fill: () => Promise<void>): Readable {
    void fill().then(
      () => this.pack.finalize(),
      (err: Error) => this.pack.destroy(err),
    );
    return this.pack as unknown as Readable;
  }
}

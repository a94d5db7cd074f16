/**
 * Unpacking one layer into its own directory, as an overlay lower directory (the OCI image spec's
 * changeset rules, layer.md, as containerd's overlay snapshotter and Docker's overlay2 apply them):
 * `.wh.NAME` becomes an overlay whiteout (a 0/0 character device named NAME), `.wh..wh..opq` marks
 * its directory opaque (trusted.overlay.opaque=y); owners, modes (setuid included), times, xattrs,
 * hard links, symlinks, FIFOs and device nodes are kept.
 *
 * The safety rules, each refused with the layer and the entry's name (LayerRefusedError): no
 * absolute names, no `..` component, nothing created below a symlink or a non-directory (a symlink
 * leading out cannot be written through), hard links only to a file this layer already holds, no
 * `trusted.overlay.*` xattrs (those steer overlayfs itself). The directory is fresh and written
 * only here, so what this layer created (`kinds`) is the truth about every path in it: symlinks are
 * created, never followed.
 */
import { constants as fsConstants } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { CorralError, SyscallError } from '../errors.js';
import type { Syscalls } from '../sys/syscalls.js';
import { entryXattrs, extractTar, type TarHeader } from './tar.js';

export const WHITEOUT_PREFIX = '.wh.';
export const OPAQUE_MARKER = '.wh..wh..opq';
/** aufs' own files (.wh..wh.plnk, .wh..wh.aufs): not part of the image */
const AUFS_META_PREFIX = '.wh..wh.';
export const OPAQUE_XATTR = 'trusted.overlay.opaque';

const S_IFCHR = 0o020000;
const S_IFBLK = 0o060000;
const S_IFIFO = 0o010000;

export class LayerRefusedError extends CorralError {
  readonly layer: string;
  readonly entry: string;
  constructor(layer: string, entry: string, reason: string) {
    super('ELAYERREFUSED', `layer ${layer}: entry "${entry}" ${reason}`);
    this.layer = layer;
    this.entry = entry;
  }
}

type Kind = 'dir' | 'file' | 'symlink' | 'device' | 'fifo' | 'whiteout';

export interface UnpackResult {
  /** tar entries applied */
  entries: number;
  /** bytes of regular files written */
  bytes: number;
  /**
   * xattrs the file system under the store would not take (ENOTSUP: user.* on tmpfs before Linux
   * 6.6), by name: skipped with a warning, as Docker's and containerd's appliers skip them
   */
  ignoredXattrs: string[];
}

/**
 * A layer's entry name as components below the layer's root, or a refusal: '' and '.' parts drop
 * out (`./bin/` is `bin`), an absolute name or a `..` part is refused. [] is the root itself.
 */
export function entryComponents(name: string): string[] | { refused: string } {
  if (name.startsWith('/')) return { refused: 'has an absolute name' };
  const parts = name.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) return { refused: 'has a ".." component' };
  if (parts.some((p) => p.includes('\0'))) return { refused: 'has a NUL byte in its name' };
  return parts;
}

/**
 * Apply the layer tar `tar` (uncompressed) into `dir`, an empty directory. `layer` names the layer in
 * errors (its digest). On an error the caller removes `dir`: nothing here is complete until it returns.
 */
export async function unpackLayer(tar: Readable, dir: string, layer: string, sys: Syscalls): Promise<UnpackResult> {
  const kinds = new Map<string, Kind>([['', 'dir']]);
  const dirTimes: { abs: string; depth: number; mtime: Date }[] = [];
  const result: UnpackResult = { entries: 0, bytes: 0, ignoredXattrs: [] };
  const extract = extractTar();
  const feeding = pipeline(tar, extract as unknown as NodeJS.WritableStream);
  feeding.catch(() => {}); // its error also ends the loop below; awaited after it
  const abs = (rel: string) => (rel === '' ? dir : path.join(dir, rel));

  /** Each parent of `parts` a directory of this layer (made, 0755 root, when the layer names none). */
  const ensureParents = async (parts: string[], entry: string): Promise<void> => {
    for (let i = 1; i < parts.length; i++) {
      const rel = parts.slice(0, i).join('/');
      const kind = kinds.get(rel);
      if (kind === 'dir') continue;
      if (kind === 'symlink') throw new LayerRefusedError(layer, entry, `would be written through the symlink "${rel}" of this layer`);
      if (kind !== undefined) throw new LayerRefusedError(layer, entry, `is below "${rel}", which is not a directory in this layer`);
      await fs.mkdir(abs(rel), 0o755);
      kinds.set(rel, 'dir');
    }
  };

  /** Whatever this layer made at `rel` (and below it) goes: a later entry for a path replaces it. */
  const removeExisting = async (rel: string): Promise<void> => {
    if (!kinds.has(rel)) return;
    await fs.rm(abs(rel), { recursive: true, force: true });
    for (const k of [...kinds.keys()]) if (k === rel || k.startsWith(`${rel}/`)) kinds.delete(k);
  };

  try {
    for await (const entry of extract) {
      const header = entry.header as TarHeader;
      result.entries++;
      const parts = entryComponents(header.name);
      if (!Array.isArray(parts)) throw new LayerRefusedError(layer, header.name, parts.refused);
      const base = parts[parts.length - 1] ?? '';
      const rel = parts.join('/');

      if (base.startsWith(WHITEOUT_PREFIX)) {
        entry.resume();
        await ensureParents(parts, header.name);
        const parent = parts.slice(0, -1).join('/');
        if (base === OPAQUE_MARKER) {
          sys.lsetxattr(abs(parent), OPAQUE_XATTR, Buffer.from('y'));
          continue;
        }
        if (base.startsWith(AUFS_META_PREFIX)) continue;
        const hidden = base.slice(WHITEOUT_PREFIX.length);
        if (hidden === '' || hidden === '.' || hidden === '..') throw new LayerRefusedError(layer, header.name, 'is a whiteout that names nothing');
        const target = parent === '' ? hidden : `${parent}/${hidden}`;
        await removeExisting(target);
        sys.mknod(abs(target), S_IFCHR, 0, 0);
        kinds.set(target, 'whiteout');
        continue;
      }

      if (parts.length === 0) {
        // the layer's root ("./"): its owner, mode and time are the directory's
        entry.resume();
        if (header.type !== 'directory') throw new LayerRefusedError(layer, header.name, 'names the layer root but is not a directory');
        await applyMetadata(dir, header, 'dir', layer, sys, result);
        dirTimes.push({ abs: dir, depth: 0, mtime: header.mtime });
        continue;
      }

      await ensureParents(parts, header.name);
      const target = abs(rel);
      if (!(header.type === 'directory' && kinds.get(rel) === 'dir')) await removeExisting(rel);

      switch (header.type) {
        case 'directory': {
          entry.resume();
          if (!kinds.has(rel)) await fs.mkdir(target, 0o700);
          kinds.set(rel, 'dir');
          await applyMetadata(target, header, 'dir', layer, sys, result);
          dirTimes.push({ abs: target, depth: parts.length, mtime: header.mtime });
          break;
        }
        case 'file':
        case 'contiguous-file': {
          const handle = await fs.open(target, fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_EXCL | fsConstants.O_NOFOLLOW, 0o600);
          kinds.set(rel, 'file');
          try {
            for await (const chunk of entry) await handle.write(chunk as Uint8Array);
          } finally {
            await handle.close();
          }
          result.bytes += header.size;
          await applyMetadata(target, header, 'file', layer, sys, result);
          break;
        }
        case 'link': {
          entry.resume();
          const to = entryComponents(header.linkname);
          if (!Array.isArray(to)) throw new LayerRefusedError(layer, header.name, `is a hard link whose target "${header.linkname}" ${to.refused}`);
          const toRel = to.join('/');
          const toKind = kinds.get(toRel);
          if (toKind === undefined || toKind === 'dir' || toKind === 'whiteout') {
            throw new LayerRefusedError(layer, header.name, `is a hard link to "${header.linkname}", which is not a file of this layer`);
          }
          // link(2) does not follow a symlink at the target: a link to a symlink is a second name of the symlink
          await fs.link(abs(toRel), target);
          kinds.set(rel, toKind);
          break;
        }
        case 'symlink': {
          entry.resume();
          await fs.symlink(header.linkname, target);
          kinds.set(rel, 'symlink');
          await applyMetadata(target, header, 'symlink', layer, sys, result);
          break;
        }
        case 'character-device':
        case 'block-device':
        case 'fifo': {
          entry.resume();
          const type = header.type === 'fifo' ? S_IFIFO : header.type === 'block-device' ? S_IFBLK : S_IFCHR;
          sys.mknod(target, type | 0o600, header.devmajor ?? 0, header.devminor ?? 0);
          kinds.set(rel, header.type === 'fifo' ? 'fifo' : 'device');
          await applyMetadata(target, header, 'file', layer, sys, result);
          break;
        }
        default:
          entry.resume();
          throw new LayerRefusedError(layer, header.name, `has the tar type ${JSON.stringify(header.type)}, which a layer cannot hold`);
      }
    }
    await feeding;
  } catch (err) {
    (extract as unknown as { destroy(e?: Error): void }).destroy();
    tar.destroy();
    throw err;
  }
  // a directory's time last, deepest first: creating its children changed it
  dirTimes.sort((a, b) => b.depth - a.depth);
  for (const d of dirTimes) await fs.utimes(d.abs, d.mtime, d.mtime);
  return result;
}

/** Owner, then mode (chown clears setuid), xattrs, and (not for directories: later) the time. */
async function applyMetadata(target: string, header: TarHeader, kind: 'dir' | 'file' | 'symlink', layer: string, sys: Syscalls, result: UnpackResult): Promise<void> {
  await fs.lchown(target, header.uid ?? 0, header.gid ?? 0);
  if (kind !== 'symlink') await fs.chmod(target, (header.mode ?? 0o644) & 0o7777);
  for (const [name, value] of entryXattrs(header)) {
    if (name.startsWith('trusted.overlay.')) throw new LayerRefusedError(layer, header.name, `carries the xattr ${name}, which would steer overlayfs`);
    try {
      sys.lsetxattr(target, name, value);
    } catch (err) {
      if (!(err instanceof SyscallError && err.errno === os.constants.errno.ENOTSUP)) throw err;
      if (!result.ignoredXattrs.includes(name)) result.ignoredXattrs.push(name);
    }
  }
  if (kind !== 'dir') await fs.lutimes(target, header.mtime, header.mtime);
}

/**
 * The containers' part of the state directory:
 *   <root>/containers/<id>/config.json   the container's configuration and last known state
 *   <root>/containers/<id>/{upper,work,rootfs,launch.spec,pid,exit}
 *   <root>/names/<name> -> ../containers/<id>   one symlink per name: creating it claims the name atomically
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { CorralError } from '../errors.js';
import type { ContainerPaths } from '../isolate/types.js';
import { writeFileAtomic } from '../state/atomic.js';

export class NameInUseError extends CorralError {
  constructor(name: string, id: string) {
    super('ENAMEINUSE', `the container name "${name}" is already in use by container ${id.slice(0, 12)}`);
  }
}

export function containerPaths(root: string, id: string): ContainerPaths {
  const dir = path.join(root, 'containers', id);
  return {
    dir,
    upper: path.join(dir, 'upper'),
    work: path.join(dir, 'work'),
    merged: path.join(dir, 'rootfs'),
    spec: path.join(dir, 'launch.spec'),
  };
}

export async function claimName(root: string, name: string, id: string): Promise<void> {
  const names = path.join(root, 'names');
  await fs.mkdir(names, { recursive: true });
  try {
    await fs.symlink(path.join('..', 'containers', id), path.join(names, name));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    const holder = path.basename(await fs.readlink(path.join(names, name)));
    throw new NameInUseError(name, holder);
  }
}

export async function releaseName(root: string, name: string): Promise<void> {
  await fs.rm(path.join(root, 'names', name), { force: true });
}

/**
 * Bytes of the files in a container's writable layer (its upper directory; Docker's SizeRw, what a
 * prune reclaims): regular files' sizes, each inode once; 0 when it is gone.
 */
export async function writableLayerBytes(paths: ContainerPaths): Promise<number> {
  const seen = new Set<bigint>();
  let total = 0;
  const walk = async (dir: string): Promise<void> => {
    const entries = await fs.readdir(dir, { withFileTypes: true }).catch(() => []);
    for (const e of entries) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) await walk(p);
      else if (e.isFile()) {
        const st = await fs.lstat(p, { bigint: true }).catch(() => undefined);
        if (st && !seen.has(st.ino)) {
          seen.add(st.ino);
          total += Number(st.size);
        }
      }
    }
  };
  await walk(paths.upper);
  return total;
}

export async function writeRecord(paths: ContainerPaths, record: unknown): Promise<void> {
  await writeFileAtomic(path.join(paths.dir, 'config.json'), JSON.stringify(record, null, 2) + '\n');
}

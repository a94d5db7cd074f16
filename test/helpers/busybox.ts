/**
 * A minimal root file system made from the host's static busybox (Debian `busybox-static`), for
 * tests that need a real container root: an overlay lower dir, a pivot_root target, a chroot.
 */
import { execFile } from 'node:child_process';
import type { Stats } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

/** The busybox the tree is made from: must be a static binary, it runs inside the rootfs. */
export const HOST_BUSYBOX = '/bin/busybox';

/** Where the tests keep the tree between runs (node_modules/.cache is ignored by git). */
export const BUSYBOX_ROOTFS_CACHE = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  // this file runs from dist/test/helpers/
  '../../../node_modules/.cache/corral/busybox-rootfs',
);

/** Top-level directories of the tree, with their modes. */
const DIRS: ReadonlyArray<[string, number]> = [
  ['bin', 0o755],
  ['sbin', 0o755],
  ['etc', 0o755],
  ['proc', 0o555],
  ['sys', 0o555],
  ['dev', 0o755],
  ['tmp', 0o1777],
  ['root', 0o700],
];

const PASSWD = 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n';
const GROUP = 'root:x:0:\nnogroup:x:65534:\n';

/** Hidden file at the top of the tree naming the busybox it was made from; absent = unfinished. */
const STAMP = '.corral-busybox-rootfs';
const FORMAT = 1;

/**
 * Make sure `dir` holds a minimal busybox root file system and return `dir`:
 * bin, sbin, etc, proc, sys, dev, tmp, root; bin/busybox (a copy of the host's static busybox) and
 * one symlink per applet in bin; etc/passwd and etc/group with root and nobody.
 *
 * Idempotent and cached: a tree already built from the same busybox (size and mtime) is reused.
 * The tree is built in a sibling temporary directory and renamed into place, so concurrent callers
 * never see a half-built tree. Throws (with the reason) if the host busybox is missing or dynamic.
 */
export async function ensureBusyboxRootfs(dir: string): Promise<string> {
  const stamp = await busyboxStamp();
  if ((await readStamp(dir)) === stamp) return dir;

  await fs.mkdir(path.dirname(dir), { recursive: true });
  const tmp = await fs.mkdtemp(`${dir}.tmp-`);
  try {
    await build(tmp, stamp);
    // a concurrent caller may have finished first: never replace a good tree someone may be using
    if ((await readStamp(dir)) === stamp) return dir;
    await fs.rm(dir, { recursive: true, force: true });
    try {
      await fs.rename(tmp, dir);
    } catch (err) {
      // another process renamed its tree into place between our rm and rename: use that one
      const code = (err as NodeJS.ErrnoException).code;
      if ((code !== 'ENOTEMPTY' && code !== 'EEXIST') || (await readStamp(dir)) !== stamp) throw err;
    }
  } finally {
    await fs.rm(tmp, { recursive: true, force: true });
  }
  return dir;
}

async function build(root: string, stamp: string): Promise<void> {
  await fs.chmod(root, 0o755);
  for (const [name, mode] of DIRS) {
    await fs.mkdir(path.join(root, name));
    await fs.chmod(path.join(root, name), mode); // mkdir's mode is subject to the umask
  }
  await fs.copyFile(HOST_BUSYBOX, path.join(root, 'bin/busybox'));
  await fs.chmod(path.join(root, 'bin/busybox'), 0o755);
  for (const applet of await listApplets()) {
    await fs.symlink('busybox', path.join(root, 'bin', applet));
  }
  await fs.writeFile(path.join(root, 'etc/passwd'), PASSWD, { mode: 0o644 });
  await fs.writeFile(path.join(root, 'etc/group'), GROUP, { mode: 0o644 });
  // written last: its presence means the tree is complete
  await fs.writeFile(path.join(root, STAMP), `${stamp}\n`, { mode: 0o644 });
}

async function listApplets(): Promise<string[]> {
  const { stdout } = await execFileAsync(HOST_BUSYBOX, ['--list']);
  const applets = stdout.split('\n').filter((name) => name !== '' && name !== 'busybox');
  if (applets.length === 0) throw new Error(`${HOST_BUSYBOX} --list printed no applets`);
  for (const name of applets) {
    if (name.includes('/') || name.startsWith('.')) {
      throw new Error(`${HOST_BUSYBOX} --list printed an unexpected applet name "${name}"`);
    }
  }
  return applets;
}

/** Identifies the host busybox the tree is made from; checks that it exists and is static. */
async function busyboxStamp(): Promise<string> {
  let st: Stats;
  try {
    st = await fs.stat(HOST_BUSYBOX);
  } catch (err) {
    throw new Error(`${HOST_BUSYBOX} is missing (install the Debian package busybox-static)`, {
      cause: err,
    });
  }
  if (!(await isStaticElf(HOST_BUSYBOX))) {
    throw new Error(`${HOST_BUSYBOX} is dynamically linked: it cannot run inside a bare rootfs (install busybox-static)`);
  }
  return `format=${FORMAT} size=${st.size} mtime=${Math.trunc(st.mtimeMs)}`;
}

async function readStamp(dir: string): Promise<string | undefined> {
  try {
    return (await fs.readFile(path.join(dir, STAMP), 'utf8')).trim();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/** True if `file` is a 64-bit little-endian ELF without a PT_INTERP program header. */
async function isStaticElf(file: string): Promise<boolean> {
  const fh = await fs.open(file, 'r');
  try {
    const hdr = Buffer.alloc(64);
    await fh.read(hdr, 0, hdr.length, 0);
    if (hdr.readUInt32BE(0) !== 0x7f454c46 || hdr[4] !== 2 || hdr[5] !== 1) {
      throw new Error(`${file} is not a 64-bit little-endian ELF file`);
    }
    const phoff = Number(hdr.readBigUInt64LE(0x20));
    const phentsize = hdr.readUInt16LE(0x36);
    const phnum = hdr.readUInt16LE(0x38);
    const ph = Buffer.alloc(phentsize * phnum);
    await fh.read(ph, 0, ph.length, phoff);
    const PT_INTERP = 3;
    for (let i = 0; i < phnum; i++) {
      if (ph.readUInt32LE(i * phentsize) === PT_INTERP) return false;
    }
    return true;
  } finally {
    await fh.close();
  }
}

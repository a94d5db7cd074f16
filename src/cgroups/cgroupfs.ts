/**
 * The only place that reads and writes cgroup files. Every failure becomes a CgroupFileError that says
 * what was attempted on which path with which data: `write "512M" to /sys/fs/cgroup/app/memory.max: EINVAL`.
 *
 * Absence is data only where the caller says so (readOptional): ENOENT (a file added by a later kernel,
 * a controller not enabled, a cgroup already removed) and ENOTSUP/EOPNOTSUPP (PSI files when the kernel
 * was booted with psi=0). Every other error propagates.
 *
 * The driver takes a CgroupFs so tests can run it against a temp-dir fake that imitates the kernel.
 */
import fs, { constants } from 'node:fs';
import { CgroupFileError } from '../errors.js';
import { parsePidList } from './parse.js';

/** errnos that mean "this file or cgroup is not there", tolerated by readOptional */
export const ABSENT_ERRNOS: readonly string[] = ['ENOENT', 'ENOTSUP', 'EOPNOTSUPP'];

export interface CgroupFs {
  /** the whole file; throws CgroupFileError */
  read(path: string): Promise<string>;
  /** the whole file, synchronously (cgroupfs answers from kernel memory: see NodeCgroupFs); throws CgroupFileError */
  readSync(path: string): string;
  /**
   * the whole file's bytes, synchronously, valid until this file system's next read (they may be its
   * own buffer): what the stats readers parse without a string per file; throws CgroupFileError
   */
  readBytesSync(path: string): Uint8Array;
  /** one write(2) of `value` (O_WRONLY|O_TRUNC, never O_CREAT); throws CgroupFileError */
  write(path: string, value: string): Promise<void>;
  /** create a cgroup directory; false when it already existed; throws CgroupFileError */
  mkdir(path: string): Promise<boolean>;
  /** remove a cgroup directory; false when it was already gone; throws CgroupFileError (EBUSY: not empty) */
  rmdir(path: string): Promise<boolean>;
  /** the names of the child cgroups (directories), or undefined when `path` does not exist */
  subdirs(path: string): Promise<string[] | undefined>;
  /** the names of every entry of a directory (files, directories, symlinks), or undefined when it does not exist */
  entries(path: string): Promise<string[] | undefined>;
  /** whether `path` exists */
  exists(path: string): Promise<boolean>;
}

function errnoOf(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | undefined)?.code;
}

/**
 * The real cgroup file system (or any directory standing in for it).
 *
 * The calls are synchronous behind the async interface on purpose: cgroupfs files live in kernel
 * memory and answer at once, while each asynchronous fs call is a round trip through libuv's thread
 * pool (three for a write: open, write, close). Measured in the QEMU guest, creating and removing a
 * container's cgroup took ~70 ms each way asynchronously.
 */
export class NodeCgroupFs implements CgroupFs {
  async read(path: string): Promise<string> {
    return this.readSync(path);
  }

  readSync(path: string): string {
    try {
      return fs.readFileSync(path, 'utf8');
    } catch (err) {
      throw new CgroupFileError('read', path, undefined, err);
    }
  }

  /** readSync's text as bytes (kernel files are ASCII), so that a subclass's readSync is what both give */
  readBytesSync(path: string): Uint8Array {
    return Buffer.from(this.readSync(path), 'latin1');
  }

  async write(path: string, value: string): Promise<void> {
    let fd: number | undefined;
    try {
      fd = fs.openSync(path, constants.O_WRONLY | constants.O_TRUNC);
      // One write: the kernel parses each write(2) on its own, a split value would be two values.
      const bytesWritten = fs.writeSync(fd, value);
      if (bytesWritten !== Buffer.byteLength(value)) {
        throw Object.assign(new Error(`short write (${bytesWritten} bytes)`), { code: 'EIO' });
      }
    } catch (err) {
      throw new CgroupFileError('write', path, value, err);
    } finally {
      if (fd !== undefined) fs.closeSync(fd);
    }
  }

  async mkdir(path: string): Promise<boolean> {
    try {
      fs.mkdirSync(path);
      return true;
    } catch (err) {
      if (errnoOf(err) === 'EEXIST') return false;
      throw new CgroupFileError('mkdir', path, undefined, err);
    }
  }

  async rmdir(path: string): Promise<boolean> {
    try {
      fs.rmdirSync(path);
      return true;
    } catch (err) {
      if (errnoOf(err) === 'ENOENT') return false;
      throw new CgroupFileError('rmdir', path, undefined, err);
    }
  }

  async subdirs(path: string): Promise<string[] | undefined> {
    try {
      const entries = fs.readdirSync(path, { withFileTypes: true });
      return entries
        .filter((e) => e.isDirectory())
        .map((e) => e.name)
        .sort();
    } catch (err) {
      if (errnoOf(err) === 'ENOENT') return undefined;
      throw new CgroupFileError('read', path, undefined, err);
    }
  }

  async entries(path: string): Promise<string[] | undefined> {
    try {
      return fs.readdirSync(path).sort();
    } catch (err) {
      if (errnoOf(err) === 'ENOENT') return undefined;
      throw new CgroupFileError('read', path, undefined, err);
    }
  }

  async exists(path: string): Promise<boolean> {
    try {
      fs.accessSync(path, constants.F_OK);
      return true;
    } catch (err) {
      if (errnoOf(err) === 'ENOENT') return false;
      throw new CgroupFileError('read', path, undefined, err);
    }
  }
}

/** Read a file whose absence is data (a later kernel's file, a removed cgroup, PSI disabled): undefined then. */
export async function readOptional(fs: CgroupFs, path: string): Promise<string | undefined> {
  try {
    return await fs.read(path);
  } catch (err) {
    if (isCgroupErrno(err, ...ABSENT_ERRNOS)) return undefined;
    throw err;
  }
}

/** readOptional, synchronously (the stats readers' path: no promise per file). */
export function readOptionalSync(fs: CgroupFs, path: string): string | undefined {
  return orAbsent(fs, path, fs.readSync);
}

/** readOptionalSync's bytes (CgroupFs.readBytesSync). */
export function readOptionalBytesSync(fs: CgroupFs, path: string): Uint8Array | undefined {
  return orAbsent(fs, path, fs.readBytesSync);
}

/** fs.read(path), or undefined when the file is absent (ABSENT_ERRNOS). */
function orAbsent<T>(fs: CgroupFs, path: string, read: (this: CgroupFs, path: string) => T): T | undefined {
  try {
    return read.call(fs, path);
  } catch (err) {
    if (isCgroupErrno(err, ...ABSENT_ERRNOS)) return undefined;
    throw err;
  }
}

/** Whether an error is a CgroupFileError with one of `errnos`. */
export function isCgroupErrno(err: unknown, ...errnos: string[]): err is CgroupFileError {
  return err instanceof CgroupFileError && err.errno !== undefined && errnos.includes(err.errno);
}

/** Read a cgroup.procs file into pids; a missing file (cgroup gone) is no pids. */
export async function readPids(fs: CgroupFs, procsFile: string): Promise<number[]> {
  const text = await readOptional(fs, procsFile);
  return text === undefined ? [] : parsePidList(text, procsFile);
}

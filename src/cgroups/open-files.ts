/**
 * A CgroupFs for a sampler that reads the same small files again and again: each file is opened once
 * and re-read with pread(2) at offset 0. cgroupfs and procfs files are seq_files: a read at offset 0
 * generates the content afresh, so an open descriptor gives the current value every time, for one
 * syscall instead of open + fstat + read + close (readSync says when one pread is the whole file).
 * Measured on the project's host (kernel 6.18): ~1-2 µs per small cgroup file instead of ~10 µs with
 * readFileSync; the sampler's 2% budget for 500 containers (about 12 files each) depends on it.
 *
 * Descriptors must be given back: forget(dir) when a container's cgroup or process goes away (a kept
 * descriptor of a removed cgroup reads ENODEV; it does not stop the rmdir), close() at the end. A read
 * that fails closes its descriptor, so the next read opens the file again (a cgroup recreated under the
 * same name is found again). Writes and directory operations go to the wrapped CgroupFs.
 *
 * At most `maxKept` descriptors are kept (keptFilesBudget: half the process's open-files limit):
 * past that, a file is opened, read and closed each time, so that a host with a low limit (a hard
 * limit of 4096 would be reached near 300 containers at ~12 files each) gets slower readings
 * instead of EMFILE on the daemon's sockets, pidfds and log files.
 */
import fs, { constants } from 'node:fs';
import { CgroupFileError } from '../errors.js';
import { NodeCgroupFs, type CgroupFs } from './cgroupfs.js';

/** Files larger than this are read in several preads (memory.stat of v1 is ~1 KiB, io.stat grows with devices). */
const INITIAL_BUFFER = 16 * 1024;
/** Bytes below which one short read is taken as the whole file (see readSync). */
const SURELY_WHOLE = 2048;

/**
 * How many descriptors a sampler may keep, given the process's soft open-files limit: half of it,
 * the other half left to everything else the daemon opens (a socket per client, a pidfd and an OOM
 * eventfd or two per container, log files).
 */
export function keptFilesBudget(softLimit: number | 'unlimited'): number {
  return softLimit === 'unlimited' ? Infinity : Math.floor(softLimit / 2);
}

export interface OpenFileOptions {
  /** where writes and directory operations go (default: NodeCgroupFs) */
  base?: CgroupFs;
  /** the most descriptors kept open (default: no bound) */
  maxKept?: number;
}

export class OpenFileCgroupFs implements CgroupFs {
  private readonly fds = new Map<string, number>();
  private buf = Buffer.allocUnsafe(INITIAL_BUFFER);
  private readonly base: CgroupFs;
  private readonly maxKept: number;
  /** reads that opened and closed their file because maxKept descriptors were kept already */
  unkeptReads = 0;
  /**
   * Moves on whenever a kept descriptor is closed: descriptors a caller took with keptFd() are stale
   * once it has moved (the number may be reused), and must be taken again.
   */
  generation = 0;

  constructor(options: OpenFileOptions = {}) {
    this.base = options.base ?? new NodeCgroupFs();
    this.maxKept = options.maxKept ?? Infinity;
  }

  /** The whole file, synchronously; throws CgroupFileError. */
  readSync(path: string): string {
    const { length } = this.readBytesSync(path);
    // kernel files are ASCII: latin1 decodes them without UTF-8's validation cost
    return this.buf.toString('latin1', 0, length);
  }

  /** The whole file's bytes: a view of this file system's buffer, valid until its next read; throws CgroupFileError. */
  readBytesSync(path: string): Uint8Array {
    let fd = this.fds.get(path);
    let keep = true;
    try {
      if (fd === undefined) {
        fd = fs.openSync(path, constants.O_RDONLY); // libuv adds O_CLOEXEC itself
        keep = this.fds.size < this.maxKept;
        if (keep) this.fds.set(path, fd);
        else this.unkeptReads++;
      }
      let length = fs.readSync(fd, this.buf, 0, this.buf.length, 0);
      // A short read below SURELY_WHOLE is the whole file, without the second pread that would only
      // return 0 (~1 µs per file, a quarter of the sampler's per-container budget). Every cgroup
      // file is one seq_file record (kernfs), generated whole at offset 0 into a buffer grown to fit;
      // a multi-record seq_file (/proc/<pid>/net/dev: one ~130-byte record per interface) stops short
      // of the caller's buffer only when its own one-page buffer is full, far above SURELY_WHOLE.
      if (length >= SURELY_WHOLE) {
        for (;;) {
          if (length === this.buf.length) {
            const bigger = Buffer.allocUnsafe(this.buf.length * 2);
            this.buf.copy(bigger, 0, 0, length);
            this.buf = bigger;
          }
          const n = fs.readSync(fd, this.buf, length, this.buf.length - length, length);
          if (n === 0) break;
          length += n;
        }
      }
      if (!keep) this.drop(path, fd);
      return this.buf.subarray(0, length);
    } catch (err) {
      if (fd !== undefined) this.drop(path, fd);
      throw new CgroupFileError('read', path, undefined, err);
    }
  }

  async read(path: string): Promise<string> {
    return this.readSync(path);
  }

  /** The kept descriptor of `path`, or -1 when none is kept (readBytesSync opens and keeps it). See `generation`. */
  keptFd(path: string): number {
    return this.fds.get(path) ?? -1;
  }

  /** Close every kept descriptor of a file in `dir` (or below it). */
  forget(dir: string): void {
    const prefix = dir.endsWith('/') ? dir : `${dir}/`;
    for (const [path, fd] of this.fds) if (path.startsWith(prefix)) this.drop(path, fd);
  }

  /** How many descriptors are kept (for tests and the leak check). */
  get openCount(): number {
    return this.fds.size;
  }

  close(): void {
    for (const [path, fd] of this.fds) this.drop(path, fd);
  }

  private drop(path: string, fd: number): void {
    if (this.fds.get(path) === fd) this.fds.delete(path);
    this.generation++;
    try {
      fs.closeSync(fd);
    } catch {
      // EBADF cannot happen for a descriptor we own; nothing else is reported by close on these files
    }
  }

  write(path: string, value: string): Promise<void> {
    return this.base.write(path, value);
  }
  mkdir(path: string): Promise<boolean> {
    return this.base.mkdir(path);
  }
  rmdir(path: string): Promise<boolean> {
    return this.base.rmdir(path);
  }
  subdirs(path: string): Promise<string[] | undefined> {
    return this.base.subdirs(path);
  }
  entries(path: string): Promise<string[] | undefined> {
    return this.base.entries(path);
  }
  exists(path: string): Promise<boolean> {
    return this.base.exists(path);
  }
}

/**
 * Kept files read in one go: one Preads call for all their descriptors (natively, one call from
 * JavaScript, when the sampler's library is loaded: src/sys/preads.ts), their bytes left in one buffer.
 * The sampler reads a chunk of containers' activity counters so (CgroupStatsReader.activityFiles()) and
 * compares them there with each container's last full reading: a quiet container costs its two preads
 * and a compare, no string, no object, no lookup of its files by path. A stats reader reads the files
 * of its last full reading so (fullReadBatch()), one call instead of a dozen.
 *
 * Files not all kept open (the first reading, a file that failed and was closed, past the descriptor
 * budget) are left out: their reader reads them one by one.
 */
import fs from 'node:fs';
import type { OpenFileCgroupFs } from './open-files.js';
import type { Preads } from '../sys/preads.js';
import type { ActivityReading } from './types.js';

/** Bytes from which one pread may not be the whole file (open-files.ts SURELY_WHOLE). */
const SURELY_WHOLE = 2048;
const ENOBUFS = 105;
const EIO = 5;
const EBADF = 9;

/** Preads with fs.readSync, one call per file: where the native reader is not loaded. */
export const preadsWithNode: Preads = (fds, n, buf, ends, errnos) => {
  let used = 0;
  for (let i = 0; i < n; i++) {
    const start = used;
    let err = 0;
    try {
      if (fds[i]! < 0) throw Object.assign(new Error('EBADF'), { errno: -EBADF });
      let got = fs.readSync(fds[i]!, buf, used, buf.length - used, 0);
      used += got;
      while (got > 0 && used - start >= SURELY_WHOLE && used < buf.length) {
        got = fs.readSync(fds[i]!, buf, used, buf.length - used, used - start);
        used += got;
      }
      if (used === buf.length) err = ENOBUFS;
    } catch (e) {
      err = (e as NodeJS.ErrnoException).errno === undefined ? EIO : -(e as NodeJS.ErrnoException).errno!;
    }
    if (err !== 0) used = start;
    ends[i] = used;
    errnos[i] = err;
  }
  return used;
};

/** Files read together (a container's activity files, or its full reading's), and their kept descriptors as of the file system's `generation`. */
export class BatchFiles {
  readonly fds: Int32Array;
  generation = -1;

  constructor(readonly files: readonly string[]) {
    this.fds = new Int32Array(files.length);
  }
}

export class FileBatch {
  private fds = new Int32Array(256);
  private ends = new Int32Array(256);
  private errnos = new Int32Array(256);
  private buf: Buffer = Buffer.allocUnsafe(16 * 1024);
  /** per slot: the index of its first file, or -1 when it is not in the batch */
  private first: number[] = [];
  private sources: (BatchFiles | undefined)[] = [];

  constructor(
    private readonly fs: OpenFileCgroupFs,
    /** how the batch is read (replaced by the native one once it is loaded) */
    public preads: Preads,
  ) {}

  /** Read the activity files of each slot's source (undefined: none) in one go. */
  read(sources: readonly (BatchFiles | undefined)[]): void {
    let n = 0;
    this.first.length = 0;
    this.sources.length = 0;
    for (const source of sources) {
      this.sources.push(source);
      if (source === undefined || source.fds.length === 0 || !this.keptFds(source)) {
        this.first.push(-1);
        continue;
      }
      if (n + source.fds.length > this.fds.length) this.grow(2 * (n + source.fds.length));
      this.first.push(n);
      this.fds.set(source.fds, n);
      n += source.fds.length;
    }
    if (n === 0) return;
    this.preads(this.fds, n, this.buf, this.ends, this.errnos);
    // too small for a file: larger for the next time (the file is read one by one this time)
    if (this.errnos.subarray(0, n).includes(ENOBUFS)) this.buf = Buffer.allocUnsafe(this.buf.length * 2);
  }

  /** Whether slot's files were all read (kept open, and none failed). */
  has(slot: number): boolean {
    const first = this.first[slot]!;
    if (first < 0) return false;
    const count = this.sources[slot]!.fds.length;
    for (let i = first; i < first + count; i++) if (this.errnos[i] !== 0) return false;
    return true;
  }

  /** The bytes of file `i` of slot's files when it was read (a view into the batch, valid until its next read), else undefined. */
  bytesOf(slot: number, i: number): Uint8Array | undefined {
    const first = this.first[slot];
    if (first === undefined || first < 0 || this.errnos[first + i] !== 0) return undefined;
    return this.buf.subarray(first + i === 0 ? 0 : this.ends[first + i - 1]!, this.ends[first + i]!);
  }

  /** Whether slot's bytes (has(slot)) are those of `last`, a reading of the same files. */
  same(slot: number, last: ActivityReading): boolean {
    const first = this.first[slot]!;
    const start = first === 0 ? 0 : this.ends[first - 1]!;
    const bytes = last.bytes;
    const count = last.ends.length;
    if (count !== this.sources[slot]!.fds.length) return false;
    for (let i = 0; i < count; i++) if (this.ends[first + i]! - start !== last.ends[i]) return false;
    const buf = this.buf;
    for (let i = 0; i < bytes.length; i++) if (buf[start + i] !== bytes[i]) return false;
    return true;
  }

  /** slot's reading (has(slot)), copied out of the batch. */
  reading(slot: number): ActivityReading {
    const first = this.first[slot]!;
    const source = this.sources[slot]!;
    const start = first === 0 ? 0 : this.ends[first - 1]!;
    const ends: number[] = [];
    for (let i = 0; i < source.fds.length; i++) ends.push(this.ends[first + i]! - start);
    return { files: source.files, bytes: new Uint8Array(this.buf.subarray(start, this.ends[first + source.fds.length - 1])), ends };
  }

  /** Whether every file of `source` has a kept descriptor, taken again when the file system's changed. */
  private keptFds(source: BatchFiles): boolean {
    if (source.generation !== this.fs.generation) {
      for (let i = 0; i < source.files.length; i++) source.fds[i] = this.fs.keptFd(source.files[i]!);
      source.generation = this.fs.generation;
    }
    for (let i = 0; i < source.fds.length; i++) {
      if (source.fds[i]! < 0) {
        source.generation = -1; // opened later by activity(), without a new generation: look again next time
        return false;
      }
    }
    return true;
  }

  private grow(length: number): void {
    const fds = new Int32Array(length);
    fds.set(this.fds);
    this.fds = fds;
    this.ends = new Int32Array(length);
    this.errnos = new Int32Array(length);
  }
}

const fullReadBatches = new WeakMap<OpenFileCgroupFs, FileBatch>();

/**
 * The batch the stats readers of `fs` read their full readings with, one at a time (apart from the
 * sampler's own batch of activity counters, which stays valid across the chunk's full readings).
 */
export function fullReadBatch(fs: OpenFileCgroupFs): FileBatch {
  let batch = fullReadBatches.get(fs);
  if (!batch) {
    batch = new FileBatch(fs, preadsWithNode);
    fullReadBatches.set(fs, batch);
  }
  return batch;
}

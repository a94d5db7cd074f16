/**
 * Reading stats partially: every file is read and parsed on its own; a failure is recorded in `errors`
 * (file and message) and that one value stays undefined. A broken file never blanks the others and
 * never turns into a 0.
 *
 * Synchronous on purpose: cgroup files answer from kernel memory (see NodeCgroupFs), and the sampler
 * reads about a dozen per container every second, where a promise per file was a fifth of its cost.
 */
import { posix as path } from 'node:path';
import { readOptionalBytesSync, readOptionalSync, type CgroupFs } from './cgroupfs.js';
import { latin1, parseBlkioStatBytes, parseFlatKeyedBytes } from './parse-bytes.js';
import { BatchFiles, fullReadBatch } from './file-batch.js';
import { OpenFileCgroupFs } from './open-files.js';
import type { BlkioDeviceCounters } from './parse.js';
import type { ActivityReading, CgroupStats } from './types.js';

/**
 * One cgroup directory whose file paths are joined once: a stats reader asks for the same dozen files
 * every tick, and the same path string each time is also what OpenFileCgroupFs finds its descriptor by.
 */
export class CgroupDir {
  private readonly files = new Map<string, string>();
  private readonly flatKeyedParsers = new Map<string, (bytes: Uint8Array, path: string) => Record<string, number>>();
  private readonly blkioParsers = new Map<string, (bytes: Uint8Array, path: string) => BlkioDeviceCounters[]>();

  constructor(readonly dir: string) {}

  /** the absolute path of the file `name` in this directory */
  file(name: string): string {
    let p = this.files.get(name);
    if (p === undefined) {
      p = path.join(this.dir, name);
      this.files.set(name, p);
    }
    return p;
  }

  /** parseFlatKeyedBytes for the file `name`, with a memo of its keys kept from one read to the next */
  flatKeyed(name: string): (bytes: Uint8Array, path: string) => Record<string, number> {
    let parse = this.flatKeyedParsers.get(name);
    if (parse === undefined) {
      const keys: string[] = [];
      parse = (bytes, path) => parseFlatKeyedBytes(bytes, path, keys);
      this.flatKeyedParsers.set(name, parse);
    }
    return parse;
  }

  /** parseBlkioStatBytes for the file `name`, with a memo of its operation names */
  blkioStat(name: string): (bytes: Uint8Array, path: string) => BlkioDeviceCounters[] {
    let parse = this.blkioParsers.get(name);
    if (parse === undefined) {
      const ops: string[] = [];
      parse = (bytes, path) => parseBlkioStatBytes(bytes, path, ops);
      this.blkioParsers.set(name, parse);
    }
    return parse;
  }
}

/** Where readActivity gathers the files' bytes before copying them out; grown when too small. */
let gathered = new Uint8Array(1024);

/**
 * The bytes of `files` read now, or undefined when one fails (read() reads it again and reports the
 * failure where it belongs): what a stats reader's activity() returns. One copy of the bytes and no
 * string: this runs for every container every tick, and its garbage is collected on the same core.
 */
export function readActivity(fs: CgroupFs, files: readonly string[]): ActivityReading | undefined {
  const ends: number[] = [];
  let length = 0;
  try {
    for (const file of files) {
      const bytes = fs.readBytesSync(file);
      if (length + bytes.length > gathered.length) {
        const bigger = new Uint8Array(2 * (length + bytes.length));
        bigger.set(gathered.subarray(0, length));
        gathered = bigger;
      }
      gathered.set(bytes, length);
      length += bytes.length;
      ends.push(length);
    }
  } catch {
    return undefined;
  }
  return { files, bytes: gathered.slice(0, length), ends };
}

/** Whether two activity readings of the same files found the same bytes. */
export function sameActivity(a: ActivityReading, b: ActivityReading): boolean {
  const x = a.bytes;
  const y = b.bytes;
  if (x.length !== y.length || a.ends.length !== b.ends.length) return false;
  for (let i = 0; i < a.ends.length; i++) if (a.ends[i] !== b.ends[i]) return false;
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
}

/** Files read ahead of a reading, each one's bytes by its index in `files` (undefined: read it now). */
export interface Prefetched {
  readonly files: readonly string[];
  bytesOf(i: number): Uint8Array | undefined;
}

export class StatsCollector {
  readonly errors: CgroupStats['errors'] = [];
  /** the files this reading read through the file system or `prefetched` (not `known`), in order */
  readonly read: string[] = [];
  /** where in `prefetched.files` the next file is expected: the readers ask for them in the same order */
  private cursor = 0;

  /**
   * `known`: files already read in this reading (an activity() reading); `prefetched`: read ahead of
   * it (FullReads); both used instead of the file
   */
  constructor(
    readonly fs: CgroupFs,
    private readonly known?: ActivityReading,
    private readonly prefetched?: Prefetched,
  ) {}

  /** the bytes of `path` when it was prefetched */
  private prefetchedBytes(path: string): Uint8Array | undefined {
    const p = this.prefetched;
    if (p === undefined) return undefined;
    let i = this.cursor;
    if (p.files[i] !== path) i = p.files.indexOf(path);
    if (i < 0) return undefined;
    this.cursor = i + 1;
    return p.bytesOf(i);
  }

  /** the bytes of `path` when `known` holds it (the same path string, so === finds it) */
  private knownBytes(path: string): Uint8Array | undefined {
    const known = this.known;
    if (known) {
      for (let i = 0; i < known.files.length; i++) {
        if (known.files[i] === path) return known.bytes.subarray(i === 0 ? 0 : known.ends[i - 1], known.ends[i]);
      }
    }
    return undefined;
  }

  private failed(path: string, err: unknown): undefined {
    this.errors.push({ file: path, message: err instanceof Error ? err.message : String(err) });
    return undefined;
  }

  /** the text of `path` when `known` holds it */
  private knownText(path: string): string | undefined {
    const bytes = this.knownBytes(path);
    return bytes === undefined ? undefined : latin1(bytes);
  }

  /** A file that must exist: absence is an error too. */
  required<T>(path: string, parse: (text: string, path: string) => T): T | undefined {
    try {
      return parse(this.knownText(path) ?? this.fs.readSync(path), path);
    } catch (err) {
      return this.failed(path, err);
    }
  }

  /** A file whose absence is data (added by a later kernel, PSI disabled): undefined then, silently. */
  optional<T>(path: string, parse: (text: string, path: string) => T): T | undefined {
    try {
      const text = this.knownText(path) ?? readOptionalSync(this.fs, path);
      return text === undefined ? undefined : parse(text, path);
    } catch (err) {
      return this.failed(path, err);
    }
  }

  /** required(), parsed from the file's bytes (parse-bytes.ts) */
  requiredBytes<T>(path: string, parse: (bytes: Uint8Array, path: string) => T): T | undefined {
    try {
      let bytes = this.knownBytes(path);
      if (bytes === undefined) {
        bytes = this.prefetchedBytes(path) ?? this.fs.readBytesSync(path);
        this.read.push(path);
      }
      return parse(bytes, path);
    } catch (err) {
      return this.failed(path, err);
    }
  }

  /** optional(), parsed from the file's bytes (parse-bytes.ts) */
  optionalBytes<T>(path: string, parse: (bytes: Uint8Array, path: string) => T): T | undefined {
    try {
      let bytes = this.knownBytes(path);
      if (bytes === undefined) {
        bytes = this.prefetchedBytes(path) ?? readOptionalBytesSync(this.fs, path);
        if (bytes !== undefined) this.read.push(path);
      }
      return bytes === undefined ? undefined : parse(bytes, path);
    } catch (err) {
      return this.failed(path, err);
    }
  }
}

/**
 * A stats reader's full readings, each with the files the last one read (those that could be read)
 * read ahead in one go (fullReadBatch) when `fs` keeps descriptors: one call instead of a dozen.
 */
export class FullReads {
  private plan: BatchFiles | undefined;

  constructor(private readonly fs: CgroupFs) {}

  /** The collector of a new reading. */
  collector(known?: ActivityReading): StatsCollector {
    const plan = this.plan;
    if (plan === undefined || !(this.fs instanceof OpenFileCgroupFs)) return new StatsCollector(this.fs, known);
    const batch = fullReadBatch(this.fs);
    batch.read([plan]);
    return new StatsCollector(this.fs, known, { files: plan.files, bytesOf: (i) => batch.bytesOf(0, i) });
  }

  /** The reading is over: what it read is read ahead next time (the same BatchFiles when the same files). */
  done(c: StatsCollector): void {
    const files = this.plan?.files;
    if (files?.length === c.read.length && files.every((f, i) => f === c.read[i])) return;
    this.plan = c.read.length === 0 ? undefined : new BatchFiles(c.read);
  }
}

/**
 * Without the keys whose value is undefined, so that a section with nothing read is itself undefined.
 * The section itself when every key has a value (the usual case: no copy); never changed in place.
 */
export function compact<T extends object>(section: T): T | undefined {
  let keys = 0;
  let defined = 0;
  for (const key in section) {
    keys++;
    if (section[key] !== undefined) defined++;
  }
  if (defined === keys) return defined === 0 ? undefined : section;
  if (defined === 0) return undefined;
  const out = {} as T;
  for (const key in section) if (section[key] !== undefined) out[key] = section[key];
  return out;
}

/**
 * Reading stats partially: every file is read and parsed on its own; a failure is recorded in `errors`
 * (file and message) and that one value stays undefined. A broken file never blanks the others and
 * never turns into a 0.
 *
 * Synchronous on purpose: cgroup files answer from kernel memory (see NodeCgroupFs), and the sampler
 * reads about a dozen per container every second, where a promise per file was a fifth of its cost.
 */
import { posix as path } from 'node:path';
import { readOptionalSync, type CgroupFs } from './cgroupfs.js';
import { parseFlatKeyed } from './parse.js';
import type { ActivityReading, CgroupStats } from './types.js';

/**
 * One cgroup directory whose file paths are joined once: a stats reader asks for the same dozen files
 * every tick, and the same path string each time is also what OpenFileCgroupFs finds its descriptor by.
 */
export class CgroupDir {
  private readonly files = new Map<string, string>();
  private readonly flatKeyedParsers = new Map<string, (text: string, path: string) => Record<string, number>>();

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

  /** parseFlatKeyed for the file `name`, with a memo of its keys kept from one read to the next */
  flatKeyed(name: string): (text: string, path: string) => Record<string, number> {
    let parse = this.flatKeyedParsers.get(name);
    if (parse === undefined) {
      const keys: string[] = [];
      parse = (text, path) => parseFlatKeyed(text, path, keys);
      this.flatKeyedParsers.set(name, parse);
    }
    return parse;
  }
}

/**
 * The texts of `files` read now, or undefined when one fails (read() reads it again and reports the
 * failure where it belongs): what a stats reader's activity() returns. No key string or map: this
 * runs for every container every tick, and its garbage is collected on the same core.
 */
export function readActivity(fs: CgroupFs, files: readonly string[]): ActivityReading | undefined {
  const texts: string[] = [];
  try {
    for (const file of files) texts.push(fs.readSync(file));
  } catch {
    return undefined;
  }
  return { files, texts };
}

/** Whether two activity readings of the same files found the same texts. */
export function sameActivity(a: ActivityReading, b: ActivityReading): boolean {
  if (a.texts.length !== b.texts.length) return false;
  for (let i = 0; i < a.texts.length; i++) if (a.texts[i] !== b.texts[i]) return false;
  return true;
}

export class StatsCollector {
  readonly errors: CgroupStats['errors'] = [];

  /** `known`: texts already read in this reading (an activity() reading), used instead of the file */
  constructor(
    readonly fs: CgroupFs,
    private readonly known?: ActivityReading,
  ) {}

  /** the text of `path` when `known` holds it (the same path string, so === finds it) */
  private knownText(path: string): string | undefined {
    const known = this.known;
    if (known) for (let i = 0; i < known.files.length; i++) if (known.files[i] === path) return known.texts[i];
    return undefined;
  }

  /** A file that must exist: absence is an error too. */
  required<T>(path: string, parse: (text: string, path: string) => T): T | undefined {
    try {
      return parse(this.knownText(path) ?? this.fs.readSync(path), path);
    } catch (err) {
      this.errors.push({ file: path, message: err instanceof Error ? err.message : String(err) });
      return undefined;
    }
  }

  /** A file whose absence is data (added by a later kernel, PSI disabled): undefined then, silently. */
  optional<T>(path: string, parse: (text: string, path: string) => T): T | undefined {
    try {
      const text = this.knownText(path) ?? readOptionalSync(this.fs, path);
      return text === undefined ? undefined : parse(text, path);
    } catch (err) {
      this.errors.push({ file: path, message: err instanceof Error ? err.message : String(err) });
      return undefined;
    }
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

/**
 * The owner of the containers' part of the state directory (layout.ts names the files): one reader
 * with its parser and one atomic writer per file, so that no other module joins a path or parses a
 * container's file by itself. Names are claimed with a symlink: creating it is atomic.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { CorralError, RecordError } from '../errors.js';
import { removeContainerDirs } from '../isolate/rootfs.js';
import type { ContainerPaths } from '../isolate/types.js';
import { writeFileAtomic } from '../state/atomic.js';
import { quarantineUnparsable, type Quarantined } from '../state/quarantine.js';
import type { RunConfig } from './config/run-flags.js';
import { CONTAINER_FILES, containerDir, containerFile, containerPaths, RUN_FILES, type ContainerFile } from './layout.js';
import { parseExitFile, parseJson, parseRecordFile, type ExitFile } from './records.js';
import { parseRunState, readRunState, writeRunState, type RunState } from './run-state.js';

export { containerPaths } from './layout.js';

export class NameInUseError extends CorralError {
  constructor(name: string, id: string) {
    super('ENAMEINUSE', `the container name "${name}" is already in use by container ${id.slice(0, 12)}`);
  }
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

/** What config.json holds: the configuration, when it was created, its name, and a foreground run's end. */
export interface ConfigFile {
  id: string;
  name?: string;
  created: string;
  config: RunConfig;
  /** how a foreground `corral run` ended (the daemon records its runs in state.json instead) */
  state?: { status: 'exited'; exitCode: number; oomKilled: boolean; finishedAt?: string };
}

export async function writeRecord(paths: ContainerPaths, record: unknown): Promise<void> {
  await writeFileAtomic(path.join(paths.dir, CONTAINER_FILES.config), JSON.stringify(record, null, 2) + '\n');
}

/** labels.json: Docker's Config.Labels, written once when the container is made (ps, prune and the metrics read them). */
export async function writeLabelsFile(paths: ContainerPaths, labels: Readonly<Record<string, string>>): Promise<void> {
  await writeFileAtomic(path.join(paths.dir, CONTAINER_FILES.labels), JSON.stringify(labels) + '\n');
}

/** config.json: checked by parseRecordFile (what ps and inspect need), the rest as the daemon wrote it. */
export function parseConfigFile(text: string, file: string): ConfigFile {
  parseRecordFile(text, file);
  return JSON.parse(text) as ConfigFile;
}

/** hostconfig.json and labels.json: JSON objects. */
function parseObject(text: string, file: string): Record<string, unknown> {
  const v = parseJson(text, file);
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new RecordError(file, 'not a JSON object');
  return v as Record<string, unknown>;
}

/** The files whose parser must accept them at adopt: one that does not is moved aside (state/quarantine.ts). */
const CHECKED_FILES: Record<string, (text: string, file: string) => unknown> = {
  [CONTAINER_FILES.config]: parseConfigFile,
  [CONTAINER_FILES.hostConfig]: parseObject,
  [CONTAINER_FILES.runState]: parseRunState,
};

const FULL_ID = /^[0-9a-f]{64}$/;

async function readOptional(file: string): Promise<string | undefined> {
  try {
    return await fs.readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/** One container's configuration as the daemon keeps it: config.json with hostconfig.json beside it. */
export interface StoredContainer extends ConfigFile {
  /** the create body's HostConfig fields ({} for a container a foreground `corral run` made) */
  hostConfig: Record<string, unknown>;
}

export class ContainerStore {
  constructor(readonly root: string) {}

  dir(id: string): string {
    return containerDir(this.root, id);
  }

  file(id: string, file: ContainerFile): string {
    return containerFile(this.root, id, file);
  }

  paths(id: string): ContainerPaths {
    return containerPaths(this.root, id);
  }

  /** The ids of the containers directory (full ids only; anything else there is not a container). */
  async ids(): Promise<string[]> {
    try {
      return (await fs.readdir(path.join(this.root, 'containers'))).filter((e) => FULL_ID.test(e));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
  }

  async exists(id: string): Promise<boolean> {
    return fs.access(this.dir(id)).then(
      () => true,
      () => false,
    );
  }

  async has(id: string, file: ContainerFile): Promise<boolean> {
    return fs.access(this.file(id, file)).then(
      () => true,
      () => false,
    );
  }

  /** config.json alone. */
  async readConfigFile(id: string): Promise<ConfigFile> {
    const file = this.file(id, 'config');
    return parseConfigFile(await fs.readFile(file, 'utf8'), file);
  }

  /** config.json with hostconfig.json. */
  async readConfig(id: string): Promise<StoredContainer> {
    const config = await this.readConfigFile(id);
    const hcFile = this.file(id, 'hostConfig');
    const hc = await readOptional(hcFile);
    return { ...config, hostConfig: hc === undefined ? {} : parseObject(hc, hcFile) };
  }

  /** Replace the stored configuration (an update's new limits), keeping the rest of config.json. */
  async writeConfig(id: string, config: RunConfig): Promise<void> {
    const current = await this.readConfigFile(id);
    await writeRecord(this.paths(id), { ...current, config });
  }

  async writeHostConfig(id: string, hostConfig: Record<string, unknown>): Promise<void> {
    await writeFileAtomic(this.file(id, 'hostConfig'), JSON.stringify(hostConfig) + '\n');
  }

  /** state.json, or undefined when the daemon never started the container. */
  readRunState(id: string): Promise<RunState | undefined> {
    return readRunState(this.dir(id));
  }

  writeRunState(id: string, state: RunState): Promise<void> {
    return writeRunState(this.dir(id), state);
  }

  /** The launcher's `exit` file, or undefined while it has none (or one it cannot have written). */
  async readExit(id: string): Promise<ExitFile | undefined> {
    const text = await readOptional(this.file(id, 'exit'));
    return text === undefined ? undefined : parseExitFile(text);
  }

  /** Remove the files of the last run before the next one starts. */
  async clearRunFiles(id: string): Promise<void> {
    for (const f of RUN_FILES) await fs.rm(this.file(id, f), { force: true });
  }

  /**
   * At adopt: move aside the files that do not parse, then bring an older layout up to this one.
   * A container a foreground `corral run` made and ended records its end in config.json only;
   * it gets a state.json, so that the daemon reads every end from one file.
   */
  async checkAndMigrate(id: string): Promise<Quarantined[]> {
    const moved = await quarantineUnparsable(this.dir(id), CHECKED_FILES);
    if (!(await this.has(id, 'runState')) && (await this.has(id, 'config'))) {
      const { state, created } = await this.readConfig(id);
      if (state) {
        const finishedAt = state.finishedAt ?? created;
        await this.writeRunState(id, { status: 'exited', restartCount: 0, manuallyStopped: false, lastExit: { exitCode: state.exitCode, oomKilled: state.oomKilled, finishedAt } });
      }
    }
    return moved;
  }

  /**
   * Bytes of the files in the container's writable layer (its upper directory; Docker's SizeRw, what
   * a prune reclaims): regular files' sizes, each inode once; 0 when it is gone.
   */
  async writableLayerBytes(id: string): Promise<number> {
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
    await walk(this.paths(id).upper);
    return total;
  }

  /** Remove the container's directories (unmounting its root first) and its name. */
  async remove(id: string, name: string | undefined): Promise<void> {
    await removeContainerDirs(this.paths(id));
    if (name !== undefined) await releaseName(this.root, name);
  }
}

/**
 * The owner of the containers' part of the state directory (layout.ts names the files): one reader
 * with its parser and one atomic writer per file, so that no other module joins a path or parses a
 * container's file by itself. Names are claimed with a symlink: creating it is atomic.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { CorralError, InvalidParameterError, RecordError } from '../errors.js';
import { removeContainerDirs } from '../isolate/rootfs.js';
import type { ContainerPaths } from '../isolate/types.js';
import { writeFileAtomic } from '../state/atomic.js';
import { quarantineUnparsable, type Quarantined } from '../state/quarantine.js';
import type { RunConfig } from './config/run-flags.js';
import { shortId } from './ids.js';
import { GENERATED_NAME_TRIES, generateName, type RandomIndex } from './names-generator.js';
import { CONTAINER_FILES, containerDir, containerFile, containerPaths, RUN_FILES, type ContainerFile } from './layout.js';
import { NoSuchContainerError, parseExitFile, parseJson, parseRecordFile, type ExitFile } from './records.js';
import { parseRunState, readRunState, writeRunState, type RunState } from './run-state.js';

export { containerPaths } from './layout.js';

/**
 * A name is held by another container: Docker's wording (daemon/errors.go nameConflictError), with
 * the name's "/" and the holder's full id, which clients (Compose, the SDKs) show or match on.
 */
export class NameInUseError extends CorralError {
  readonly holder: string;
  constructor(name: string, holder: string) {
    super('ENAMEINUSE', `Conflict. The container name "/${name}" is already in use by container "${holder}". You have to remove (or rename) that container to be able to reuse that name.`);
    this.holder = holder;
  }
}

function namePath(root: string, name: string): string {
  return path.join(root, 'names', name);
}

/** The id a name's symlink points to, or undefined when there is no such name. */
async function holderOf(root: string, name: string): Promise<string | undefined> {
  try {
    return path.basename(await fs.readlink(namePath(root, name)));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/** Claim `name` for container `id`: creating the symlink is atomic, so of two claims of one name exactly one wins. */
export async function claimName(root: string, name: string, id: string): Promise<void> {
  await fs.mkdir(path.join(root, 'names'), { recursive: true });
  for (let attempt = 1; ; attempt++) {
    try {
      await fs.symlink(path.join('..', 'containers', id), namePath(root, name));
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const holder = await holderOf(root, name);
      // given up between the two calls: claim it again (a few times; then it is contended, and taken)
      if (holder !== undefined || attempt >= 3) throw new NameInUseError(name, holder ?? '');
    }
  }
}

/**
 * Give `name` up. With `id`, only while it is that container's: a name released late (a rename or
 * removal that raced another) never takes the name another container claimed since.
 */
export async function releaseName(root: string, name: string, id?: string): Promise<void> {
  if (id !== undefined && (await holderOf(root, name)) !== id) return;
  await fs.rm(namePath(root, name), { force: true });
}

/**
 * Claim a generated name for a container created without one, as moby's generateAndReserveName: six
 * tries of Docker's `adjective_surname` (a digit appended from the second on), then the short id.
 */
export async function claimGeneratedName(root: string, id: string, random?: RandomIndex): Promise<string> {
  for (let retry = 0; retry < GENERATED_NAME_TRIES; retry++) {
    const name = generateName(retry, random);
    try {
      await claimName(root, name, id);
      return name;
    } catch (err) {
      if (!(err instanceof NameInUseError)) throw err;
    }
  }
  const name = shortId(id);
  await claimName(root, name, id);
  return name;
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
  /**
   * The read-modify-writes of each container's config.json and name in progress: one at a time per
   * container (an update's new limits, a rename, a removal), so that none writes back a name or
   * limits another just changed. In memory: the daemon is the one writer of its containers.
   */
  private readonly configChanges = new Map<string, Promise<unknown>>();

  constructor(readonly root: string) {}

  /** Run `change` after the changes of container `id` already queued. */
  private serialized<T>(id: string, change: () => Promise<T>): Promise<T> {
    const next = (this.configChanges.get(id) ?? Promise.resolve()).then(change, change);
    const settled = next.catch(() => {});
    this.configChanges.set(id, settled);
    void settled.then(() => {
      if (this.configChanges.get(id) === settled) this.configChanges.delete(id);
    });
    return next;
  }

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

  /** Replace the stored configuration (an update's new limits), keeping the rest of config.json and the current name. */
  writeConfig(id: string, config: RunConfig): Promise<void> {
    return this.serialized(id, async () => {
      const current = await this.readConfigFile(id);
      await writeRecord(this.paths(id), { ...current, config: { ...config, name: current.name } });
    });
  }

  /**
   * Docker's rename, atomic towards a create of the same name: the new name is claimed first (its
   * symlink: of a rename and a create racing for it, one gets a NameInUseError), then config.json
   * says it, then the old name is given up. A failed write gives the new name back. Returns the old
   * name, and the error of giving it up if that failed (the rename stands; the daemon's next start
   * releases the stale name: releaseStaleNames).
   */
  rename(id: string, newName: string): Promise<{ oldName: string | undefined; releaseError?: Error }> {
    return this.serialized(id, async () => {
      let current: ConfigFile;
      try {
        current = await this.readConfigFile(id);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new NoSuchContainerError(id);
        throw err;
      }
      // moby's wording, an InvalidParameter (400)
      if (current.name === newName) throw new InvalidParameterError('Renaming a container with the same name as its current name');
      await claimName(this.root, newName, id);
      try {
        await writeRecord(this.paths(id), { ...current, name: newName, config: { ...current.config, name: newName } });
      } catch (err) {
        await releaseName(this.root, newName, id).catch(() => {});
        throw err;
      }
      if (current.name === undefined) return { oldName: undefined };
      try {
        await releaseName(this.root, current.name, id);
        return { oldName: current.name };
      } catch (err) {
        return { oldName: current.name, releaseError: err as Error };
      }
    });
  }

  /**
   * Give up the names a rename left claimed when it was interrupted between claiming the new name and
   * releasing the old one (a daemon killed then): a name whose container's config.json says another
   * name. A name whose container has no readable config.json yet (being created) is left alone.
   * Returns the names released.
   */
  async releaseStaleNames(): Promise<string[]> {
    let names: string[];
    try {
      names = await fs.readdir(path.join(this.root, 'names'));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    const released: string[] = [];
    for (const name of names) {
      const id = await holderOf(this.root, name).catch(() => undefined);
      if (id === undefined || !FULL_ID.test(id)) continue;
      const config = await this.readConfigFile(id).catch(() => undefined);
      if (config === undefined || config.name === name) continue;
      await releaseName(this.root, name, id);
      released.push(name);
    }
    return released;
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

  /**
   * Remove the container's directories (unmounting its root first) and its name: the one its
   * config.json says when it is read (a rename may have changed it since the caller read it), else
   * `name`.
   */
  remove(id: string, name: string | undefined): Promise<void> {
    return this.serialized(id, async () => {
      const current = (await this.readConfigFile(id).catch(() => undefined))?.name ?? name;
      await removeContainerDirs(this.paths(id));
      if (current !== undefined) await releaseName(this.root, current, id);
    });
  }
}

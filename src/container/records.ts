/**
 * Reading containers back from the state directory (see store.ts for the layout): each
 * `<root>/containers/<id>/config.json` record, and the launcher's `pid` and `exit` files beside it,
 * give what `docker ps` and `docker inspect` show. The parsers are pure; the readers tolerate only
 * ENOENT (a file not written yet) and report a broken record instead of hiding it or failing the
 * whole list.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { CorralError, RecordError } from '../errors.js';
import type { NetworkMode } from '../isolate/types.js';
import { NAME_PATTERN } from './ids.js';
import { readRunState } from './run-state.js';
import { CONTAINER_FILES, containerDir } from './layout.js';

/** A full container ID. */
const FULL_ID = /^[0-9a-f]{64}$/;
const ID_PREFIX = /^[0-9a-f]{1,64}$/;

/**
 * Where a container is in its life. A paused container is a running one with `paused` set, as
 * Docker's State has Running and Paused both true; dockerState() gives Docker's one name for both.
 * corral has no removing state.
 */
export type ContainerStatus = 'created' | 'running' | 'restarting' | 'exited' | 'dead';

/** Docker's State.Status names (State in /containers/json, the ps `status` filter). */
export type DockerState = ContainerStatus | 'paused';

/** Docker's name of a container's state: "paused" for a paused running container (moby State.StateString). */
export function dockerState(r: { status: ContainerStatus; paused?: boolean }): DockerState {
  return r.status === 'running' && r.paused === true ? 'paused' : r.status;
}

export interface ContainerRecord {
  id: string;
  name?: string;
  created: Date;
  /** the command and its arguments */
  command: string[];
  /** the lower layer of the root overlay; undefined = the host's system directories */
  rootfs?: string;
  /** the image the root was stacked from: as the user named it, its ID, its layers' chain IDs */
  image?: { name: string; id: string; chainIds: string[] };
  network: NetworkMode;
  volumes: { source: string; target: string; readOnly: boolean }[];
  status: ContainerStatus;
  /** status running and its cgroup frozen by a pause (Docker's State.Paused); absent otherwise */
  paused?: true;
  /** set once the container has exited (Docker's codes: 128+N for signal N) */
  exitCode?: number;
  oomKilled: boolean;
  /** restarts by the restart policy since the last start by the user (absent: never restarted) */
  restartCount?: number;
  /** host pid of the workload while running */
  pid?: number;
  startedAt?: Date;
  finishedAt?: Date;
  /** Docker's Config.Labels, from `labels.json` (containers the daemon created with Labels) */
  labels?: Record<string, string>;
}

/** Docker's Image of a container (ps, inspect's Config.Image, events, metrics): the image as named, else the rootfs directory, else "host". */
export function imageNameOf(r: { image?: { name: string }; rootfs?: string }): string {
  return r.image?.name ?? r.rootfs ?? 'host';
}

export class NoSuchContainerError extends CorralError {
  readonly ref: string;
  constructor(ref: string) {
    // Docker's wording, which clients match on
    super('ENOSUCHCONTAINER', `No such container: ${ref}`);
    this.ref = ref;
  }
}

export class AmbiguousIdError extends CorralError {
  constructor(prefix: string) {
    super('EAMBIGUOUSID', `multiple IDs found with provided prefix: ${prefix}`);
  }
}

// --- pure parsers ---------------------------------------------------------------------------------

/** What config.json holds (written by run.ts), checked field by field. */
export interface RecordFile {
  id: string;
  name?: string;
  created?: Date;
  command: string[];
  rootfs?: string;
  image?: { name: string; id: string; chainIds: string[] };
  network: NetworkMode;
  volumes: { source: string; target: string; readOnly: boolean }[];
  state?: { status: 'exited'; exitCode: number; oomKilled: boolean; finishedAt?: Date };
}

function obj(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

function date(value: unknown): Date | undefined {
  if (typeof value !== 'string') return undefined;
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? undefined : d;
}

/** JSON.parse, a failure being a RecordError naming the file. */
export function parseJson(text: string, file: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new RecordError(file, `not JSON (${(err as Error).message})`);
  }
}

export function parseRecordFile(text: string, file: string): RecordFile {
  const top = obj(parseJson(text, file));
  const config = obj(top?.config);
  const isolation = obj(config?.isolation);
  if (!top || !isolation) throw new RecordError(file, 'no config.isolation object');
  const id = top.id;
  if (typeof id !== 'string' || !FULL_ID.test(id)) throw new RecordError(file, `bad id ${JSON.stringify(id)}`);
  const command = isolation.command;
  if (!Array.isArray(command) || !command.every((c): c is string => typeof c === 'string')) throw new RecordError(file, 'config.isolation.command is not a list of strings');
  const network = isolation.network === 'host' ? 'host' : 'none';
  const volumes = Array.isArray(isolation.volumes)
    ? isolation.volumes.flatMap((v) => {
        const m = obj(v);
        return m && typeof m.source === 'string' && typeof m.target === 'string' ? [{ source: m.source, target: m.target, readOnly: m.readOnly === true }] : [];
      })
    : [];
  const record: RecordFile = { id, command, network, volumes };
  if (typeof top.name === 'string' && NAME_PATTERN.test(top.name)) record.name = top.name;
  const created = date(top.created);
  if (created) record.created = created;
  if (typeof isolation.rootfs === 'string') record.rootfs = isolation.rootfs;
  const image = obj(config?.image);
  if (typeof image?.name === 'string' && typeof image.id === 'string') {
    const chainIds = Array.isArray(image.chainIds) ? image.chainIds.filter((c): c is string => typeof c === 'string') : [];
    record.image = { name: image.name, id: image.id, chainIds };
  }
  const state = obj(top.state);
  if (state?.status === 'exited') {
    if (typeof state.exitCode !== 'number') throw new RecordError(file, 'state.exitCode is not a number');
    const finishedAt = date(state.finishedAt);
    record.state = { status: 'exited', exitCode: state.exitCode, oomKilled: state.oomKilled === true, ...(finishedAt ? { finishedAt } : {}) };
  }
  return record;
}

/** The launcher's `pid` file: "<host pid> <start time in clock ticks>\n" (native/PROTOCOL.md). */
export function parsePidFile(text: string): { pid: number; startTime: string } | undefined {
  const m = /^(\d{1,10}) (\d{1,20})\n?$/.exec(text);
  if (!m || Number(m[1]) < 1) return undefined;
  return { pid: Number(m[1]), startTime: m[2]! };
}

/** How a run ended, from the launcher's `exit` file. */
export interface ExitFile {
  /** Docker's exit code: the workload's code, 128+N for signal N, 125/126/127 for a failed start */
  exitCode: number;
  /** the signal that ended the workload, when one did */
  signal?: number;
  /** the workload never ran: a set-up step failed ("failed <step> <errno name>") */
  setupFailed: boolean;
  /** when the launcher saw the end (RFC 3339, nanoseconds), when it wrote the time */
  time?: string;
}

/** The launcher's `exit` file: "exited <code>", "signaled <signal>" or "failed <step> <errno name>" (each may end in the time). */
export function parseExitFile(text: string): ExitFile | undefined {
  const time = / (\d{4}-\d\d-\d\dT[\d:.]+Z)\n?$/.exec(text)?.[1];
  const at = time !== undefined && !Number.isNaN(new Date(time).getTime()) ? { time } : {};
  const m = /^(exited|signaled) (\d{1,3})(?: \S+)?\n?$/.exec(text);
  if (m) {
    const n = Number(m[2]);
    return m[1] === 'exited' ? { exitCode: n, setupFailed: false, ...at } : { exitCode: 128 + n, signal: n, setupFailed: false, ...at };
  }
  // Docker's codes for a failed start: 127 for a command not found, 126 for another exec failure
  const failed = /^failed (\S+) (\S+)(?: \S+)?\n?$/.exec(text);
  if (failed) return { exitCode: failed[1] !== 'exec' ? 125 : failed[2] === 'ENOENT' ? 127 : 126, setupFailed: true, ...at };
  return undefined;
}

/** `labels.json`: a JSON object of strings (Docker's Config.Labels); anything else is a broken record. */
export function parseLabelsFile(text: string, file: string): Record<string, string> {
  const labels = obj(parseJson(text, file));
  if (!labels || !Object.values(labels).every((v) => typeof v === 'string')) throw new RecordError(file, 'not an object of string labels');
  return { ...(labels as Record<string, string>) };
}

/** Field 22 (starttime) of /proc/PID/stat; the command name (field 2) may hold spaces and parentheses. */
export function procStatStartTime(text: string): string | undefined {
  const close = text.lastIndexOf(')');
  if (close < 0) return undefined;
  // fields 3.. follow the command name; starttime is field 22, the 20th of them
  return text.slice(close + 2).split(' ')[19];
}

// --- readers --------------------------------------------------------------------------------------

async function readOptional(file: string): Promise<{ text: string; mtime: Date } | undefined> {
  try {
    const [text, st] = await Promise.all([fs.readFile(file, 'utf8'), fs.stat(file)]);
    return { text, mtime: st.mtime };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

export interface RecordReadOptions {
  /** /proc/PID/stat's contents, or undefined when the process is gone (default: read /proc) */
  readProcStat?: (pid: number) => Promise<string | undefined>;
}

/**
 * /proc/PID/stat, or undefined when the process is gone: ENOENT before the open, ESRCH when it
 * ended between the open and the read (a container inspected while it dies).
 */
async function readProcStat(pid: number): Promise<string | undefined> {
  try {
    return await fs.readFile(`/proc/${pid}/stat`, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ESRCH') return undefined;
    throw err;
  }
}

/** One container's record and state, or undefined when it has no config.json (being created, or gone). */
export async function readContainerRecord(root: string, id: string, options: RecordReadOptions = {}): Promise<ContainerRecord | undefined> {
  if (!FULL_ID.test(id)) throw new Error(`unreachable: readContainerRecord with an unvalidated id ${JSON.stringify(id)}`);
  const dir = containerDir(root, id);
  const configFile = path.join(dir, CONTAINER_FILES.config);
  const config = await readOptional(configFile);
  if (!config) return undefined;
  const file = parseRecordFile(config.text, configFile);
  if (file.id !== id) throw new RecordError(configFile, `id ${file.id} does not match its directory`);
  // Records written before the creation time was kept in the final record: the directory's birth
  // time (statx), else its change time, is when the container was created.
  let created = file.created;
  if (!created) {
    const st = await fs.stat(dir);
    created = st.birthtimeMs > 0 ? st.birthtime : st.ctime;
  }
  const [pidFile, exitFile, run, labelsFile] = await Promise.all([
    readOptional(path.join(dir, CONTAINER_FILES.pid)),
    readOptional(path.join(dir, CONTAINER_FILES.exit)),
    readRunState(dir),
    readOptional(path.join(dir, CONTAINER_FILES.labels)),
  ]);
  const pid = pidFile ? parsePidFile(pidFile.text) : undefined;
  const exit = exitFile ? parseExitFile(exitFile.text) : undefined;
  const record: ContainerRecord = {
    id,
    created,
    command: file.command,
    network: file.network,
    volumes: file.volumes,
    status: 'created',
    oomKilled: false,
    ...(run?.restartCount ? { restartCount: run.restartCount } : {}),
    ...(file.name !== undefined ? { name: file.name } : {}),
    ...(file.rootfs !== undefined ? { rootfs: file.rootfs } : {}),
    ...(file.image !== undefined ? { image: file.image } : {}),
    ...(pidFile ? { startedAt: pidFile.mtime } : {}),
    ...(labelsFile ? { labels: parseLabelsFile(labelsFile.text, path.join(dir, CONTAINER_FILES.labels)) } : {}),
  };
  if (run?.startedAt !== undefined) record.startedAt = new Date(run.startedAt);
  if (run && run.status !== 'running' && run.lastExit) {
    // the daemon recorded the end of the last run (and maybe a restart waiting for its back-off)
    record.status = run.status;
    record.exitCode = run.lastExit.exitCode;
    record.oomKilled = run.lastExit.oomKilled;
    record.finishedAt = new Date(run.lastExit.finishedAt);
  } else if (file.state && !run) {
    // a foreground `corral run` records its end in config.json
    record.status = 'exited';
    record.exitCode = file.state.exitCode;
    record.oomKilled = file.state.oomKilled;
    record.finishedAt = file.state.finishedAt ?? exitFile?.mtime ?? config.mtime;
  } else if (exit && exitFile) {
    record.status = 'exited';
    record.exitCode = exit.exitCode;
    record.finishedAt = exitFile.mtime;
  } else if (pid) {
    const stat = await (options.readProcStat ?? readProcStat)(pid.pid);
    if (stat !== undefined && procStatStartTime(stat) === pid.startTime) {
      record.status = 'running';
      record.pid = pid.pid;
      if (run?.status === 'running' && run.paused) record.paused = true;
    } else {
      // the workload is gone and nobody recorded how it ended (its launcher was killed)
      record.status = 'dead';
    }
  }
  return record;
}

/** Every container of the state directory, newest first, and the records that could not be read. */
export async function listContainerRecords(root: string, options: RecordReadOptions = {}): Promise<{ records: ContainerRecord[]; errors: { id: string; message: string }[] }> {
  let entries: string[];
  try {
    entries = await fs.readdir(path.join(root, 'containers'));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { records: [], errors: [] };
    throw err;
  }
  const records: ContainerRecord[] = [];
  const errors: { id: string; message: string }[] = [];
  await Promise.all(
    entries
      .filter((e) => FULL_ID.test(e))
      .map(async (id) => {
        try {
          const record = await readContainerRecord(root, id, options);
          if (record) records.push(record);
        } catch (err) {
          errors.push({ id, message: (err as Error).message });
        }
      }),
  );
  records.sort((a, b) => b.created.getTime() - a.created.getTime() || a.id.localeCompare(b.id));
  return { records, errors };
}

/** A validated reference: at least one of `idPrefix` (1-64 hex digits) and `name` (Docker's rule). */
export interface ContainerLookup {
  text: string;
  idPrefix?: string;
  name?: string;
}

async function hasRecord(root: string, id: string): Promise<boolean> {
  try {
    await fs.access(path.join(containerDir(root, id), CONTAINER_FILES.config));
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}

/**
 * The ID a reference names, Docker's order: a full ID, then a name, then a unique ID prefix.
 * Throws NoSuchContainerError or AmbiguousIdError. The reference's parts are checked again here,
 * so that nothing unvalidated is ever joined into a path.
 */
export async function resolveContainerId(root: string, ref: ContainerLookup): Promise<string> {
  const prefix = ref.idPrefix !== undefined && ID_PREFIX.test(ref.idPrefix) ? ref.idPrefix : undefined;
  const name = ref.name !== undefined && NAME_PATTERN.test(ref.name) ? ref.name : undefined;
  if (prefix !== undefined && FULL_ID.test(prefix) && (await hasRecord(root, prefix))) return prefix;
  if (name !== undefined) {
    try {
      const id = path.basename(await fs.readlink(path.join(root, 'names', name)));
      if (FULL_ID.test(id) && (await hasRecord(root, id))) return id;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'EINVAL') throw err;
    }
  }
  if (prefix !== undefined) {
    let entries: string[] = [];
    try {
      entries = await fs.readdir(path.join(root, 'containers'));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    const candidates = entries.filter((e) => FULL_ID.test(e) && e.startsWith(prefix));
    const found = (await Promise.all(candidates.map(async (id) => ((await hasRecord(root, id)) ? id : undefined)))).filter((id) => id !== undefined);
    if (found.length > 1) throw new AmbiguousIdError(prefix);
    if (found.length === 1) return found[0]!;
  }
  throw new NoSuchContainerError(ref.text);
}

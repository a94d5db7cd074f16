/**
 * The container lifecycle in the daemon: create, start (a detached launcher that logs to
 * `<dir>/container.log`), kill, stop, wait, remove, inspect and logs.
 *
 * How the daemon learns that a container ended: it polls the launcher's `exit` state file every
 * POLL_MS and checks that the launcher (from `launcher.pid`, start time verified) is still alive.
 * Polling is chosen over a pidfd because the launcher is not the daemon's child (it detached) and a
 * pidfd's readability needs an event-loop hook that Node does not offer; polling works the same for
 * a launcher this daemon started and one it re-adopted after a restart. The `exit` file is written
 * only after the log is complete, so a container whose `exit` exists has all its output logged.
 * On the end, the daemon reads the cgroup's oom_kill counter, records the state in config.json and
 * destroys the cgroup (and with AutoRemove, the whole container).
 */
import fs from 'node:fs/promises';
import { constants as osConstants } from 'node:os';
import path from 'node:path';
import { createCgroupDriver } from '../cgroups/index.js';
import type { CgroupDriver } from '../cgroups/types.js';
import { runConfigFromOptions, type HostFacts, type RawRunOptions, type RunConfig } from '../cli/run-flags.js';
import { hostFacts } from '../cli/host-facts.js';
import { InvalidArgumentError } from '../errors.js';
import { removeContainerDirs } from '../isolate/rootfs.js';
import { startLauncher } from '../container/launcher.js';
import { LABELS_FILE, NoSuchContainerError, parseExitFile, parsePidFile, procStatStartTime, readContainerRecord, resolveContainerId, type ContainerRecord } from '../container/records.js';
import { newContainerId } from '../container/ids.js';
import { writeFileAtomic } from '../state/atomic.js';
import { createContainer as createStored, launchFailure } from '../container/run.js';
import { containerPaths, releaseName, writeRecord } from '../container/store.js';
import { ApiError } from './errors.js';
import { EventBus, type ContainerActor } from './events.js';
import type { Logger } from './log.js';

export const POLL_MS = 50;
export const LOG_FILE = 'container.log';

/** The Docker field each `corral run` flag comes from, so that a 400 names the field the client sent. */
const FIELD_OF_FLAG: Record<string, string> = {
  '--memory': 'HostConfig.Memory',
  '--memory-swap': 'HostConfig.MemorySwap',
  '--memory-reservation': 'HostConfig.MemoryReservation',
  '--cpus': 'HostConfig.NanoCpus',
  '--cpu-period': 'HostConfig.CpuPeriod',
  '--cpu-quota': 'HostConfig.CpuQuota',
  '--cpu-shares': 'HostConfig.CpuShares',
  '--cpuset-cpus': 'HostConfig.CpusetCpus',
  '--cpuset-mems': 'HostConfig.CpusetMems',
  '--pids-limit': 'HostConfig.PidsLimit',
  '--volume': 'HostConfig.Binds',
  '--network': 'HostConfig.NetworkMode',
  '--cap-add': 'HostConfig.CapAdd',
  '--cap-drop': 'HostConfig.CapDrop',
  '--cgroup-parent': 'HostConfig.CgroupParent',
  '--rootfs': 'Image',
  '--hostname': 'Hostname',
  '--env': 'Env',
  '--workdir': 'WorkingDir',
  '--user': 'User',
  '--name': 'name',
  COMMAND: 'Cmd',
};

function obj(v: unknown): Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
}

function strings(v: unknown): string[] {
  if (typeof v === 'string') return [v];
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
}

/** A number field as the flag's text; 0 (Docker's "unset") and absence give undefined. */
function num(v: unknown, field: string, unsetZero = true): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v)) throw new ApiError(400, `invalid ${field}: expected an integer`);
  return unsetZero && v === 0 ? undefined : String(v);
}

/**
 * Docker's create body as `corral run`'s flags, so that the CLI's parsing and validation (and its
 * unit arithmetic) decide; the body's field types were checked by the route already.
 */
export function rawOptionsFromBody(body: Record<string, unknown>, name: string | undefined): { options: RawRunOptions; command: string[] } {
  const hc = obj(body.HostConfig);
  const o: RawRunOptions = {};
  const set = <K extends keyof RawRunOptions>(k: K, v: RawRunOptions[K] | undefined) => {
    if (v !== undefined) o[k] = v;
  };
  set('name', name);
  set('rm', hc.AutoRemove === true ? true : undefined);
  const image = typeof body.Image === 'string' ? body.Image : '';
  if (image !== '' && image !== 'host') o.rootfs = image;
  set('hostname', typeof body.Hostname === 'string' && body.Hostname !== '' ? body.Hostname : undefined);
  const env = strings(body.Env);
  if (env.length) o.env = env;
  set('workdir', typeof body.WorkingDir === 'string' && body.WorkingDir !== '' ? body.WorkingDir : undefined);
  set('user', typeof body.User === 'string' && body.User !== '' ? body.User : undefined);
  set('memory', num(hc.Memory, 'HostConfig.Memory'));
  set('memorySwap', num(hc.MemorySwap, 'HostConfig.MemorySwap'));
  set('memoryReservation', num(hc.MemoryReservation, 'HostConfig.MemoryReservation'));
  const nano = num(hc.NanoCpus, 'HostConfig.NanoCpus');
  // NanoCpus as --cpus's decimal text, exactly (no floating point): 1500000000 -> "1.500000000"
  if (nano !== undefined) o.cpus = nano.startsWith('-') ? nano : `${nano.slice(0, -9) || '0'}.${nano.slice(-9).padStart(9, '0')}`;
  set('cpuPeriod', num(hc.CpuPeriod, 'HostConfig.CpuPeriod'));
  set('cpuQuota', num(hc.CpuQuota, 'HostConfig.CpuQuota'));
  set('cpuShares', num(hc.CpuShares, 'HostConfig.CpuShares'));
  set('cpusetCpus', typeof hc.CpusetCpus === 'string' && hc.CpusetCpus !== '' ? hc.CpusetCpus : undefined);
  set('cpusetMems', typeof hc.CpusetMems === 'string' && hc.CpusetMems !== '' ? hc.CpusetMems : undefined);
  set('pidsLimit', num(hc.PidsLimit, 'HostConfig.PidsLimit'));
  const binds = strings(hc.Binds);
  if (binds.length) o.volume = binds;
  set('readOnly', hc.ReadonlyRootfs === true ? true : undefined);
  const network = typeof hc.NetworkMode === 'string' ? hc.NetworkMode : '';
  if (network !== '' && network !== 'default') o.network = network;
  const capAdd = strings(hc.CapAdd);
  if (capAdd.length) o.capAdd = capAdd;
  const capDrop = strings(hc.CapDrop);
  if (capDrop.length) o.capDrop = capDrop;
  set('cgroupParent', typeof hc.CgroupParent === 'string' && hc.CgroupParent !== '' ? hc.CgroupParent : undefined);
  return { options: o, command: [...strings(body.Entrypoint), ...strings(body.Cmd)] };
}

/** The Docker field a `corral run` flag's value came from (FIELD_OF_FLAG), or the flag itself. */
export function dockerFieldOf(flag: string): string {
  return FIELD_OF_FLAG[flag] ?? flag;
}

/**
 * Docker's create body turned into a RunConfig and validated by `corral run`'s own rules (run-flags),
 * creating nothing: create uses it, and so does the workloads file (to check every service first).
 * Throws the InvalidArgumentError of the flag the bad field became (dockerFieldOf names the field).
 */
export function runConfigFromBody(body: Record<string, unknown>, name: string | undefined, facts: HostFacts): RunConfig {
  const { options, command } = rawOptionsFromBody(body, name);
  return runConfigFromOptions(options, command, facts);
}

/** A signal by name (KILL, SIGKILL) or number. */
export function parseSignal(text: string): number {
  if (/^\d{1,2}$/.test(text) && Number(text) >= 1 && Number(text) <= 64) return Number(text);
  const name = text.toUpperCase().startsWith('SIG') ? text.toUpperCase() : `SIG${text.toUpperCase()}`;
  const n = (osConstants.signals as Record<string, number>)[name];
  if (n === undefined) throw new ApiError(400, `invalid signal: ${text}`);
  return n;
}

interface LiveProcess {
  pid: number;
  startTime: string;
}

async function readLive(file: string): Promise<LiveProcess | undefined> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch {
    return undefined;
  }
  const p = parsePidFile(text);
  if (!p) return undefined;
  try {
    const stat = await fs.readFile(`/proc/${p.pid}/stat`, 'utf8');
    return procStatStartTime(stat) === p.startTime ? p : undefined;
  } catch {
    return undefined;
  }
}

interface StoredConfig {
  config: RunConfig;
  created: string;
  name?: string;
  hostConfig: Record<string, unknown>;
}

export interface SupervisorDeps {
  stateRoot: string;
  log: Logger;
  /** where lifecycle events go (GET /events); a private bus by default */
  events?: EventBus;
}

export class Supervisor {
  private readonly drivers = new Map<string, Promise<CgroupDriver>>();
  private readonly watched = new Map<string, Promise<number>>();
  private readonly waiters = new Map<string, ((code: number) => void)[]>();
  private facts: Promise<HostFacts> | undefined;
  private closed = false;
  readonly events: EventBus;

  constructor(private readonly deps: SupervisorDeps) {
    this.events = deps.events ?? new EventBus();
  }

  /** The event actor of a stored container: its id, name and image (the rootfs, or "host"). */
  private actor(id: string, stored: StoredConfig | undefined): ContainerActor {
    return { id, image: stored?.config.isolation.rootfs ?? 'host', ...(stored?.name !== undefined ? { name: stored.name } : {}) };
  }

  private async emit(action: string, id: string, attributes: Record<string, string | number | boolean | undefined> = {}): Promise<void> {
    const stored = await this.stored(id).catch(() => undefined);
    this.events.container(action, this.actor(id, stored), attributes);
  }

  private driver(parent: string | undefined): Promise<CgroupDriver> {
    const key = parent ?? '';
    let d = this.drivers.get(key);
    if (!d) {
      d = createCgroupDriver(parent === undefined ? {} : { parent });
      this.drivers.set(key, d);
    }
    return d;
  }

  private hostFacts(): Promise<HostFacts> {
    this.facts ??= this.driver(undefined).then(hostFacts);
    return this.facts;
  }

  private dir(id: string): string {
    return containerPaths(this.deps.stateRoot, id).dir;
  }

  private async stored(id: string): Promise<StoredConfig> {
    const record = JSON.parse(await fs.readFile(path.join(this.dir(id), 'config.json'), 'utf8')) as StoredConfig & Record<string, unknown>;
    let hostConfig: Record<string, unknown> = {};
    try {
      hostConfig = JSON.parse(await fs.readFile(path.join(this.dir(id), 'hostconfig.json'), 'utf8')) as Record<string, unknown>;
    } catch {
      // a container `corral run` made
    }
    return { ...record, hostConfig };
  }

  async resolve(ref: { text: string; idPrefix?: string; name?: string }): Promise<string> {
    return resolveContainerId(this.deps.stateRoot, ref);
  }

  /**
   * Everything create checks before it makes anything: the body's values (runConfigFromBody, with
   * this daemon's host facts) and the limits against the cgroup driver. Errors are thrown as found
   * (InvalidArgumentError, InvalidLimitError, UnsupportedError), not yet as API errors.
   */
  async checkCreate(body: Record<string, unknown>, name: string | undefined): Promise<RunConfig> {
    const config = runConfigFromBody(body, name, await this.hostFacts());
    await (await this.driver(config.cgroupParent)).plan(config.resources);
    return config;
  }

  async create(body: Record<string, unknown>, name: string | undefined): Promise<string> {
    let config: RunConfig;
    try {
      config = await this.checkCreate(body, name);
    } catch (err) {
      if (err instanceof InvalidArgumentError) throw new ApiError(400, `${dockerFieldOf(err.flag)}: ${err.message}`);
      throw err;
    }
    const driver = await this.driver(config.cgroupParent);
    const id = newContainerId();
    const logPath = path.join(this.dir(id), LOG_FILE);
    await createStored(config, { stateRoot: this.deps.stateRoot, driver, stderr: process.stderr, id }, { header: { detach: true, log: { path: logPath, maxSize: 0, maxFiles: 1 } } });
    const hc = obj(body.HostConfig);
    const hostConfig: Record<string, unknown> = {};
    for (const k of HOST_CONFIG_FIELDS) if (hc[k] !== undefined) hostConfig[k] = hc[k];
    await writeFileAtomic(path.join(this.dir(id), 'hostconfig.json'), JSON.stringify(hostConfig) + '\n');
    const labels = obj(body.Labels);
    if (Object.keys(labels).length > 0) await writeFileAtomic(path.join(this.dir(id), LABELS_FILE), JSON.stringify(labels) + '\n');
    await this.emit('create', id);
    return id;
  }

  async record(id: string): Promise<ContainerRecord> {
    const r = await readContainerRecord(this.deps.stateRoot, id);
    if (!r) throw new NoSuchContainerError(id);
    return r;
  }

  /** Start a created container: 'started', or 'running' when it already runs (304). */
  async start(id: string): Promise<'started' | 'running'> {
    const r = await this.record(id);
    if (r.status === 'running') return 'running';
    if (r.status !== 'created') throw new ApiError(409, `container ${id.slice(0, 12)} has already run; corral does not restart containers yet`);
    const stored = await this.stored(id);
    const launch = startLauncher(path.join(this.dir(id), 'launch.spec'), 'ignore');
    const outcome = await launch.launched.catch((err: Error) => {
      throw new ApiError(500, `start launcher: ${err.message}`);
    });
    await launch.ended;
    this.watch(id);
    if (outcome.kind === 'failed') {
      const failure = launchFailure(outcome.error, stored.config.isolation.command[0] ?? '');
      await this.watched.get(id);
      throw new ApiError(failure.exitCode === 125 ? 500 : 400, failure.message);
    }
    this.events.container('start', this.actor(id, stored));
    return 'started';
  }

  /** Follow a started container until its `exit` file appears (or its launcher is gone), then clean up. */
  watch(id: string): Promise<number> {
    let w = this.watched.get(id);
    if (w) return w;
    w = this.follow(id);
    this.watched.set(id, w);
    w.catch((err: Error) => this.deps.log.error('container watch failed', { id, err }));
    return w;
  }

  private async follow(id: string): Promise<number> {
    const dir = this.dir(id);
    let exit: { exitCode: number } | undefined;
    let exitTime: string | undefined;
    for (let misses = 0; ; ) {
      if (this.closed) return new Promise<number>(() => {});
      try {
        const text = await fs.readFile(path.join(dir, 'exit'), 'utf8');
        exit = parseExitFile(text);
        exitTime = / (\d{4}-\d\d-\d\dT[\d:.]+Z)\n?$/.exec(text)?.[1];
        if (exit) break;
      } catch {
        // not yet
      }
      // the launcher gone without an `exit` (SIGKILLed): after a few looks, the container is dead
      if (!(await readLive(path.join(dir, 'launcher.pid')))) {
        if (++misses > 3) break;
      } else misses = 0;
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
    const stored = await this.stored(id);
    const driver = await this.driver(stored.config.cgroupParent);
    const cgroup = driver.open(id);
    const oom = ((await cgroup.oomKillCount().catch(() => 0)) ?? 0) > 0;
    let code = exit?.exitCode ?? 137;
    if (oom && code === 128 + 9) code = 137;
    await cgroup.destroy().catch((err: Error) => this.deps.log.warn('cannot remove the cgroup', { id, err }));
    const finishedAt = exitTime && !Number.isNaN(new Date(exitTime).getTime()) ? exitTime : new Date().toISOString();
    await writeRecord(containerPaths(this.deps.stateRoot, id), {
      id,
      name: stored.name,
      created: stored.created,
      config: stored.config,
      state: { status: 'exited', exitCode: code, oomKilled: oom, finishedAt },
    });
    this.deps.log.info('container exited', { id, exitCode: code, oomKilled: oom });
    const actor = this.actor(id, stored);
    if (oom) this.events.container('oom', actor);
    this.events.container('die', actor, { exitCode: code });
    for (const resolve of this.waiters.get(id) ?? []) resolve(code);
    this.waiters.delete(id);
    if (stored.config.rm) await this.discard(id, stored.name).catch((err: Error) => this.deps.log.warn('auto-remove failed', { id, err }));
    return code;
  }

  /** After a daemon restart: follow every container that was started and has not been recorded as ended. */
  async adopt(): Promise<void> {
    let entries: string[] = [];
    try {
      entries = await fs.readdir(path.join(this.deps.stateRoot, 'containers'));
    } catch {
      return;
    }
    for (const id of entries) {
      if (!/^[0-9a-f]{64}$/.test(id)) continue;
      const r = await readContainerRecord(this.deps.stateRoot, id).catch(() => undefined);
      if (!r) continue;
      const stored = await this.stored(id).catch(() => undefined);
      if (!stored || (stored as unknown as { state?: unknown }).state) continue;
      const started = await fs.access(path.join(this.dir(id), 'launcher.pid')).then(() => true, () => false);
      if (started) {
        this.deps.log.info('following a container started before this daemon', { id });
        this.watch(id);
      }
    }
  }

  async kill(id: string, signal: number): Promise<void> {
    const r = await this.record(id);
    if (r.status !== 'running' || r.pid === undefined) throw new ApiError(409, `Container ${id} is not running`);
    const live = await readLive(path.join(this.dir(id), 'pid'));
    if (!live) throw new ApiError(409, `Container ${id} is not running`);
    // To the workload directly: as pid 1 of its namespace it gets only the signals it handles (and
    // SIGKILL), as under Docker; through the launcher SIGKILL could not be forwarded.
    process.kill(live.pid, signal);
    await this.emit('kill', id, { signal });
  }

  /** SIGTERM, then SIGKILL after `seconds`; false when it was not running (304). */
  async stop(id: string, seconds: number): Promise<boolean> {
    const r = await this.record(id);
    if (r.status !== 'running') return false;
    const ended = this.watch(id);
    await this.kill(id, osConstants.signals.SIGTERM).catch(() => {});
    const timedOut = await Promise.race([ended.then(() => false), new Promise<boolean>((res) => setTimeout(() => res(true), seconds * 1000).unref())]);
    if (timedOut) {
      await this.kill(id, osConstants.signals.SIGKILL).catch(() => {});
      await ended;
    }
    await this.emit('stop', id);
    return true;
  }

  /** Block until the container has exited; its exit code. */
  async wait(id: string): Promise<number> {
    // A started container has a watch until its exit is recorded and, with AutoRemove, its files
    // are gone: join it rather than read files that auto-removal may be deleting right now.
    const inflight = this.watched.get(id);
    if (inflight) return inflight;
    const r = await this.record(id);
    if (r.status === 'exited' && (await this.stored(id).then((s) => (s as unknown as { state?: unknown }).state !== undefined))) return r.exitCode ?? 0;
    if (r.status === 'running' || r.status === 'dead' || r.status === 'exited') return this.watch(id);
    return new Promise<number>((resolve) => {
      const list = this.waiters.get(id) ?? [];
      list.push(resolve);
      this.waiters.set(id, list);
    });
  }

  async remove(id: string, force: boolean): Promise<void> {
    const r = await this.record(id);
    if (r.status === 'running') {
      if (!force) throw new ApiError(409, `You cannot remove a running container ${id}. Stop the container before attempting removal or force remove`);
      const ended = this.watch(id);
      await this.kill(id, osConstants.signals.SIGKILL).catch(() => {});
      await ended;
      // with AutoRemove the watcher removed it already
      if (!(await fs.access(this.dir(id)).then(() => true, () => false))) return;
    } else if (r.status !== 'created') {
      await this.watched.get(id);
    }
    await this.discard(id, r.name);
  }

  /** Remove a container that does not run: its cgroup (if still there), state dir and name. */
  private async discard(id: string, name: string | undefined): Promise<void> {
    const stored = await this.stored(id).catch(() => undefined);
    const actor = this.actor(id, stored);
    if (stored) {
      const driver = await this.driver(stored.config.cgroupParent);
      await driver.open(id).destroy().catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'ENOENT') throw err;
      });
    }
    await removeContainerDirs(containerPaths(this.deps.stateRoot, id));
    if (name !== undefined) await releaseName(this.deps.stateRoot, name);
    this.watched.delete(id);
    this.events.container('destroy', actor);
  }

  async hostConfigOf(id: string): Promise<{ stored: StoredConfig }> {
    return { stored: await this.stored(id) };
  }

  logPath(id: string): string {
    return path.join(this.dir(id), LOG_FILE);
  }

  close(): void {
    this.closed = true;
  }
}

/** The HostConfig fields kept for inspect. */
const HOST_CONFIG_FIELDS = ['Memory', 'MemorySwap', 'MemoryReservation', 'NanoCpus', 'CpuPeriod', 'CpuQuota', 'CpuShares', 'CpusetCpus', 'CpusetMems', 'PidsLimit', 'Binds', 'ReadonlyRootfs', 'NetworkMode', 'CapAdd', 'CapDrop', 'AutoRemove', 'CgroupParent'];


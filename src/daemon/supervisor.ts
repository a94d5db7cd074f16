/**
 * The daemon's container backend: create, start, kill, stop, restart, pause, unpause, update, rename,
 * top, wait, remove, inspect and logs, and the supervision (restart policies with moby's back-off,
 * re-adoption after a daemon restart). Split as moby's daemon/ is, one step per module: create.ts,
 * start.ts, monitor.ts (follow a run and record its end), restart.ts (the back-off), kill-stop.ts,
 * pause.ts, update.ts, rename.ts, top.ts, remove.ts, prune.ts, adopt.ts, client-run.ts. This class
 * holds what they share (context.ts) and wires the steps that call each other. The state directory belongs to ContainerStore; what
 * lives only in memory, to one ContainerRuntime per container (runtime.ts).
 */
import { createCgroupDriver } from '../cgroups/index.js';
import type { Cgroup, CgroupDriver } from '../cgroups/types.js';
import { hostFacts } from '../container/config/host-facts.js';
import type { HostFacts, RunConfig } from '../container/config/run-flags.js';
import { NoSuchContainerError, readContainerRecord, resolveContainerId, type ContainerLookup, type ContainerRecord } from '../container/records.js';
import type { LauncherStatus } from '../container/status.js';
import type { TopResponse } from '../container/top.js';
import { ContainerStore, type StoredContainer } from '../container/store.js';
import { EventBus } from '../events.js';
import type { Logger } from '../log.js';
import { OomWatcher } from '../metrics/oom-watch.js';
import { loadSyscalls, type Syscalls } from '../sys/syscalls.js';
import { adopt } from './adopt.js';
import type { ContainerBackend } from './backend.js';
import { finishClientRun, prepareClientRun } from './client-run.js';
import { actorOf, type DaemonContext, type LaunchReason } from './context.js';
import { checkCreate, create } from './create.js';
import { ExitPoller } from './exit-poller.js';
import { ImageService } from './images.js';
import { changes, commit, type CommitOptions, exportRoot } from './changes.js';
import type { Readable } from 'node:stream';
import type { Change } from '../images/changes.js';
import { kill, restart, stop } from './kill-stop.js';
import { pause, unpause } from './pause.js';
import { nextExit, wait, waitRemoved, watch } from './monitor.js';
import { discard, remove } from './remove.js';
import { prune } from './prune.js';
import { rename } from './rename.js';
import { cancelRestart } from './restart.js';
import { RuntimeTable } from './runtime.js';
import { launch, start } from './start.js';
import { top } from './top.js';
import { update } from './update.js';

export interface SupervisorDeps {
  stateRoot: string;
  log: Logger;
  /** where lifecycle events go (GET /events); a private bus by default */
  events?: EventBus;
  /** pidfd_open and pidfd_send_signal (default: the real ones, loaded on first use) */
  syscalls?: Syscalls;
  /** follows OOM kills while containers run; one of its own by default */
  oomWatcher?: OomWatcher;
  /** registries a pull may reach over plain HTTP (--insecure-registry) */
  insecureRegistries?: readonly string[];
}

export class Supervisor implements DaemonContext, ContainerBackend {
  readonly store: ContainerStore;
  readonly log: Logger;
  readonly events: EventBus;
  readonly oom: OomWatcher;
  readonly exits = new ExitPoller();
  readonly runtimes = new RuntimeTable();
  readonly images: ImageService;
  closed = false;
  private readonly drivers = new Map<string, Promise<CgroupDriver>>();
  private facts: Promise<HostFacts> | undefined;
  private syscalls: Promise<Syscalls> | undefined;

  constructor(deps: SupervisorDeps) {
    this.store = new ContainerStore(deps.stateRoot);
    this.log = deps.log;
    this.events = deps.events ?? new EventBus();
    if (deps.syscalls) this.syscalls = Promise.resolve(deps.syscalls);
    this.oom = deps.oomWatcher ?? new OomWatcher({ log: deps.log });
    this.images = new ImageService({
      stateRoot: deps.stateRoot,
      log: deps.log,
      sys: () => this.sys(),
      events: this.events,
      ...(deps.insecureRegistries ? { insecureRegistries: deps.insecureRegistries } : {}),
    });
  }

  // --- what the steps share (DaemonContext) ----------------------------------------------------

  driver(parent: string | undefined): Promise<CgroupDriver> {
    const key = parent ?? '';
    let d = this.drivers.get(key);
    if (!d) {
      d = createCgroupDriver(parent === undefined ? {} : { parent });
      this.drivers.set(key, d);
    }
    return d;
  }

  hostFacts(): Promise<HostFacts> {
    this.facts ??= this.driver(undefined).then(hostFacts);
    return this.facts;
  }

  sys(): Promise<Syscalls> {
    this.syscalls ??= loadSyscalls();
    return this.syscalls;
  }

  /** Publish a container event with the container's name and image (also for exec's events). */
  async emit(action: string, id: string, attributes: Record<string, string | number | boolean | undefined> = {}): Promise<void> {
    const stored = await this.store.readConfig(id).catch(() => undefined);
    this.events.container(action, actorOf(id, stored), attributes);
  }

  async record(id: string): Promise<ContainerRecord> {
    // The monitor of the run these files can be about, taken before they are read: one set while
    // they were read belongs to a new run (a restart), which would be waited for to its end.
    const recording = this.runtimes.peek(id)?.monitor;
    let r = await readContainerRecord(this.store.root, id);
    // An `exit` file this daemon is recording right now: answer with the recorded end (OOM kill,
    // restart), not the bare exit file, as Docker answers only once its monitor handled the exit.
    if (r && recording && (r.status === 'exited' || r.status === 'dead') && (await this.store.readRunState(id).catch(() => undefined))?.status === 'running') {
      await recording.catch(() => {});
      r = await readContainerRecord(this.store.root, id);
    }
    if (!r) throw new NoSuchContainerError(id);
    // a running container that survived an OOM kill (a child was the victim) shows it, as in Docker
    if (r.status === 'running' && (this.oom.killCount(id) ?? 0) > 0) r.oomKilled = true;
    return r;
  }

  launch(id: string, why: LaunchReason): Promise<void> {
    return launch(this, id, why);
  }

  watch(id: string): Promise<number> {
    return watch(this, id);
  }

  kill(id: string, signal: number): Promise<void> {
    return kill(this, id, signal);
  }

  discard(id: string, name: string | undefined, known?: { stored?: StoredContainer; cgroupGone?: boolean }): Promise<void> {
    return discard(this, id, name, known);
  }

  // --- the backend the routes use ---------------------------------------------------------------

  resolve(ref: ContainerLookup): Promise<string> {
    return resolveContainerId(this.store.root, ref);
  }

  checkCreate(body: Record<string, unknown>, name: string | undefined): Promise<RunConfig> {
    return checkCreate(this, body, name);
  }

  create(body: Record<string, unknown>, name: string | undefined): Promise<{ id: string; warnings: string[] }> {
    return create(this, body, name);
  }

  start(id: string): Promise<'started' | 'running'> {
    return start(this, id);
  }

  stop(id: string, seconds?: number): Promise<boolean> {
    return stop(this, id, seconds);
  }

  restart(id: string, seconds?: number): Promise<void> {
    return restart(this, id, seconds);
  }

  pause(id: string): Promise<void> {
    return pause(this, id);
  }

  unpause(id: string): Promise<void> {
    return unpause(this, id);
  }

  update(id: string, body: Record<string, unknown>): Promise<string[]> {
    return update(this, id, body);
  }

  rename(id: string, newName: string): Promise<void> {
    return rename(this, id, newName);
  }

  top(id: string, psArgs: string | null): Promise<TopResponse> {
    return top(this, id, psArgs);
  }

  changes(id: string): Promise<Change[]> {
    return changes(this, id);
  }

  exportRoot(id: string): Promise<Readable> {
    return exportRoot(this, id);
  }

  commit(id: string, opts: CommitOptions): Promise<string> {
    return commit(this, id, opts);
  }

  wait(id: string): Promise<number> {
    return wait(this, id);
  }

  nextExit(id: string): Promise<number> {
    return nextExit(this, id);
  }

  waitRemoved(id: string): Promise<number> {
    return waitRemoved(this, id);
  }

  remove(id: string, force: boolean): Promise<void> {
    return remove(this, id, force);
  }

  prune(select: (r: ContainerRecord) => boolean): Promise<{ deleted: string[]; reclaimed: number }> {
    return prune(this, select);
  }

  adopt(): Promise<void> {
    return adopt(this);
  }

  prepareClientRun(config: RunConfig): Promise<{ id: string; spec: string }> {
    return prepareClientRun(this, config);
  }

  finishClientRun(id: string, statusLines: LauncherStatus[], launcherCode: number): Promise<{ exitCode: number; message: string }> {
    return finishClientRun(this, id, statusLines, launcherCode);
  }

  async hostConfigOf(id: string): Promise<{ stored: StoredContainer }> {
    return { stored: await this.store.readConfig(id) };
  }

  logPath(id: string): string {
    return this.store.file(id, 'log');
  }

  /** The container's cgroup, for exec (which puts its process there). */
  async cgroupOf(id: string): Promise<Cgroup> {
    const stored = await this.store.readConfig(id);
    return (await this.driver(stored.config.cgroupParent)).open(id);
  }

  /** Stop following and restarting (containers keep running; the next daemon adopts them). */
  close(): void {
    this.closed = true;
    this.exits.close();
    for (const rt of [...this.runtimes.all()]) rt.releaseLauncher?.();
    for (const id of [...this.runtimes.ids()]) cancelRestart(this, id);
    void this.oom.close();
  }
}

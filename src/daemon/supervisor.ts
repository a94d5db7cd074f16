/**
 * The container lifecycle in the daemon: create, start (a detached launcher that logs to
 * `<dir>/container.log`), kill, stop, restart, update, wait, remove, inspect and logs, and the
 * supervision: restart policies with moby's back-off, and re-adoption after a daemon restart.
 *
 * How the daemon learns that a container ended: one shared poll loop (exit-poller.ts) looks for
 * every launcher's `exit` state file every 50 ms and, once a second, checks that the launcher is
 * still alive through a pidfd, opened only after the launcher's start time matched `launcher.pid`
 * (so a reused PID is never mistaken for it). Polling, because a pidfd's readability needs an
 * event-loop hook that Node does not offer; it works the same for a launcher this daemon started
 * and one it re-adopted. The `exit` file is written only after
 * the log is complete, so a container whose `exit` exists has all its output logged. On the end,
 * the daemon takes the kernel's oom_kill counter from the OOM watcher's last re-read
 * (src/metrics/oom-watch.ts follows OOM kills while the container runs: one `oom` event per kill),
 * records the run's end in state.json
 * (container/run-state.ts), destroys the cgroup and asks the restart policy
 * (container/restart-policy.ts) whether to start it again after the back-off; otherwise, with
 * AutoRemove, it removes the container.
 *
 * A restart re-uses the container's writable layer, log file and launcher spec, and re-creates its
 * cgroup from the stored limits (config.json, which an update rewrites): the cgroup is removed at
 * every exit so that an exited container holds no kernel object.
 */
import fs from 'node:fs/promises';
import { constants as osConstants } from 'node:os';
import path from 'node:path';
import { createCgroupDriver } from '../cgroups/index.js';
import type { Cgroup, CgroupDriver, Resources } from '../cgroups/types.js';
import type { HostFacts, RunConfig } from '../container/config/run-flags.js';
import { hostFacts } from '../container/config/host-facts.js';
import { CgroupFileError, ConflictError, CorralError, InvalidArgumentError, InvalidParameterError } from '../errors.js';
import { removeContainerDirs } from '../isolate/rootfs.js';
import { startLauncher } from '../container/launcher.js';
import { LABELS_FILE, listContainerRecords, NoSuchContainerError, parseExitFile, parseRecordFile, readContainerRecord, resolveContainerId, type ContainerRecord } from '../container/records.js';
import { decideRestart, NO_RESTART, BACKOFF_INITIAL_MS, restartOnDaemonStart, restartPolicyFromJson, formatRestartPolicy, type RestartPolicy } from '../container/restart-policy.js';
import { parseRunState, readRunState, writeRunState, RUN_STATE_FILE, type RunState } from '../container/run-state.js';
import { isAlive, openVerified, signalVerified, type ProcessHandle } from '../container/pidfd.js';
import { loadSyscalls, type Syscalls } from '../sys/syscalls.js';
import { sharedPoller } from '../sys/fd-poller.js';
import { quarantineUnparsable } from '../state/quarantine.js';
import { resourcesFrom } from '../container/config/run-flags.js';
import { formatSizeRounded } from '../container/format.js';
import { mergeUpdate } from '../container/config/update.js';
import { HOST_CONFIG_FIELDS, unsupportedNamingFlag } from '../container/config/fields.js';
import { dockerFieldOf, inputFromBody, obj, runConfigFromBody } from '../container/config/body.js';
import { newContainerId } from '../container/ids.js';
import { writeFileAtomic } from '../state/atomic.js';
import { createContainer as createStored, launchFailure, oomKillMessage } from '../container/run.js';
import type { LauncherStatus } from '../container/status.js';
import { containerPaths, releaseName, writableLayerBytes, writeRecord } from '../container/store.js';
import { EventBus, type ContainerActor } from '../events.js';
import { ExitPoller } from './exit-poller.js';
import type { Logger } from '../log.js';
import { OomWatcher } from '../metrics/oom-watch.js';

export const LOG_FILE = 'container.log';

interface StoredConfig {
  config: RunConfig;
  created: string;
  name?: string;
  hostConfig: Record<string, unknown>;
}

/** The files a container's state is kept in, each with the parser that must accept it. */
const STATE_FILE_PARSERS: Record<string, (text: string, file: string) => unknown> = {
  'config.json': parseRecordFile,
  'hostconfig.json': (text) => {
    const v = JSON.parse(text) as unknown;
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error('not a JSON object');
    return v;
  },
  [RUN_STATE_FILE]: parseRunState,
};

/** The signals that end a run the user asked to end: Docker cancels restarts for the stop signal and SIGKILL. */
const STOPPING_SIGNALS = new Set([osConstants.signals.SIGTERM, osConstants.signals.SIGKILL]);

export interface SupervisorDeps {
  stateRoot: string;
  log: Logger;
  /** where lifecycle events go (GET /events); a private bus by default */
  events?: EventBus;
  /** pidfd_open and pidfd_send_signal (default: the real ones, loaded on first use) */
  syscalls?: Syscalls;
  /** follows OOM kills while containers run; one of its own by default */
  oomWatcher?: OomWatcher;
}

export class Supervisor {
  private readonly drivers = new Map<string, Promise<CgroupDriver>>();
  private readonly watched = new Map<string, Promise<number>>();
  private readonly waiters = new Map<string, ((code: number) => void)[]>();
  /** one poll loop for every container's end (exit-poller.ts) */
  private readonly exits = new ExitPoller();
  /** per followed container, what gives its launcher's pidfd back (its epoll registration and the fd) */
  private readonly launcherFds = new Map<string, () => void>();
  /** containers whose launcher a client runs (native/front.c): whether an oom event was seen */
  private readonly clientRuns = new Map<string, { oom: boolean; started: boolean; actor: ContainerActor; stop: () => void }>();
  /** restarts waiting out their back-off */
  private readonly pendingRestarts = new Map<string, NodeJS.Timeout>();
  /** the back-off in force per container, ms (moby's restart manager timeout; in memory, as moby's) */
  private readonly backoff = new Map<string, number>();
  /** containers whose restarts a user stop/kill cancelled until their next start (moby's Cancel) */
  private readonly canceled = new Set<string>();
  /** launches in progress, so that two starts of one container never race */
  private readonly launching = new Map<string, Promise<void>>();
  private facts: Promise<HostFacts> | undefined;
  private syscalls: Promise<Syscalls> | undefined;
  private closed = false;
  readonly events: EventBus;
  private readonly oom: OomWatcher;

  constructor(private readonly deps: SupervisorDeps) {
    this.events = deps.events ?? new EventBus();
    if (deps.syscalls) this.syscalls = Promise.resolve(deps.syscalls);
    this.oom = deps.oomWatcher ?? new OomWatcher({ log: deps.log });
  }

  /** The event actor of a stored container: its id, name and image (the rootfs, or "host"). */
  private actor(id: string, stored: StoredConfig | undefined): ContainerActor {
    return { id, image: stored?.config.isolation.rootfs ?? 'host', ...(stored?.name !== undefined ? { name: stored.name } : {}) };
  }

  /** Publish a container event with the container's name and image (also for exec's events). */
  async emit(action: string, id: string, attributes: Record<string, string | number | boolean | undefined> = {}): Promise<void> {
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

  /** the host facts flag validation needs (CPUs, parent's cpuset, ...), read once */
  hostFacts(): Promise<HostFacts> {
    this.facts ??= this.driver(undefined).then(hostFacts);
    return this.facts;
  }

  private sys(): Promise<Syscalls> {
    this.syscalls ??= loadSyscalls();
    return this.syscalls;
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

  private policyOf(stored: StoredConfig): RestartPolicy {
    return stored.config.restartPolicy ?? NO_RESTART;
  }

  private async runState(id: string): Promise<RunState | undefined> {
    return readRunState(this.dir(id));
  }

  async resolve(ref: { text: string; idPrefix?: string; name?: string }): Promise<string> {
    return resolveContainerId(this.deps.stateRoot, ref);
  }

  /** A `corral run` flag's error as a 400 naming the Docker field the client sent. */
  private fieldError(err: unknown): unknown {
    if (err instanceof InvalidArgumentError) {
      const field = dockerFieldOf(err.flag);
      return new InvalidParameterError(`${field}: ${err.message}`);
    }
    return unsupportedNamingFlag(err, dockerFieldOf);
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
      throw this.fieldError(err);
    }
    const driver = await this.driver(config.cgroupParent);
    const id = newContainerId();
    const logPath = path.join(this.dir(id), LOG_FILE);
    await createStored(
      config,
      { stateRoot: this.deps.stateRoot, driver, stderr: process.stderr, id },
      { header: { detach: true, log: { path: logPath, maxSize: config.log?.maxSize ?? 0, maxFiles: config.log?.maxFiles ?? 1 } } },
    );
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
    let r = await readContainerRecord(this.deps.stateRoot, id);
    // An `exit` file this daemon is recording right now: answer with the recorded end (OOM kill,
    // restart), not the bare exit file, as Docker answers only once its monitor handled the exit.
    const recording = this.watched.get(id);
    if (r && recording && (r.status === 'exited' || r.status === 'dead') && (await this.runState(id).catch(() => undefined))?.status === 'running') {
      await recording.catch(() => {});
      r = await readContainerRecord(this.deps.stateRoot, id);
    }
    if (!r) throw new NoSuchContainerError(id);
    // a running container that survived an OOM kill (a child was the victim) shows it, as in Docker
    if (r.status === 'running' && (this.oom.killCount(id) ?? 0) > 0) r.oomKilled = true;
    return r;
  }

  /** Follow the container's OOM kills: one `oom` event per kill, as the kernel's counter moves. */
  private async watchOom(id: string, stored: StoredConfig, baseline: 'zero' | 'current'): Promise<void> {
    const actor = this.actor(id, stored);
    const cgroup = (await this.driver(stored.config.cgroupParent)).open(id);
    this.oom.watch(id, cgroup, (kill) => this.events.container('oom', actor, kill.attributes), { baseline });
  }

  /**
   * Start a container: 'started', or 'running' when it already runs or waits to restart (304, as
   * Docker: a restarting container counts as running). An exited container starts again, with its
   * restart count reset and restarts enabled again (moby's start resets the restart manager).
   */
  async start(id: string): Promise<'started' | 'running'> {
    const r = await this.record(id);
    if (r.status === 'running' || r.status === 'restarting') return 'running';
    // an exit being recorded (and maybe auto-removed) right now: let that finish first
    if (r.status !== 'created') await this.watched.get(id);
    await this.launch(id, 'user');
    return 'started';
  }

  /**
   * Launch the container's launcher again (or for the first time). `user`: a start by the user,
   * which resets the restart count and the manual-stop mark; `policy`: a restart by the policy;
   * `daemon`: a restart at daemon start. Serialised per container.
   */
  private launch(id: string, why: 'user' | 'policy' | 'daemon'): Promise<void> {
    const previous = this.launching.get(id) ?? Promise.resolve();
    const next = previous.catch(() => {}).then(() => this.launchNow(id, why));
    this.launching.set(id, next);
    void next
      .finally(() => {
        if (this.launching.get(id) === next) this.launching.delete(id);
      })
      .catch(() => {});
    return next;
  }

  private async launchNow(id: string, why: 'user' | 'policy' | 'daemon'): Promise<void> {
    const r = await this.record(id);
    if (why === 'user' && r.status === 'running') return;
    const stored = await this.stored(id);
    const dir = this.dir(id);
    const prev = await this.runState(id);
    if (why === 'user') {
      this.canceled.delete(id);
      this.backoff.delete(id);
    }
    if (r.status !== 'created') {
      // the cgroup went with the last run: make it again from the stored (maybe updated) limits
      const driver = await this.driver(stored.config.cgroupParent);
      await driver.open(id).destroy();
      await driver.create(id, stored.config.resources);
      for (const f of ['exit', 'pid', 'launcher.pid']) await fs.rm(path.join(dir, f), { force: true });
    }
    const launch = startLauncher(path.join(dir, 'launch.spec'), 'ignore');
    const outcome = await launch.launched.catch((err: Error) => {
      throw new CorralError('ESTARTFAILED', `start launcher: ${err.message}`);
    });
    await launch.ended;
    const state: RunState = {
      status: 'running',
      restartCount: why === 'user' ? 0 : (prev?.restartCount ?? 0),
      manuallyStopped: false,
      startedAt: new Date().toISOString(),
      ...(prev?.lastExit ? { lastExit: prev.lastExit } : {}),
    };
    await writeRunState(dir, state);
    this.watched.delete(id);
    // a fresh cgroup each run: its counters start at 0
    await this.watchOom(id, stored, 'zero');
    const ended = this.watch(id);
    if (outcome.kind === 'failed') {
      const failure = launchFailure(outcome.error, stored.config.isolation.command[0] ?? '');
      await ended;
      // 125: corral failed (a 500); 126/127: the command cannot run (a 400, as Docker's)
      throw failure.exitCode === 125 ? new CorralError('ESTARTFAILED', failure.message) : new InvalidParameterError(failure.message);
    }
    this.events.container('start', this.actor(id, stored));
  }

  /** Follow a started container until its `exit` file appears (or its launcher is gone), then record its end. */
  watch(id: string): Promise<number> {
    let w = this.watched.get(id);
    if (w) return w;
    w = this.follow(id);
    this.watched.set(id, w);
    w.catch((err: Error) => this.deps.log.error('container watch failed', { id, err }));
    return w;
  }

  /** The launcher's `exit` file: the exit code, the signal and the time, or undefined while there is none. */
  private async readExit(dir: string): Promise<{ exitCode: number; signal?: number; setupFailed: boolean; time?: string } | undefined> {
    let text: string;
    try {
      text = await fs.readFile(path.join(dir, 'exit'), 'utf8');
    } catch {
      return undefined;
    }
    const exit = parseExitFile(text);
    if (!exit) return undefined;
    const signal = /^signaled (\d+)/.exec(text)?.[1];
    const time = / (\d{4}-\d\d-\d\dT[\d:.]+Z)\n?$/.exec(text)?.[1];
    return { exitCode: exit.exitCode, setupFailed: text.startsWith('failed '), ...(signal ? { signal: Number(signal) } : {}), ...(time ? { time } : {}) };
  }

  private async follow(id: string): Promise<number> {
    const dir = this.dir(id);
    const sys = await this.sys();
    // the launcher as a pidfd, opened only once its start time matched `launcher.pid` (a reused PID
    // is never taken for it). In the shared epoll set it says when the launcher ends; the poll loop
    // also asks it about once a second, as a backstop, and opens it there if `launcher.pid` was not
    // written yet.
    const poller = sharedPoller(sys, (err) => this.deps.log.warn('fd poller', { err }));
    let launcher: ProcessHandle | undefined;
    const alive = () => {
      if (!launcher && !this.closed) {
        launcher = openVerified(path.join(dir, 'launcher.pid'), sys);
        if (launcher) {
          poller.register(launcher.fd, () => this.exits.launcherEnded(dir), 'pidfd');
          this.exits.notified(dir);
        }
      }
      return launcher !== undefined && isAlive(launcher, sys);
    };
    // given back when the container ended, or by close(): a pidfd left in the epoll set would keep
    // the daemon's process alive after it stopped
    const release = () => {
      if (this.launcherFds.get(id) === release) this.launcherFds.delete(id);
      if (!launcher) return;
      poller.unregister(launcher.fd);
      sys.close(launcher.fd);
      launcher = undefined;
    };
    this.launcherFds.set(id, release);
    let exit: Awaited<ReturnType<Supervisor['readExit']>>;
    try {
      // one loop serves every container (exit-poller.ts); 'launcher-gone': SIGKILLed, no `exit`
      const ended = this.exits.ended(dir, alive);
      alive();
      if ((await ended) === 'exit-file') exit = await this.readExit(dir);
    } finally {
      release();
    }
    return this.recordEnd(id, exit);
  }

  /** Record how a run ended, clean its cgroup up, and restart it, remove it or leave it exited. */
  private async recordEnd(id: string, exit: Awaited<ReturnType<Supervisor['readExit']>>): Promise<number> {
    const dir = this.dir(id);
    const stored = await this.stored(id);
    const prev = await this.runState(id).catch(() => undefined);
    const driver = await this.driver(stored.config.cgroupParent);
    const cgroup = driver.open(id);
    // the watcher's last re-read emits the `oom` events of kills not yet reported, before the die below
    const oom = ((await this.oom.unwatch(id)) ?? (await cgroup.oomKillCount().catch(() => 0)) ?? 0) > 0;
    let code = exit?.exitCode ?? 137;
    if (oom && code === 128 + 9) code = 137;
    await cgroup.destroy().catch((err: Error) => this.deps.log.warn('cannot remove the cgroup', { id, err }));
    const finishedAt = exit?.time && !Number.isNaN(new Date(exit.time).getTime()) ? exit.time : new Date().toISOString();
    const startedAt = prev?.startedAt;
    const policy = this.policyOf(stored);
    const manuallyStopped = prev?.manuallyStopped ?? false;
    const restartCount = prev?.restartCount ?? 0;
    // a run that never started (setup failed) is not restarted: it would fail again at once
    const decision =
      exit?.setupFailed === true
        ? { restart: false, backoffMs: 0 }
        : decideRestart({
            policy,
            exitCode: code,
            manuallyStopped,
            canceled: this.canceled.has(id) || this.closed,
            restartCount,
            ranMs: startedAt ? new Date(finishedAt).getTime() - new Date(startedAt).getTime() : 0,
            backoffMs: this.backoff.get(id) ?? 0,
          });
    this.backoff.set(id, decision.backoffMs);
    const lastExit = { exitCode: code, oomKilled: oom, finishedAt, ...(exit?.signal !== undefined ? { signal: exit.signal } : {}) };
    // with AutoRemove and no restart the container goes at once: its state is not worth two fsyncs
    if (decision.restart || !stored.config.rm)
      await writeRunState(dir, {
        status: decision.restart ? 'restarting' : 'exited',
        restartCount: restartCount + (decision.restart ? 1 : 0),
        manuallyStopped,
        ...(startedAt ? { startedAt } : {}),
        lastExit,
      });
    this.deps.log.info('container exited', { id, exitCode: code, oomKilled: oom, ...(decision.restart ? { restartInMs: decision.backoffMs, restartCount: restartCount + 1 } : {}) });
    const actor = this.actor(id, stored);
    this.events.container('die', actor, { exitCode: code });
    for (const resolve of this.waiters.get(id) ?? []) resolve(code);
    this.waiters.delete(id);
    if (decision.restart) this.scheduleRestart(id, decision.backoffMs);
    else if (stored.config.rm) await this.discard(id, stored.name, { stored, cgroupGone: true }).catch((err: Error) => this.deps.log.warn('auto-remove failed', { id, err }));
    return code;
  }

  /** Start the container again after `delayMs`, unless a user stop, a removal or the daemon's end comes first. */
  private scheduleRestart(id: string, delayMs: number): void {
    this.cancelRestart(id);
    // Measured on the monotonic clock, sub-millisecond: a libuv timer counts from the event loop's
    // cached millisecond time, so it can fire a little before `delayMs` has really passed; the
    // remainder is waited out, so that no restart ever comes before its back-off.
    const scheduledAt = process.hrtime.bigint();
    const waitedMs = () => Number(process.hrtime.bigint() - scheduledAt) / 1e6;
    const arm = (ms: number) => {
      const timer = setTimeout(fire, ms);
      timer.unref();
      this.pendingRestarts.set(id, timer);
    };
    const fire = () => {
      const waited = waitedMs();
      if (waited < delayMs) return arm(Math.ceil(delayMs - waited));
      this.pendingRestarts.delete(id);
      if (this.closed) return;
      this.deps.log.info('restarting container', { id, backoffMs: delayMs, waitedMs: Math.round(waited * 100) / 100 });
      this.launch(id, 'policy').catch(async (err: Error) => {
        // moby: a restart that fails leaves the container stopped
        this.deps.log.error('restart failed', { id, err: err.message });
        const st = await this.runState(id).catch(() => undefined);
        if (st?.status === 'restarting') await writeRunState(this.dir(id), { ...st, status: 'exited' }).catch(() => {});
      });
    };
    arm(delayMs);
  }

  private cancelRestart(id: string): boolean {
    const timer = this.pendingRestarts.get(id);
    if (!timer) return false;
    clearTimeout(timer);
    this.pendingRestarts.delete(id);
    return true;
  }

  /**
   * A user stop or kill of a container waiting for its restart: the restart is cancelled and it
   * stays exited (moby: ExitOnNext on a restarting container).
   */
  private async stopRestarting(id: string): Promise<void> {
    this.cancelRestart(id);
    this.canceled.add(id);
    const st = await this.runState(id);
    if (st) await writeRunState(this.dir(id), { ...st, status: 'exited', manuallyStopped: true });
  }

  /** Remember that the user stopped it (persisted: unless-stopped stays stopped across daemon restarts). */
  private async markManuallyStopped(id: string, cancel: boolean): Promise<void> {
    if (cancel) this.canceled.add(id);
    const st = await this.runState(id).catch(() => undefined);
    if (st && !st.manuallyStopped) await writeRunState(this.dir(id), { ...st, manuallyStopped: true });
  }

  /**
   * At daemon start: move corrupt state files aside, then follow every container that was running
   * (one that exited meanwhile gets its recorded exit and its restart policy), resume the restarts
   * that were waiting, and start the exited containers their policy brings back on a daemon start.
   */
  async adopt(): Promise<void> {
    let entries: string[] = [];
    try {
      entries = await fs.readdir(path.join(this.deps.stateRoot, 'containers'));
    } catch {
      return;
    }
    for (const id of entries) {
      if (!/^[0-9a-f]{64}$/.test(id)) continue;
      try {
        await this.adoptOne(id);
      } catch (err) {
        this.deps.log.warn('cannot adopt container', { id, error: (err as Error).message });
      }
    }
  }

  private async adoptOne(id: string): Promise<void> {
    const dir = this.dir(id);
    for (const q of await quarantineUnparsable(dir, STATE_FILE_PARSERS)) {
      this.deps.log.warn('corrupt state file moved aside', { id, file: q.file, movedTo: q.movedTo, error: q.error });
    }
    const r = await readContainerRecord(this.deps.stateRoot, id);
    if (!r) return;
    const stored = await this.stored(id);
    const run = await this.runState(id);
    const legacyEnded = (stored as unknown as { state?: unknown }).state !== undefined;
    if (
      run?.status === 'running' ||
      (!run &&
        !legacyEnded &&
        (await fs.access(path.join(dir, 'launcher.pid')).then(
          () => true,
          () => false,
        )))
    ) {
      this.deps.log.info('following a container started before this daemon', { id });
      // kills before this daemon ran were nobody's to report: count from what the kernel says now
      await this.watchOom(id, stored, 'current');
      this.watch(id);
    } else if (run?.status === 'restarting') {
      this.deps.log.info('resuming a restart', { id });
      this.backoff.set(id, BACKOFF_INITIAL_MS);
      this.scheduleRestart(id, BACKOFF_INITIAL_MS);
    } else if (
      run?.status === 'exited' &&
      run.lastExit &&
      restartOnDaemonStart(this.policyOf(stored), { exitCode: run.lastExit.exitCode, manuallyStopped: run.manuallyStopped, restartCount: run.restartCount })
    ) {
      this.deps.log.info('starting a container by its restart policy', { id, policy: formatRestartPolicy(this.policyOf(stored)) });
      this.launch(id, 'daemon').catch((err: Error) => this.deps.log.error('restart at daemon start failed', { id, err: err.message }));
    }
  }

  async kill(id: string, signal: number): Promise<void> {
    const r = await this.record(id);
    if (r.status === 'restarting') {
      // nothing runs: a stopping signal cancels the pending restart (moby), any other is a no-op
      if (STOPPING_SIGNALS.has(signal)) await this.stopRestarting(id);
      await this.emit('kill', id, { signal });
      return;
    }
    if (r.status !== 'running' || r.pid === undefined) throw new ConflictError(`Container ${id} is not running`);
    await this.markManuallyStopped(id, STOPPING_SIGNALS.has(signal));
    // To the workload directly: as pid 1 of its namespace it gets only the signals it handles (and
    // SIGKILL), as under Docker; through the launcher SIGKILL could not be forwarded.
    if (!(await signalVerified(path.join(this.dir(id), 'pid'), signal, await this.sys()))) throw new ConflictError(`Container ${id} is not running`);
    await this.emit('kill', id, { signal });
  }

  /** SIGTERM, then SIGKILL after `seconds`; false when it was not running (304). Cancels restarts until the next start. */
  async stop(id: string, seconds: number): Promise<boolean> {
    const r = await this.record(id);
    if (r.status === 'restarting') {
      await this.stopRestarting(id);
      await this.emit('stop', id);
      return true;
    }
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

  /** Docker's restart: stop (SIGTERM, SIGKILL after `seconds`) when running, then start; emits `restart`. */
  async restart(id: string, seconds: number): Promise<void> {
    await this.stop(id, seconds);
    await this.launch(id, 'user');
    await this.emit('restart', id);
  }

  /**
   * Docker's update: the body's limits merged into the stored ones, validated as on create, applied
   * to the cgroup when it exists (a running or created container), then stored for inspect and the
   * next restart. Nothing changes when validation or the kernel refuses.
   */
  async update(id: string, body: Record<string, unknown>): Promise<string[]> {
    await this.record(id);
    const stored = await this.stored(id);
    const merged = mergeUpdate(stored.hostConfig, body);
    const input = inputFromBody({ HostConfig: merged.hostConfig }, undefined);
    let resources: Resources;
    let restartPolicy = stored.config.restartPolicy;
    try {
      resources = resourcesFrom(input, await this.hostFacts());
      if (merged.restartPolicy !== undefined) {
        restartPolicy = restartPolicyFromJson(merged.restartPolicy) ?? NO_RESTART;
        if (restartPolicy.name !== 'no' && stored.config.rm) {
          throw new InvalidParameterError('HostConfig.RestartPolicy: restart policy cannot be updated because AutoRemove is enabled for the container');
        }
      }
    } catch (err) {
      throw this.fieldError(err);
    }
    const driver = await this.driver(stored.config.cgroupParent);
    await driver.plan(resources).catch((err: unknown) => {
      throw this.fieldError(err);
    });
    if ((await driver.list()).includes(id)) {
      await this.applyLive(id, driver, resources, stored.config.resources);
      // v1: the OOM snapshot's usage threshold sits under the limit: move it with the limit
      if (resources.memory?.max !== stored.config.resources.memory?.max) await this.oom.limitChanged(id);
    }
    const config: RunConfig = { ...stored.config, resources };
    if (restartPolicy !== undefined) config.restartPolicy = restartPolicy;
    const file = JSON.parse(await fs.readFile(path.join(this.dir(id), 'config.json'), 'utf8')) as Record<string, unknown>;
    await writeRecord(containerPaths(this.deps.stateRoot, id), { ...file, config });
    const hostConfig: Record<string, unknown> = { ...merged.hostConfig, ...(merged.restartPolicy !== undefined ? { RestartPolicy: merged.restartPolicy } : {}) };
    await writeFileAtomic(path.join(this.dir(id), 'hostconfig.json'), JSON.stringify(hostConfig) + '\n');
    await this.emit('update', id, Object.fromEntries(merged.changed.map((f) => [f, JSON.stringify(hostConfig[f])])));
    return [];
  }

  /**
   * Apply new limits to a live cgroup. A memory limit below what the container uses is refused as
   * the kernel refuses it on v1 (EBUSY once reclaim fails); on v2 the kernel would OOM-kill instead,
   * so the working set (memory.current - inactive_file) is checked first. On any failure the old
   * limits are written back, so a half-applied update never stays.
   */
  private async applyLive(id: string, driver: CgroupDriver, resources: Resources, previous: Resources): Promise<void> {
    const cgroup = driver.open(id);
    const max = resources.memory?.max;
    if (cgroup.mode === 'v2' && typeof max === 'number') {
      const mem = (await cgroup.stats()).memory;
      const used = mem?.current === undefined ? undefined : mem.current - (mem.stat?.inactive_file ?? 0);
      if (used !== undefined && max < used) throw memoryBusy(id, max, used, `${cgroup.dir}/memory.max`);
    }
    try {
      await cgroup.apply(resources);
    } catch (err) {
      await cgroup.apply(previous).catch((e: Error) => this.deps.log.warn('cannot restore the limits after a failed update', { id, error: e.message }));
      if (err instanceof CgroupFileError && err.errno === 'EBUSY' && typeof max === 'number') {
        const usage = (await cgroup.stats().catch(() => undefined))?.memory?.current;
        throw memoryBusy(id, max, usage, err.path);
      }
      throw err;
    }
  }

  /** Block until the container has exited; its exit code. */
  async wait(id: string): Promise<number> {
    // A started container has a watch until its exit is recorded and, with AutoRemove, its files
    // are gone: join it rather than read files that auto-removal may be deleting right now.
    const inflight = this.watched.get(id);
    if (inflight) return inflight;
    const r = await this.record(id);
    if (r.status === 'exited' || r.status === 'restarting') {
      // recorded (by this daemon in state.json, or by a foreground run in config.json), not just exited
      const run = await this.runState(id);
      const legacyEnded = !run && (await this.stored(id).then((s) => (s as unknown as { state?: unknown }).state !== undefined));
      if ((run && run.status !== 'running') || legacyEnded) return r.exitCode ?? 0;
    }
    if (r.status === 'running' || r.status === 'dead' || r.status === 'exited') return this.watch(id);
    return new Promise<number>((resolve) => {
      const list = this.waiters.get(id) ?? [];
      list.push(resolve);
      this.waiters.set(id, list);
    });
  }

  async remove(id: string, force: boolean): Promise<void> {
    const r = await this.record(id);
    if (r.status === 'restarting') {
      if (!force) throw new ConflictError(`You cannot remove a restarting container ${id}. Stop the container before attempting removal or force remove`);
      this.cancelRestart(id);
      await this.launching.get(id)?.catch(() => {});
      const now = await this.record(id);
      if (now.status === 'running') return this.remove(id, true);
    } else if (r.status === 'running') {
      if (!force) throw new ConflictError(`You cannot remove a running container ${id}. Stop the container before attempting removal or force remove`);
      this.canceled.add(id);
      const ended = this.watch(id);
      await this.kill(id, osConstants.signals.SIGKILL).catch(() => {});
      await ended;
      // with AutoRemove the watcher removed it already
      if (
        !(await fs.access(this.dir(id)).then(
          () => true,
          () => false,
        ))
      )
        return;
    } else if (r.status !== 'created') {
      await this.watched.get(id);
    }
    await this.discard(id, r.name);
  }

  /**
   * Docker's container prune: every container that does not run (created, exited, dead) and that
   * `select` keeps is removed; one that started meanwhile, or went, is left out. Returns the removed
   * ids and the bytes of their writable layers.
   */
  async prune(select: (r: ContainerRecord) => boolean): Promise<{ deleted: string[]; reclaimed: number }> {
    const { records } = await listContainerRecords(this.deps.stateRoot);
    const deleted: string[] = [];
    let reclaimed = 0;
    for (const r of records) {
      if (r.status === 'running' || r.status === 'restarting' || !select(r)) continue;
      const bytes = await writableLayerBytes(containerPaths(this.deps.stateRoot, r.id));
      try {
        await this.remove(r.id, false);
      } catch (err) {
        if (err instanceof ConflictError || err instanceof NoSuchContainerError) continue;
        throw err;
      }
      deleted.push(r.id);
      reclaimed += bytes;
    }
    return { deleted, reclaimed };
  }

  /** Remove a container that does not run: its cgroup (if still there), state dir and name. */
  private async discard(id: string, name: string | undefined, known: { stored?: StoredConfig; cgroupGone?: boolean } = {}): Promise<void> {
    this.cancelRestart(id);
    const stored = known.stored ?? (await this.stored(id).catch(() => undefined));
    const actor = this.actor(id, stored);
    if (stored && !known.cgroupGone) {
      const driver = await this.driver(stored.config.cgroupParent);
      await driver
        .open(id)
        .destroy()
        .catch((err: NodeJS.ErrnoException) => {
          if (err.code !== 'ENOENT') throw err;
        });
    }
    await removeContainerDirs(containerPaths(this.deps.stateRoot, id));
    if (name !== undefined) await releaseName(this.deps.stateRoot, name);
    this.watched.delete(id);
    this.backoff.delete(id);
    this.canceled.delete(id);
    this.events.container('destroy', actor);
  }

  /**
   * `corral run` through the fast front (native/front.c): create the container from the CLI's own
   * flags with a spec whose launcher stays in the foreground of the client, which runs it.
   * The exit is followed as soon as the launcher exists, so that a client that dies does not leave
   * the container unwatched.
   */
  async prepareClientRun(config: RunConfig): Promise<{ id: string; spec: string }> {
    const driver = await this.driver(config.cgroupParent);
    const id = newContainerId();
    const created = await createStored(config, { stateRoot: this.deps.stateRoot, driver, stderr: process.stderr, id });
    const actor: ContainerActor = { id, image: config.isolation.rootfs ?? 'host', ...(config.name !== undefined ? { name: config.name } : {}) };
    const seen = { oom: false, started: false, actor, stop: () => {} };
    seen.stop = this.events.subscribe((e) => {
      if (e.Actor.ID === id && e.Action === 'oom') seen.oom = true;
    });
    this.clientRuns.set(id, seen);
    await this.watchOom(id, { config, created: created.created, hostConfig: {}, ...(config.name !== undefined ? { name: config.name } : {}) }, 'zero');
    this.events.container('create', actor);
    const launched = setInterval(() => {
      if (this.watched.has(id) || this.closed) return clearInterval(launched);
      fs.access(path.join(this.dir(id), 'launcher.pid')).then(
        () => {
          clearInterval(launched);
          this.followClientRun(id);
        },
        () => fs.access(this.dir(id)).catch(() => clearInterval(launched)),
      );
    }, 1000);
    launched.unref();
    return { id, spec: created.paths.spec };
  }

  /**
   * The client's launcher ended: record the exit, clean up as the stand-alone run does, and give the
   * exit code and the message to print (a setup failure's, or the OOM kill's with the limit).
   */
  async finishClientRun(id: string, statusLines: LauncherStatus[], launcherCode: number): Promise<{ exitCode: number; message: string }> {
    const run = this.clientRuns.get(id);
    if (!run) throw new ConflictError(`container ${id.slice(0, 12)} was not prepared for a client run by this daemon`);
    const stored = await this.stored(id);
    const error = statusLines.find((l): l is LauncherStatus & { kind: 'error' } => l.kind === 'error');
    const exited = statusLines.find((l) => l.kind === 'exit');
    try {
      if (error || !exited) {
        // never started: like the stand-alone run, a failed start leaves nothing
        await this.discard(id, stored.name);
        if (error) {
          const failure = launchFailure(error, stored.config.isolation.command[0] ?? '');
          return { exitCode: failure.exitCode, message: failure.message };
        }
        return { exitCode: launcherCode === 0 ? 125 : launcherCode, message: `the launcher ended without reporting the workload's exit (code ${launcherCode})` };
      }
      this.followClientRun(id);
      this.exits.poke(this.dir(id));
      const code = await this.watch(id);
      const limit = stored.config.resources.memory?.max;
      const message = run.oom ? oomKillMessage(limit) : '';
      return { exitCode: code, message };
    } finally {
      run.stop();
      this.clientRuns.delete(id);
    }
  }

  /** The client's launcher is running (or has run): say so once and follow it to its end. */
  private followClientRun(id: string): void {
    const run = this.clientRuns.get(id);
    if (run && !run.started) {
      run.started = true;
      this.events.container('start', run.actor);
    }
    this.watch(id);
  }

  async hostConfigOf(id: string): Promise<{ stored: StoredConfig }> {
    return { stored: await this.stored(id) };
  }

  logPath(id: string): string {
    return path.join(this.dir(id), LOG_FILE);
  }

  /** The container's cgroup, for exec (which puts its process there). */
  async cgroupOf(id: string): Promise<Cgroup> {
    const stored = await this.stored(id);
    return (await this.driver(stored.config.cgroupParent)).open(id);
  }

  /** Stop following and restarting (containers keep running; the next daemon adopts them). */
  close(): void {
    this.closed = true;
    this.exits.close();
    for (const release of [...this.launcherFds.values()]) release();
    for (const id of [...this.pendingRestarts.keys()]) this.cancelRestart(id);
    void this.oom.close();
  }
}

function memoryBusy(id: string, max: number, used: number | undefined, file: string): ConflictError {
  const usage = used === undefined ? '' : ` (it uses ${formatSizeRounded(used)})`;
  return new ConflictError(
    `cannot update container ${id.slice(0, 12)}: the memory limit ${formatSizeRounded(max)} is below what the container uses now${usage} and the kernel could not reclaim enough (${file}: EBUSY)`,
  );
}

/**
 * The daemon's one sampler: every interval it reads, for each running container, the cgroup through the
 * driver's Cgroup.stats() and the network counters of the container's network namespace
 * (/proc/<pid>/net/dev), plus the host's /proc/stat total and online CPUs once per tick, and keeps the
 * latest two samples per container. The stats API, `corral stats` and the Prometheus exporter answer
 * from that cache at once.
 *
 * Cost: one timer for all containers; every file is read synchronously through an OpenFileCgroupFs
 * (kept descriptors, one pread each: see open-files.ts) by each container's CgroupStatsReader (paths
 * joined once; the limits read at start and after an `update` event, as they change only through
 * corral), so a tick is a run of synchronous reads with no promise per container, split into chunks
 * so that API requests are served between them. A chunk's activity counters are read in one call,
 * and so is each full reading (file-batch.ts; natively with native/libcorral-sample.so once
 * start() has loaded it), and parsed from their bytes (parse-bytes.ts). The sampler measures its
 * own CPU time (process.cpuUsage around each chunk) and exports it (corral_sampler_cpu_seconds_total).
 *
 * Which containers: those of the state directory at start(), then whatever the event bus says (create,
 * start, update, restart, die, destroy), and every 30 ticks a look for ids the bus did not announce. A container whose cgroup is already gone when it is read
 * (it is ending; its `die` is on the way) is skipped without counting errors.
 */
import fs from 'node:fs';
import path from 'node:path';
import { createCgroupDriver } from '../cgroups/index.js';
import { keptFilesBudget, OpenFileCgroupFs } from '../cgroups/open-files.js';
import { parseCpuList } from '../cgroups/parse.js';
import type { ActivityReading, Cgroup, CgroupDriver, CgroupStats, CgroupStatsReader } from '../cgroups/types.js';
import { sameActivity } from '../cgroups/collect.js';
import { FileBatch, BatchFiles, fullReadBatch, preadsWithNode } from '../cgroups/file-batch.js';
import { containerFile } from '../container/layout.js';
import { listContainerRecords, parsePidFile } from '../container/records.js';
import type { DockerEvent, EventBus } from '../events.js';
import type { Logger } from '../log.js';
import { loadPreads, type Preads } from '../sys/preads.js';
import { readManuallyStopped, readTracked } from './containers.js';
import { isReportedInterface, parseNetDev, parseOpenFilesLimit, parseProcStatCpuTotal, type NetDevCounters } from './procfs.js';
import type { ContainerSample, TrackedContainer } from './sample.js';

/** The default interval: Docker's stats collector also samples once a second. */
export const DEFAULT_SAMPLE_INTERVAL_MS = 1000;
/**
 * The default for how long a quiet container (CPU and memory counters unchanged since its last reading)
 * goes without a full reading. cAdvisor's dynamic housekeeping backs off to 60 s for containers whose
 * stats do not change; this checks the two moving counters every interval instead, so that any
 * activity is seen at the next tick, and reads the rest (memory.stat, I/O, network...) at least this
 * often, for what moves without the container's tasks: page ageing, writeback, packets received.
 */
export const DEFAULT_IDLE_SAMPLE_INTERVAL_MS = 10_000;
/**
 * Where in each idle interval a container's own full reading falls: containers started together would
 * otherwise all be read in full at the same tick, every idle interval, instead of a share every tick.
 * From the id (random hex), so the same container keeps its place.
 */
export function idlePhase(id: string, idleIntervalMs: number): number {
  return parseInt(id.slice(0, 8), 16) % idleIntervalMs || 0;
}
/** Containers read between two yields to the event loop. */
const CHUNK = 64;
/** Every how many ticks the state directory is looked at for containers the bus did not announce. */
const RESCAN_TICKS = 30;

export interface SamplerOptions {
  stateRoot: string;
  intervalMs: number;
  /**
   * the longest a quiet container goes without a full reading (default DEFAULT_IDLE_SAMPLE_INTERVAL_MS);
   * at or below intervalMs, every file of every running container is read every interval
   */
  idleIntervalMs?: number;
  log: Logger;
  /** the supervisor's bus: which containers come and go */
  events?: EventBus;
  fs?: OpenFileCgroupFs;
  /** /proc, for <pid>/net/dev and stat */
  procDir?: string;
  /** the host's online CPUs list */
  cpuOnlineFile?: string;
  now?: () => number;
  /** the cgroup driver for a --cgroup-parent (default: detected, reading through `fs`) */
  driverFor?: (parent: string | undefined, fs: OpenFileCgroupFs) => Promise<CgroupDriver>;
  /** how a chunk's activity counters are read in one go (default: native/libcorral-sample.so, or fs.readSync per file without it) */
  preads?: Preads;
}

/** How the sampler itself is doing, for its own metrics. */
export interface SamplerHealth {
  /** completed ticks */
  ticks: number;
  /** CPU time (user + system) spent reading and parsing, seconds */
  cpuSeconds: number;
  /** wall time of the last tick, seconds */
  lastTickSeconds: number;
  /** containers read in the last tick */
  lastTickContainers: number;
  /** readings of every file of a container */
  fullReads: number;
  /** readings of a quiet container: its two activity counters only, the rest carried from its last full reading */
  quietReads: number;
  /** stats files kept open for re-reading */
  readonly openFiles: number;
  /** reads that opened and closed their file: the kept-descriptor budget was reached (open-files.ts) */
  readonly unkeptReads: number;
}

/**
 * The kept-descriptor budget for this process: half its soft open-files limit as /proc/self/limits
 * gives it (no bound when the file cannot be read or parsed: the kernel's EMFILE still applies).
 */
export function ownKeptFilesBudget(limitsFile = '/proc/self/limits'): number {
  try {
    return keptFilesBudget(parseOpenFilesLimit(fs.readFileSync(limitsFile, 'utf8'), limitsFile).soft);
  } catch {
    return Infinity;
  }
}

/** The label of a failed file in corral_sample_errors_total: the cgroup file's name, or the procfs file's. */
export function fileLabel(file: string): string {
  if (/\/net\/dev$/.test(file)) return 'net/dev';
  if (file.startsWith('/proc/')) return file.replace(/^\/proc\/\d+\//, '/proc/<pid>/');
  return path.basename(file);
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** A sample of `time`, with the tick's host-wide values. */
function sampleOf(time: number, cgroup: CgroupStats, errors: ContainerSample['errors'], networks: ContainerSample['networks'], host: HostReading): ContainerSample {
  const sample: ContainerSample = { time, cgroup, errors };
  if (networks) sample.networks = networks;
  if (host.systemCpuNs !== undefined) sample.systemCpuNs = host.systemCpuNs;
  if (host.onlineCpus !== undefined) sample.onlineCpus = host.onlineCpus;
  return sample;
}

/** The container's activity source, for its reader's files now (undefined: its reader reads none, or has no activityFiles()). */
function activitySourceOf(f: Followed): BatchFiles | undefined {
  const files = f.reader.activityFiles?.();
  if (files === undefined) return undefined;
  if (f.source?.files !== files) f.source = new BatchFiles(files);
  return f.source;
}

/** A running container's cgroup as the sampler reads it. */
interface Followed {
  cgroup: Cgroup;
  reader: CgroupStatsReader;
  /** /proc/<pid>/net/dev of the workload, joined once per pid */
  netDev?: { pid: number; file: string };
  /** the activity reading of the last full reading that had no failed file; undefined: read in full next time */
  activity?: ActivityReading;
  /** when that full reading was taken, ms */
  fullAt: number;
  /** idlePhase() of the container */
  phase: number;
  /** its activity files' descriptors, for the chunk's FileBatch */
  source?: BatchFiles;
}

/** The host-wide values of one tick, shared by all its samples. */
interface HostReading {
  systemCpuNs?: number;
  onlineCpus?: number;
  errors: { file: string; message: string }[];
}

export class Sampler {
  private readonly tracked = new Map<string, TrackedContainer>();
  private readonly cgroups = new Map<string, Followed>();
  private readonly drivers = new Map<string, Promise<CgroupDriver>>();
  /** per container, the chain of its event handlers (they run one after the other) */
  private readonly chains = new Map<string, Promise<void>>();
  private readonly fs: OpenFileCgroupFs;
  private readonly procDir: string;
  private readonly cpuOnlineFile: string;
  private readonly now: () => number;
  private timer: NodeJS.Timeout | undefined;
  private unsubscribe: (() => void) | undefined;
  private tickWaiters: (() => void)[] = [];
  private ticking: Promise<void> | undefined;
  private stopped = false;
  private due: number | undefined;
  private changes = 0;
  readonly health: SamplerHealth;
  private readonly idleMs: number;
  private readonly batch: FileBatch;
  /** a chunk's containers and their activity sources, kept from chunk to chunk */
  private readonly chunkFollowed: (Followed | undefined)[] = [];
  private readonly chunkSources: (BatchFiles | undefined)[] = [];

  constructor(private readonly o: SamplerOptions) {
    this.fs = o.fs ?? new OpenFileCgroupFs({ maxKept: ownKeptFilesBudget() });
    const files = this.fs;
    // the descriptor counts are the file system's own, read when asked
    this.health = {
      ticks: 0,
      cpuSeconds: 0,
      lastTickSeconds: 0,
      lastTickContainers: 0,
      fullReads: 0,
      quietReads: 0,
      get openFiles() {
        return files.openCount;
      },
      get unkeptReads() {
        return files.unkeptReads;
      },
    };
    this.procDir = o.procDir ?? '/proc';
    this.cpuOnlineFile = o.cpuOnlineFile ?? '/sys/devices/system/cpu/online';
    this.now = o.now ?? Date.now;
    this.idleMs = o.idleIntervalMs ?? DEFAULT_IDLE_SAMPLE_INTERVAL_MS;
    this.batch = new FileBatch(this.fs, o.preads ?? preadsWithNode);
  }

  get intervalMs(): number {
    return this.o.intervalMs;
  }

  /** the longest a quiet container goes without a full reading, ms */
  get idleIntervalMs(): number {
    return this.idleMs;
  }

  /** Follow the bus, take the state directory's containers, read them once, then every interval. */
  async start(): Promise<void> {
    if (!this.o.preads) {
      try {
        this.batch.preads = await loadPreads();
        fullReadBatch(this.fs).preads = this.batch.preads;
      } catch (err) {
        this.o.log.warn('sampler: native/libcorral-sample.so not loaded, reading with fs.readSync (npm run build makes it)', { error: message(err) });
      }
    }
    this.unsubscribe = this.o.events?.subscribe((e) => this.onEvent(e));
    const { records } = await listContainerRecords(this.o.stateRoot);
    await Promise.all(records.map((r) => this.refresh(r.id)));
    await this.tick();
    this.schedule();
  }

  /** Stop the timer and the bus subscription, and close every kept descriptor. Idempotent. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    await this.ticking;
    await Promise.all(this.chains.values());
    this.fs.close();
    for (const w of this.tickWaiters.splice(0)) w();
  }

  /** Changes after every tick and every container event followed: what the exporter caches its text by. */
  get version(): number {
    return this.changes;
  }

  /** Every container known, in no particular order. */
  list(): TrackedContainer[] {
    return [...this.tracked.values()];
  }

  get(id: string): TrackedContainer | undefined {
    return this.tracked.get(id);
  }

  /**
   * Resolves when the container's events published so far are followed: after a `start`, its first
   * sample is taken (a route asked right after the start must not find no sample yet).
   */
  settled(id: string): Promise<void> {
    return (this.chains.get(id) ?? Promise.resolve()).then(() => undefined);
  }

  /** Resolves after the next tick (or at once when stopped). */
  nextTick(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    return new Promise((resolve) => this.tickWaiters.push(resolve));
  }

  /** How many descriptors the sampler keeps open (tests check they are given back). */
  get openFiles(): number {
    return this.fs.openCount;
  }

  /** The next tick one interval after the last one was due (no burst of catch-up ticks after a slow one). */
  private schedule(): void {
    if (this.stopped) return;
    const now = this.now();
    this.due = Math.max((this.due ?? now) + this.o.intervalMs, now);
    this.timer = setTimeout(() => {
      this.ticking = this.tick().finally(() => {
        this.ticking = undefined;
        this.schedule();
      });
    }, this.due - now);
    this.timer.unref();
  }

  /**
   * Containers the bus did not announce (a `corral run` beside the daemon): every RESCAN_TICKS ticks,
   * one readdir of the state directory; an unknown id is read and followed from then on.
   */
  private rescan(): void {
    let ids: string[];
    try {
      ids = fs.readdirSync(path.join(this.o.stateRoot, 'containers'));
    } catch {
      return;
    }
    for (const id of ids) {
      if (!/^[0-9a-f]{64}$/.test(id) || this.tracked.has(id) || this.chains.has(id)) continue;
      this.enqueue(id, 'rescan', () => this.refresh(id));
    }
  }

  /** Read every running container once; the tick's host-wide values are shared by all its samples. */
  async tick(): Promise<void> {
    const wallStart = performance.now();
    if (this.health.ticks > 0 && this.health.ticks % RESCAN_TICKS === 0) this.rescan();
    const running: TrackedContainer[] = [];
    for (const c of this.tracked.values()) if (c.status === 'running') running.push(c);
    const host = this.readHost();
    for (let i = 0; i < running.length; i += CHUNK) {
      if (i > 0) await new Promise((resolve) => setImmediate(resolve));
      const cpu = process.cpuUsage();
      const end = Math.min(i + CHUNK, running.length);
      const followed = this.chunkFollowed;
      followed.length = 0;
      for (let j = i; j < end; j++) followed.push(this.cgroups.get(running[j]!.id));
      // quiet mode: the chunk's activity counters in one go
      const batched = this.idleMs > this.o.intervalMs;
      if (batched) {
        const sources = this.chunkSources;
        sources.length = 0;
        for (const f of followed) sources.push(f && activitySourceOf(f));
        this.batch.read(sources);
      }
      for (let j = i; j < end; j++) this.sampleInto(running[j]!, host, followed[j - i], batched ? j - i : -1);
      const used = process.cpuUsage(cpu);
      this.health.cpuSeconds += (used.user + used.system) / 1e6;
    }
    this.health.ticks++;
    this.health.lastTickSeconds = (performance.now() - wallStart) / 1000;
    this.health.lastTickContainers = running.length;
    this.changes++;
    for (const w of this.tickWaiters.splice(0)) w();
  }

  private readHost(): HostReading {
    const cpu = process.cpuUsage();
    const errors: { file: string; message: string }[] = [];
    const read = <T>(file: string, parse: (text: string, file: string) => T): T | undefined => {
      try {
        return parse(this.fs.readSync(file), file);
      } catch (err) {
        errors.push({ file, message: message(err) });
        return undefined;
      }
    };
    const systemCpuNs = read(path.join(this.procDir, 'stat'), parseProcStatCpuTotal);
    const onlineCpus = read(this.cpuOnlineFile, (t, f) => parseCpuList(t, f).length);
    const used = process.cpuUsage(cpu);
    this.health.cpuSeconds += (used.user + used.system) / 1e6;
    const host: HostReading = { errors };
    if (systemCpuNs !== undefined) host.systemCpuNs = systemCpuNs;
    if (onlineCpus !== undefined) host.onlineCpus = onlineCpus;
    return host;
  }

  /**
   * Read one container and rotate its samples; nothing when its cgroup is gone (it is ending). A quiet
   * container (its activity counters as at its last full reading, taken in its current idle window)
   * gets a sample of this tick's time and host values whose counters are the last full reading's: what
   * a full reading would have found, except for what moves without the container's tasks (see
   * DEFAULT_IDLE_SAMPLE_INTERVAL_MS).
   */
  private sampleInto(c: TrackedContainer, host: HostReading, followed = this.cgroups.get(c.id), slot = -1): void {
    if (!followed) return;
    const time = this.now();
    let activity: ActivityReading | undefined;
    let same = false;
    if (this.idleMs > this.o.intervalMs) {
      const last = followed.activity;
      if (slot >= 0 && this.batch.has(slot)) {
        same = last !== undefined && this.batch.same(slot, last);
        activity = same ? last : this.batch.reading(slot);
      } else {
        activity = followed.reader.activity();
        same = activity !== undefined && last !== undefined && sameActivity(activity, last);
      }
    }
    const latest = c.latest;
    // at most one idle interval without a full reading: one in each of the container's own windows
    if (same && latest !== undefined && Math.floor((time + followed.phase) / this.idleMs) === Math.floor((followed.fullAt + followed.phase) / this.idleMs)) {
      this.rotate(c, sampleOf(time, latest.cgroup, host.errors, latest.networks, host));
      this.health.quietReads++;
      return;
    }
    const stats = followed.reader.read(activity);
    if (stats.errors.length > 0 && !Object.values(followed.cgroup.paths).some((dir) => fs.existsSync(dir))) {
      // ended: its `die` is on the way, or (a container this daemon did not start) its record says so
      if (!this.chains.has(c.id)) this.enqueue(c.id, 'gone', () => this.refresh(c.id));
      return;
    }
    let networks: Map<string, NetDevCounters> | undefined;
    let netError: { file: string; message: string } | undefined;
    const netDev = c.network === 'host' ? undefined : this.netDevOf(c, followed);
    if (netDev !== undefined) {
      try {
        networks = parseNetDev(this.fs.readSync(netDev), netDev);
        for (const name of networks.keys()) if (!isReportedInterface(name)) networks.delete(name);
      } catch (err) {
        netError = { file: netDev, message: message(err) };
      }
    }
    // the common case, nothing failed: the reader's own (empty) list, no copy
    const errors = host.errors.length === 0 && !netError ? stats.errors : [...stats.errors, ...host.errors, ...(netError ? [netError] : [])];
    const oomKills = stats.memory?.events?.oomKill;
    if (oomKills !== undefined) c.oomKills = oomKills;
    this.rotate(c, sampleOf(time, stats, errors, networks, host));
    // a reading with a failed file is not carried: the next one is full again
    if (stats.errors.length === 0 && !netError && activity !== undefined) followed.activity = activity;
    else delete followed.activity;
    followed.fullAt = time;
    this.health.fullReads++;
  }

  /** Make `sample` the container's latest, counting its failed files. */
  private rotate(c: TrackedContainer, sample: ContainerSample): void {
    for (const e of sample.errors) c.readErrors.set(fileLabel(e.file), (c.readErrors.get(fileLabel(e.file)) ?? 0) + 1);
    c.previous = c.latest;
    c.latest = sample;
  }

  /** The workload's /proc/<pid>/net/dev, once its pid is known. */
  private netDevOf(c: TrackedContainer, followed: Followed): string | undefined {
    const pid = this.pidOf(c);
    if (pid === undefined) return undefined;
    if (followed.netDev?.pid !== pid) followed.netDev = { pid, file: path.join(this.procDir, String(pid), 'net', 'dev') };
    return followed.netDev.file;
  }

  /** The workload's pid, from the launcher's `pid` file when the record did not have it yet. */
  private pidOf(c: TrackedContainer): number | undefined {
    if (c.pid !== undefined) return c.pid;
    try {
      const p = parsePidFile(fs.readFileSync(containerFile(this.o.stateRoot, c.id, 'pid'), 'utf8'));
      if (p) c.pid = p.pid;
    } catch {
      // not written yet: the launcher writes it once the workload exists
    }
    return c.pid;
  }

  private driver(parent: string | undefined): Promise<CgroupDriver> {
    const key = parent ?? '';
    let d = this.drivers.get(key);
    if (!d) {
      d = this.o.driverFor ? this.o.driverFor(parent, this.fs) : createCgroupDriver({ fs: this.fs, ...(parent !== undefined ? { parent } : {}) });
      this.drivers.set(key, d);
    }
    return d;
  }

  private onEvent(e: DockerEvent): void {
    if (e.Type !== 'container' || e.Actor?.ID === undefined || this.stopped) return;
    const id = e.Actor.ID;
    const action = e.Action;
    const run = async () => {
      switch (action) {
        case 'create':
        case 'start':
          await this.refresh(id, action === 'start');
          if (action === 'start') {
            // the first figures at once, not one interval later
            const c = this.tracked.get(id);
            if (c?.status === 'running') this.sampleInto(c, this.readHost());
          }
          break;
        case 'update': {
          // new limits (and a new config.json for the spec metrics); the samples and counts stay
          await this.refresh(id);
          const followed = this.cgroups.get(id);
          followed?.reader.refreshLimits();
          // the limits are read on a full reading only
          if (followed) delete followed.activity;
          break;
        }
        case 'pause':
        case 'unpause': {
          // still running and sampled: only the state series changes (a frozen cgroup's CPU counters stand still)
          const c = this.tracked.get(id);
          if (c) c.paused = action === 'pause';
          break;
        }
        case 'restart': {
          const c = this.tracked.get(id);
          if (c) c.restarts++;
          break;
        }
        case 'rename': {
          // the new name labels the stats and the metrics from now on; the samples stay
          const c = this.tracked.get(id);
          const name = e.Actor.Attributes?.name;
          if (c && name !== undefined && name !== '') c.name = name;
          break;
        }
        case 'stop':
        case 'kill': {
          // a user stop, also of a container waiting for its restart (no die follows then)
          const c = this.tracked.get(id);
          if (c) c.manuallyStopped = await readManuallyStopped(this.o.stateRoot, id);
          break;
        }
        case 'die': {
          const c = this.tracked.get(id);
          if (c) {
            c.status = 'exited';
            delete c.paused;
            const code = Number(e.Actor.Attributes?.exitCode);
            if (Number.isInteger(code)) c.exitCode = code;
            this.release(c);
            c.manuallyStopped = await readManuallyStopped(this.o.stateRoot, id);
          }
          break;
        }
        case 'destroy': {
          const c = this.tracked.get(id);
          if (c) this.release(c);
          this.tracked.delete(id);
          break;
        }
      }
    };
    this.enqueue(id, action, run);
  }

  /** Run `work` for container `id` after the work already queued for it. */
  private enqueue(id: string, action: string, work: () => Promise<void>): void {
    const next = (this.chains.get(id) ?? Promise.resolve())
      .then(work)
      .catch((err: unknown) => this.o.log.warn('sampler: cannot follow a container', { id, action, error: message(err) }))
      .finally(() => this.changes++);
    this.chains.set(id, next);
    void next.then(() => {
      if (this.chains.get(id) === next) this.chains.delete(id);
    });
  }

  /**
   * (Re)read a container's record; keep what this daemon counted about it. `started`: the supervisor
   * says it started it, though the launcher may not have written its `pid` file yet (pidOf() finds it).
   */
  private async refresh(id: string, started = false): Promise<void> {
    const fresh = await readTracked(this.o.stateRoot, id);
    if (fresh && started && fresh.status === 'created') fresh.status = 'running';
    const old = this.tracked.get(id);
    if (!fresh) {
      if (old) this.release(old);
      this.tracked.delete(id);
      return;
    }
    if (old) {
      fresh.restarts = old.restarts;
      fresh.readErrors = old.readErrors;
      if (old.oomKills !== undefined) fresh.oomKills = old.oomKills;
      if (old.status === 'running' && fresh.status === 'running' && old.pid === fresh.pid) {
        if (old.latest) fresh.latest = old.latest;
        if (old.previous) fresh.previous = old.previous;
      } else this.release(old);
    }
    if (fresh.status === 'running' && !this.cgroups.has(id)) {
      const cgroup = (await this.driver(fresh.cgroupParent)).open(id);
      this.cgroups.set(id, { cgroup, reader: cgroup.statsReader(), fullAt: 0, phase: idlePhase(id, this.idleMs) });
    }
    this.tracked.set(id, fresh);
  }

  /** A container stopped running: drop its samples and give back its descriptors. */
  private release(c: TrackedContainer): void {
    const followed = this.cgroups.get(c.id);
    if (followed) for (const dir of Object.values(followed.cgroup.paths)) this.fs.forget(dir);
    this.cgroups.delete(c.id);
    if (c.pid !== undefined) this.fs.forget(path.join(this.procDir, String(c.pid)));
    delete c.pid;
    delete c.latest;
    delete c.previous;
  }
}

/**
 * How the daemon notices that containers ended: one poll loop for all of them.
 *
 * Each followed container's `<dir>/exit` (written atomically by its launcher, after the log is
 * complete) is looked for every `intervalMs` with one access(2) call (existsSync: no Error thrown); its launcher's liveness
 * (`<dir>/launcher.pid`: pid and start time) only every `livenessEvery` ticks. A launcher found
 * gone on two liveness checks in a row without an `exit` file was killed (SIGKILL): the container
 * ended without one.
 *
 * Why one loop of synchronous calls: a timer and three promise-based file reads per container
 * every 50 ms (about ten thread-pool round trips and an ENOENT error object each time) cost the
 * daemon 41% of a CPU with 200 idle containers. access(2) on a local state dir and kill(pid, 0)
 * take microseconds, so a tick for hundreds of containers blocks the event loop far less than a
 * millisecond.
 *
 * Even so, 20 looks a second at 500 containers' `exit` files cost an idle daemon ~8% of a core. So a
 * caller that can be told when the launcher ends (the Supervisor: the launcher's pidfd in the shared
 * epoll set, src/sys/fd-poller.ts) says so with notified(dir) and calls launcherEnded(dir) then; such
 * a container's `exit` is looked for only on the liveness ticks, as a backstop. The others (no pidfd
 * yet: `launcher.pid` not written, or a caller without one) are looked at every tick.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parsePidFile, procStatStartTime } from '../container/records.js';

/** How often `exit` files are looked for, in ms. */
export const EXIT_POLL_MS = 50;
/** Every how many ticks the launchers' liveness is checked (20 × 50 ms = 1 s). */
export const LIVENESS_EVERY = 20;

/** How a followed container ended: its launcher wrote `exit`, or the launcher is gone without it. */
export type ContainerEnd = 'exit-file' | 'launcher-gone';

/** The few system calls the poller makes; the defaults are the real ones (synchronous). */
export interface PollerIo {
  exists(file: string): boolean;
  /** a file's text, or undefined when it cannot be read (absent, or the process gone) */
  readText(file: string): string | undefined;
  /** whether a process with this pid exists (kill(pid, 0)) */
  processExists(pid: number): boolean;
}

export const realPollerIo: PollerIo = {
  // existsSync, not a try/catch around accessSync: most checks find no `exit` yet, and an ENOENT thrown
  // as an Error costs ~5 µs against ~1 µs; at 20 checks a second for 500 containers that difference
  // was most of an idle daemon's CPU (measured by bench:sampling)
  exists: (file) => fs.existsSync(file),
  readText: (file) => {
    try {
      return fs.readFileSync(file, 'utf8');
    } catch {
      return undefined;
    }
  },
  processExists: (pid) => {
    try {
      process.kill(pid, 0);
      return true;
    } catch (err) {
      return (err as NodeJS.ErrnoException).code === 'EPERM';
    }
  },
};

interface Followed {
  /** `<dir>/exit`, joined once */
  exitFile: string;
  resolve: (end: ContainerEnd) => void;
  promise: Promise<ContainerEnd>;
  /** the caller's own liveness check of the launcher (the Supervisor's verified pidfd), if any */
  alive?: () => boolean;
  /** the launcher's pid and start time, once `launcher.pid` was read */
  launcher?: { pid: number; startTime: string };
  /** consecutive liveness checks that found no live launcher */
  goneChecks: number;
  /** the caller reports the launcher's end (launcherEnded): only the liveness ticks look */
  notified?: boolean;
}

export class ExitPoller {
  private readonly followed = new Map<string, Followed>();
  private timer: NodeJS.Timeout | undefined;
  private ticks = 0;
  private closed = false;

  constructor(
    private readonly io: PollerIo = realPollerIo,
    private readonly intervalMs = EXIT_POLL_MS,
    private readonly livenessEvery = LIVENESS_EVERY,
  ) {}

  /**
   * Resolves when the container in `dir` has ended (see ContainerEnd); one promise per dir. `alive`,
   * when given, replaces the pid-file check of the launcher's liveness (it must be cheap and synchronous).
   */
  ended(dir: string, alive?: () => boolean): Promise<ContainerEnd> {
    const known = this.followed.get(dir);
    if (known) return known.promise;
    let resolve!: (end: ContainerEnd) => void;
    const promise = new Promise<ContainerEnd>((r) => (resolve = r));
    const f: Followed = { exitFile: path.join(dir, 'exit'), resolve, promise, goneChecks: 0, ...(alive ? { alive } : {}) };
    this.followed.set(dir, f);
    // one that has ended already (a client reporting its launcher's end, an adopted container)
    // is answered now rather than at the next tick
    if (this.io.exists(f.exitFile)) {
      this.finish(dir, f, 'exit-file');
      return promise;
    }
    if (!this.timer && !this.closed) {
      // unref: the API server keeps the daemon alive, not the containers it follows
      this.timer = setInterval(() => this.check(), this.intervalMs).unref();
    }
    return promise;
  }

  /** How many containers are followed. */
  get size(): number {
    return this.followed.size;
  }

  /** One tick: look for every followed container's `exit`, and every `livenessEvery` ticks for its launcher. */
  check(): void {
    const liveness = this.ticks++ % this.livenessEvery === this.livenessEvery - 1;
    for (const [dir, f] of this.followed) {
      if (f.notified && !liveness) continue;
      if (this.io.exists(f.exitFile)) {
        this.finish(dir, f, 'exit-file');
        continue;
      }
      if (!liveness) continue;
      if (this.launcherAlive(dir, f)) {
        f.goneChecks = 0;
        continue;
      }
      // the launcher writes `exit` before it ends: look once more, then count the miss
      if (this.io.exists(f.exitFile)) this.finish(dir, f, 'exit-file');
      else if (++f.goneChecks >= 2) this.finish(dir, f, 'launcher-gone');
    }
  }

  /** Look for one container's `exit` now rather than at the next tick (a client said its launcher ended). */
  poke(dir: string): void {
    const f = this.followed.get(dir);
    if (f && this.io.exists(f.exitFile)) this.finish(dir, f, 'exit-file');
  }

  /** The caller will call launcherEnded(dir) when the launcher of `dir` ends: no look every tick is needed. */
  notified(dir: string): void {
    const f = this.followed.get(dir);
    if (f) f.notified = true;
  }

  /**
   * The launcher of `dir` has ended (its pidfd said so: no PID reuse can fool it). It writes `exit`
   * before it ends, so none now means it was killed.
   */
  launcherEnded(dir: string): void {
    const f = this.followed.get(dir);
    if (f) this.finish(dir, f, this.io.exists(f.exitFile) ? 'exit-file' : 'launcher-gone');
  }

  /** Stop polling; containers not yet ended never resolve (a new daemon adopts them). */
  close(): void {
    this.closed = true;
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private finish(dir: string, f: Followed, end: ContainerEnd): void {
    this.followed.delete(dir);
    if (this.followed.size === 0) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
    f.resolve(end);
  }

  private launcherAlive(dir: string, f: Followed): boolean {
    if (f.alive) return f.alive();
    if (!f.launcher) {
      const text = this.io.readText(path.join(dir, 'launcher.pid'));
      const parsed = text === undefined ? undefined : parsePidFile(text);
      if (!parsed) return false;
      f.launcher = parsed;
    }
    const { pid, startTime } = f.launcher;
    if (!this.io.processExists(pid)) return false;
    // the pid may have been reused by another process since: the start time tells
    const stat = this.io.readText(`/proc/${pid}/stat`);
    return stat !== undefined && procStatStartTime(stat) === startTime;
  }
}

/**
 * The daemon's OOM watcher: it learns of every OOM kill in a container's memory cgroup as it
 * happens and hands each kill, with the counters and a `memory.stat` snapshot, to the Supervisor
 * (which emits the `oom` event and marks State.OOMKilled).
 *
 * Notifications only say "look now"; the kernel's counters say what happened (oom-counters.ts):
 * every notification re-reads the counters and diffs them against the last read, reads of one
 * container are serialized, and a slow periodic re-read (BACKSTOP_MS) catches what a lost
 * notification would hide. Where notifications come:
 *
 * - cgroup v2: `memory.events` is watched with chokidar (inotify), through its `raw` event: the
 *   kernel notifies at most every 20 ms per file (a later change is deferred by a timer, never
 *   dropped), but chokidar's `change` drops events within 5 ms of a raw event and within 50 ms of
 *   the last `change`, with no trailing edge, and stats the file first: a kill notified inside that
 *   window would wait for the backstop. `raw` comes straight from the inotify event, every time.
 *   When a read shows `oom` rose but not `oom_kill` (the killer is running), the re-read is repeated
 *   at short steps (FOLLOW_UP_MS) until `oom_kill` moves.
 * - cgroup v1: the memory controller's OOM notification, an eventfd registered with
 *   `cgroup.event_control` ("<eventfd> <fd of memory.oom_control>"); all eventfds are waited on by
 *   one epoll call on one thread (src/sys/fd-poller.ts, shared with the supervisor's exit watching). The kernel signals it when the OOM
 *   killer is about to run, before the kill, and once per OOM episode: the re-read is repeated at
 *   short steps (FOLLOW_UP_MS) until `oom_kill` has moved. The kernel also signals it when the
 *   cgroup is removed: the re-read then finds no file and the watch ends.
 *
 * The memory.stat snapshot: what filled the memory, not what is left once the kernel freed the
 * victim's. A snapshot is read when a notification comes, then the counters: if they still show no
 * new kill, the snapshot was read before the kill (the kernel counts a kill before it signals the
 * victim) and holds the victim's pages. The kill's event carries the fuller of the last snapshot
 * read before it and one read after it (oom-counters.ts killSnapshot), labelled `memory.stat_when`.
 * Notifications that come before a kill:
 *
 * - v1: besides the OOM eventfd (signalled as the OOM killer starts, but a PID-1 victim's pages
 *   were sometimes freed before the daemon's read: 1 kill in 30 on the host), a second eventfd on
 *   a usage threshold of `memory.usage_in_bytes` (cgroup.event_control "<eventfd> <fd> <bytes>")
 *   a tenth under the limit, at most 16 MiB under (nearLimitThreshold): the kernel signals it when
 *   usage crosses it either way, while the hog still allocates and reclaim still runs. Set again
 *   when the limit changes (limitChanged). Own eventfd, one threshold each: the kernel's threshold
 *   unregister removes every entry of an eventfd at once, and before Linux 5.6 a second unregister of
 *   the same eventfd dereferenced NULL.
 * - v2: `memory.events` `max` (usage reached memory.max, reclaim follows) before `oom` and `oom_kill`.
 *
 * It is read synchronously, on purpose: five small kernfs files, tens of microseconds and no disk,
 * whereas a thread-pool round trip lets the kernel finish the kill and free the memory first
 * (measured in the guest: the async snapshot showed anon 0, the synchronous one the hog's 32 MiB).
 * At most one per SNAPSHOT_MIN_INTERVAL_MS per container for v2 notifications and one per
 * THRESHOLD_MIN_INTERVAL_MS for v1 thresholds, so a cgroup grinding at its limit costs little;
 * every v1 OOM notification reads one.
 *
 * A watch ends when its cgroup is gone (ENOENT on a re-read, chokidar's `unlink`), on unwatch()
 * (the Supervisor's call when the container ended: one last re-read reports kills not yet seen,
 * before its `die`) or on close(); it releases its chokidar watcher or eventfd then.
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import { posix as path } from 'node:path';
import chokidar from 'chokidar';
import { parseFlatKeyed, parseNumber, parseSingleValue } from '../cgroups/parse.js';
import type { CgroupMode } from '../cgroups/types.js';
import { fromV1Limit } from '../cgroups/v1/memory.js';
import type { Logger } from '../log.js';
import { sharedPoller, type FdPoller } from '../sys/fd-poller.js';
import type { Syscalls } from '../sys/syscalls.js';
import {
  diffCounters,
  killSnapshot,
  nearLimitThreshold,
  oomEventAttributes,
  parseMemoryEvents,
  parseOomControl,
  ZERO_COUNTERS,
  type MemorySnapshot,
  type OomCounters,
  type OomDelta,
} from './oom-counters.js';

/** the slow re-read of every watched cgroup, in case a notification was lost */
export const BACKSTOP_MS = 5_000;
/** after a v1 notification (or a v2 `oom` without a kill yet): re-reads until oom_kill moves */
export const FOLLOW_UP_MS = [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000] as const;
/** v2 notifications closer together than this share one snapshot (a cgroup at its limit notifies every 10-20 ms) */
export const SNAPSHOT_MIN_INTERVAL_MS = 100;
/**
 * v1 threshold crossings closer together than this share one snapshot: crossings are rare (usage
 * must move across the threshold), but a workload that allocates and frees around it could cross it
 * hundreds of times a second. Short, because a hog killed a moment ago and started again crosses it
 * on its way up within tens of milliseconds of the last kill's snapshot.
 */
export const THRESHOLD_MIN_INTERVAL_MS = 10;

export interface OomKill {
  id: string;
  mode: CgroupMode;
  /** the kernel's oom_kill counter counting this kill (1 for the cgroup's first) */
  killNumber: number;
  /** the counters as read when the kill was seen */
  counters: OomCounters;
  snapshot: MemorySnapshot | undefined;
  /** the `oom` event's Actor.Attributes (oom-counters.ts oomEventAttributes) */
  attributes: Record<string, string>;
}

/** The container's cgroup as the driver gives it (src/cgroups/types.ts Cgroup has both). */
export interface OomWatchTarget {
  /** v2: the cgroup's directory; v1: undefined */
  readonly dir: string | undefined;
  /** v1: the directory per hierarchy; `memory` is used */
  readonly paths: Readonly<Record<string, string>>;
}

export interface WatchOptions {
  /**
   * 'zero' for a cgroup this daemon just started a workload in: everything its counters hold is
   * new (a kill before the first read is still reported). 'current' for an adopted container:
   * the first read is the baseline (its earlier kills were the previous daemon's to report).
   */
  baseline: 'zero' | 'current';
}

export interface OomWatcherOptions {
  log: Logger;
  /** the native calls, loaded on the first v1 watch (default: loadSyscalls) */
  syscalls?: () => Promise<Pick<Syscalls, 'eventfd' | 'eventfdRead' | 'eventfdWrite' | 'epollCreate' | 'epollCtl' | 'epollWait' | 'close'>>;
  backstopMs?: number;
  now?: () => number;
}

interface Watch {
  id: string;
  mode: CgroupMode;
  /** the memory cgroup's directory */
  dir: string;
  onKill: (kill: OomKill) => void;
  baseline: WatchOptions['baseline'];
  /** the last counters read; undefined before the first read */
  last: OomCounters | undefined;
  /** the last snapshot read before a kill the counters have not shown yet */
  beforeKill: MemorySnapshot | undefined;
  /** the fullest snapshot read after a kill not reported yet */
  afterKill: MemorySnapshot | undefined;
  /** when the last notification snapshot was taken (ms) */
  snapshotAt: number;
  /** v1: releases the usage-threshold eventfd (a no-op without one) */
  disarm: () => void;
  /** setup of the notification source; the watch's reads wait for it */
  ready: Promise<void>;
  /** releases the notification source (chokidar watcher or eventfd) */
  release: () => Promise<void>;
  reading: Promise<void> | undefined;
  again: boolean;
  timers: Set<NodeJS.Timeout>;
  ended: boolean;
}

function isGone(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENODEV' || code === 'ENOTDIR';
}

function readOptionalSync(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

function parsedOrUndefined<T>(text: string | undefined, parse: (t: string, p: string) => T, file: string): T | undefined {
  if (text === undefined) return undefined;
  try {
    return parse(text, file);
  } catch {
    return undefined;
  }
}

export class OomWatcher {
  private readonly watches = new Map<string, Watch>();
  private poller: FdPoller | undefined;
  private backstop: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly now: () => number;

  constructor(private readonly o: OomWatcherOptions) {
    this.now = o.now ?? Date.now;
  }

  /**
   * Watch a container's memory cgroup; `onKill` is called once per OOM kill, synchronously after
   * the counters were read (so a caller's later event cannot overtake it). Setup runs in the
   * background (errors are logged: the container then runs unwatched and its end still reads the
   * counter); watching an id twice keeps the first watch.
   */
  watch(id: string, target: OomWatchTarget, onKill: (kill: OomKill) => void, options: WatchOptions): void {
    if (this.closed || this.watches.has(id)) return;
    const mode: CgroupMode = target.dir !== undefined ? 'v2' : 'v1';
    const dir = target.dir ?? target.paths.memory;
    if (dir === undefined) {
      this.o.log.warn('no memory cgroup: OOM kills are not watched', { id });
      return;
    }
    const w: Watch = {
      id,
      mode,
      dir,
      onKill,
      baseline: options.baseline,
      last: undefined,
      beforeKill: undefined,
      afterKill: undefined,
      snapshotAt: 0,
      disarm: () => {},
      ready: Promise.resolve(),
      release: async () => {},
      reading: undefined,
      again: false,
      timers: new Set(),
      ended: false,
    };
    this.watches.set(id, w);
    w.ready = (mode === 'v2' ? this.watchV2(w) : this.watchV1(w)).then(
      () => this.check(w),
      (err: Error) => {
        this.o.log.warn('cannot watch the cgroup for OOM kills', { id, dir, err });
        w.ended = true;
      },
    );
    this.backstop ??= setInterval(() => {
      for (const each of this.watches.values()) if (!each.ended) void this.check(each);
    }, this.o.backstopMs ?? BACKSTOP_MS).unref();
  }

  private async watchV2(w: Watch): Promise<void> {
    const file = path.join(w.dir, 'memory.events');
    await fsp.access(file);
    const watcher = chokidar.watch(file, { ignoreInitial: true });
    w.release = () => watcher.close();
    watcher.on('raw', () => this.onV2Notification(w));
    watcher.on('unlink', () => void this.end(w, 'memory.events is gone'));
    watcher.on('error', (err) => this.o.log.warn('OOM watch: chokidar error', { id: w.id, err }));
    await new Promise<void>((resolve) => watcher.once('ready', () => resolve()));
  }

  private async watchV1(w: Watch): Promise<void> {
    const sys = await this.loadSys();
    this.poller ??= sharedPoller(sys, (err) => this.o.log.warn('fd poller', { err }));
    const efd = sys.eventfd();
    try {
      const control = await fsp.open(path.join(w.dir, 'memory.oom_control'), 'r');
      try {
        // the kernel takes its own references: the memory.oom_control fd is needed only for this write
        await fsp.writeFile(path.join(w.dir, 'cgroup.event_control'), `${efd} ${control.fd}`);
      } finally {
        await control.close();
      }
      this.poller.register(efd, () => this.onV1Notification(w));
    } catch (err) {
      sys.close(efd);
      throw err;
    }
    const poller = this.poller;
    w.release = async () => {
      w.disarm();
      poller.unregister(efd);
      // closing the eventfd also unregisters the kernel's event (cgroup v1 drops it on EPOLLHUP)
      sys.close(efd);
    };
    this.armThreshold(w, sys, poller);
  }

  /**
   * v1: an eventfd signalled when usage crosses nearLimitThreshold (see the header), replacing the
   * one set before. Without a limit there is none. A kernel that refuses thresholds (PREEMPT_RT
   * kernels do) leaves the OOM notification alone, with a warning.
   */
  private armThreshold(w: Watch, sys: Pick<Syscalls, 'eventfd' | 'close'>, poller: FdPoller): void {
    w.disarm();
    w.disarm = () => {};
    const limitFile = path.join(w.dir, 'memory.limit_in_bytes');
    const limit = parsedOrUndefined(readOptionalSync(limitFile), parseSingleValue, limitFile);
    const threshold = limit === undefined ? undefined : nearLimitThreshold(fromV1Limit(limit));
    if (threshold === undefined) return;
    const tfd = sys.eventfd();
    try {
      const usage = fs.openSync(path.join(w.dir, 'memory.usage_in_bytes'), 'r');
      try {
        fs.writeFileSync(path.join(w.dir, 'cgroup.event_control'), `${tfd} ${usage} ${threshold}`);
      } finally {
        fs.closeSync(usage);
      }
      poller.register(tfd, () => this.onThreshold(w, threshold));
    } catch (err) {
      sys.close(tfd);
      if (!isGone(err)) this.o.log.warn('no usage threshold: the OOM snapshot is read at the OOM notification only', { id: w.id, threshold, err });
      return;
    }
    w.disarm = () => {
      poller.unregister(tfd);
      sys.close(tfd);
    };
  }

  /**
   * The container's memory limit changed (an update): set the v1 usage threshold again for the new
   * limit. v2 needs nothing (its `max` notification follows memory.max by itself).
   */
  async limitChanged(id: string): Promise<void> {
    const w = this.watches.get(id);
    if (w?.mode !== 'v1') return;
    await w.ready;
    if (w.ended || !this.poller) return;
    const sys = await this.loadSys();
    if (!w.ended) this.armThreshold(w, sys, this.poller);
  }

  /** the native calls (loaded on the first v1 watch: v2 needs none) */
  private loadSys(): ReturnType<NonNullable<OomWatcherOptions['syscalls']>> {
    return (this.o.syscalls ?? (async () => (await import('../sys/syscalls.js')).loadSyscalls()))();
  }

  /** v1: usage crossed the threshold under the limit, up or down: the memory as it is now */
  private onThreshold(w: Watch, threshold: number): void {
    if (w.ended) return;
    const s = this.noteSnapshot(w, THRESHOLD_MIN_INTERVAL_MS);
    if (this.o.log.enabled('debug')) this.o.log.debug('memory usage crossed the OOM snapshot threshold', { id: w.id, threshold, usage: s?.usage, when: s?.when });
  }

  private onV2Notification(w: Watch): void {
    if (w.ended) return;
    this.noteSnapshot(w, SNAPSHOT_MIN_INTERVAL_MS);
    const before = w.last;
    void this.check(w).then(() => {
      // `oom` rose but oom_kill did not (yet): the kill is microseconds to milliseconds away
      if (!before || !w.last) return;
      const d = diffCounters(before, w.last);
      if (d.oom > 0 && d.oomKill === 0) this.followUp(w, FOLLOW_UP_MS, before.oomKill);
    });
  }

  private onV1Notification(w: Watch): void {
    if (w.ended) return;
    // the notification comes as the OOM killer starts: the memory is full right now
    this.noteSnapshot(w, 0);
    const killsBefore = w.last?.oomKill;
    void this.check(w).then(() => {
      if (w.last !== undefined && killsBefore !== undefined && w.last.oomKill <= killsBefore) this.followUp(w, FOLLOW_UP_MS, killsBefore);
    });
  }

  /**
   * Read a snapshot for this notification, then the counters, which say whether it came before a
   * kill not reported yet (kept as the latest before a kill) or after one (kept if fuller than the
   * one kept so far: a later notification of the same OOM may come once the memory is freed).
   */
  private noteSnapshot(w: Watch, minIntervalMs: number): MemorySnapshot | undefined {
    const now = this.now();
    if (now - w.snapshotAt < minIntervalMs) return undefined;
    w.snapshotAt = now;
    const next = this.snapshot(w);
    let counters: OomCounters;
    try {
      counters = this.readCounters(w);
    } catch {
      return undefined; // the cgroup is gone, or the read fails: the re-read that follows says so
    }
    const reported = w.last?.oomKill ?? (w.baseline === 'zero' ? 0 : counters.oomKill);
    if (counters.oomKill <= reported) {
      next.when = 'before-kill';
      w.beforeKill = next;
    } else {
      next.when = 'after-kill';
      w.afterKill = killSnapshot(w.afterKill, next);
    }
    return next;
  }

  private followUp(w: Watch, delays: readonly number[], killsBefore: number): void {
    const [first, ...rest] = delays;
    if (first === undefined || w.ended) return;
    this.after(w, first, async () => {
      await this.check(w);
      if (w.last !== undefined && w.last.oomKill <= killsBefore) this.followUp(w, rest, killsBefore);
    });
  }

  private after(w: Watch, ms: number, fn: () => Promise<void>): void {
    const t = setTimeout(() => {
      w.timers.delete(t);
      fn().catch((err: Error) => this.o.log.warn('OOM watch: re-read failed', { id: w.id, err }));
    }, ms);
    w.timers.add(t);
  }

  /** Re-read and diff, one read at a time per container; a call during a read gets one more read after it. */
  private check(w: Watch): Promise<void> {
    if (w.ended) return Promise.resolve();
    if (w.reading) {
      w.again = true;
      return w.reading;
    }
    w.reading = (async () => {
      do {
        w.again = false;
        await this.readOnce(w);
      } while (w.again && !w.ended);
    })().finally(() => (w.reading = undefined));
    return w.reading;
  }

  /**
   * Synchronous: small cgroup files answered from kernel memory, and the backstop re-reads every
   * container every BACKSTOP_MS; two promise-based reads each (open, fstat, read, close through the
   * thread pool) cost an idle daemon with 500 containers ~2% of a core, synchronous ones a tenth of it.
   */
  private readCounters(w: Watch): OomCounters {
    if (w.mode === 'v2') {
      const file = path.join(w.dir, 'memory.events');
      return parseMemoryEvents(fs.readFileSync(file, 'utf8'), file);
    }
    const file = path.join(w.dir, 'memory.oom_control');
    const failcntFile = path.join(w.dir, 'memory.failcnt');
    const control = fs.readFileSync(file, 'utf8');
    return parseOomControl(control, parsedOrUndefined(readOptionalSync(failcntFile), parseNumber, failcntFile), file);
  }

  private async readOnce(w: Watch): Promise<void> {
    let counters: OomCounters;
    try {
      counters = this.readCounters(w);
    } catch (err) {
      if (isGone(err)) await this.end(w, 'the cgroup is gone');
      else this.o.log.warn('OOM watch: cannot read the counters', { id: w.id, err });
      return;
    }
    if (w.last === undefined && w.baseline === 'current') {
      w.last = counters;
      return;
    }
    const prev = w.last ?? ZERO_COUNTERS;
    const d = diffCounters(prev, counters);
    w.last = counters;
    this.report(w, d, counters);
    if (d.oomKill === 0) return;
    const after = w.afterKill ?? { ...this.snapshot(w), when: 'after-kill' as const };
    const snapshot = killSnapshot(w.beforeKill, after);
    w.beforeKill = undefined;
    w.afterKill = undefined;
    // one call per kill, numbered as the kernel counted them (a reset counter starts again at 1)
    for (let killNumber = counters.oomKill - d.oomKill + 1; killNumber <= counters.oomKill; killNumber++) {
      const kill: OomKill = { id: w.id, mode: w.mode, killNumber, counters, snapshot, attributes: oomEventAttributes(w.mode, killNumber, counters, snapshot) };
      try {
        w.onKill(kill);
      } catch (err) {
        this.o.log.error('OOM watch: the kill handler failed', { id: w.id, err });
      }
    }
  }

  private report(w: Watch, d: OomDelta, c: OomCounters): void {
    if (d.oomKill > 0) this.o.log.info('OOM kill', { id: w.id, kills: d.oomKill, oom_kill: c.oomKill });
    if (d.oom > d.oomKill) this.o.log.info('memory limit hit: the OOM killer ran', { id: w.id, oom: c.oom, oom_kill: c.oomKill });
    if (d.max > 0 || d.high > 0 || d.failcnt > 0) this.o.log.debug('memory limit reached', { id: w.id, max: c.max, high: c.high, failcnt: c.failcnt });
  }

  /** memory.stat and usage now (synchronously: see the header); a file that cannot be read is left out */
  private snapshot(w: Watch): MemorySnapshot {
    const f = (name: string) => path.join(w.dir, name);
    const read = (name: string) => {
      try {
        return fs.readFileSync(f(name), 'utf8');
      } catch {
        return undefined;
      }
    };
    const v2 = w.mode === 'v2';
    const takenAt = this.now();
    const s: MemorySnapshot = { takenAt, stat: parsedOrUndefined(read('memory.stat'), parseFlatKeyed, f('memory.stat')) ?? {} };
    const usage = parsedOrUndefined(read(v2 ? 'memory.current' : 'memory.usage_in_bytes'), parseNumber, f('usage'));
    if (usage !== undefined) s.usage = usage;
    const limit = parsedOrUndefined(read(v2 ? 'memory.max' : 'memory.limit_in_bytes'), parseSingleValue, f('limit'));
    if (limit !== undefined) s.limit = v2 ? limit : fromV1Limit(limit);
    const peak = parsedOrUndefined(read(v2 ? 'memory.peak' : 'memory.max_usage_in_bytes'), parseNumber, f('peak')); // memory.peak: Linux 5.19+
    if (peak !== undefined) s.peak = peak;
    const kernel = v2 ? undefined : parsedOrUndefined(read('memory.kmem.usage_in_bytes'), parseNumber, f('memory.kmem.usage_in_bytes'));
    if (kernel !== undefined) s.kernel = kernel;
    return s;
  }

  private async end(w: Watch, reason: string): Promise<void> {
    if (w.ended) return;
    w.ended = true;
    for (const t of w.timers) clearTimeout(t);
    w.timers.clear();
    this.o.log.debug('OOM watch ended', { id: w.id, reason });
    await w.release().catch((err: Error) => this.o.log.warn('OOM watch: release failed', { id: w.id, err }));
    if (![...this.watches.values()].some((each) => !each.ended) && this.backstop) {
      clearInterval(this.backstop);
      this.backstop = undefined;
    }
  }

  /** The kernel's oom_kill counter as last read for a watched container (undefined before the first read). */
  killCount(id: string): number | undefined {
    return this.watches.get(id)?.last?.oomKill;
  }

  /** ids with a watch that has not ended */
  active(): string[] {
    return [...this.watches.values()].filter((w) => !w.ended).map((w) => w.id);
  }

  /**
   * The container ended (or is removed): one last re-read reports the kills not yet seen (through
   * onKill, before this resolves), then the watch is released. Resolves with the kernel's oom_kill
   * counter as last read, undefined if it was never read.
   */
  async unwatch(id: string): Promise<number | undefined> {
    const w = this.watches.get(id);
    if (!w) return undefined;
    await w.ready;
    await this.check(w);
    await this.end(w, 'unwatched');
    this.watches.delete(id);
    return w.last?.oomKill;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all(
      [...this.watches.values()].map(async (w) => {
        await w.ready;
        await this.end(w, 'closed');
      }),
    );
    this.watches.clear();
    // the shared poller gives its thread back by itself once every watch unregistered its eventfd
  }
}

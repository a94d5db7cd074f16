/**
 * The daemon's OOM watcher: it learns of every OOM kill in a container's memory cgroup as it
 * happens and hands each kill, with the counters and a `memory.stat` snapshot, to the Supervisor
 * (which emits the `oom` event and marks State.OOMKilled).
 *
 * Notifications only say "look now"; the kernel's counters say what happened (oom-counters.ts):
 * every notification re-reads the counters and diffs them against the last read, reads of one
 * container are serialized, and a slow periodic re-read (BACKSTOP_MS) catches what a lost
 * notification would hide. The notifications come from the cgroup driver (Cgroup.memoryEvents():
 * src/cgroups/v1/memory-events.ts and src/cgroups/v2/memory-events.ts own the eventfds and the
 * inotify watch); this file decides what to read when, and what a change means:
 *
 * - cgroup v2: a change of `memory.events`. When a read shows `oom` rose but not `oom_kill` (the
 *   killer is running), the re-read is repeated at short steps (FOLLOW_UP_MS) until `oom_kill` moves.
 * - cgroup v1: the memory controller's OOM notification, signalled when the OOM killer is about to
 *   run, before the kill, and once per OOM episode: the re-read is repeated at short steps
 *   (FOLLOW_UP_MS) until `oom_kill` has moved. The kernel also signals it when the cgroup is removed:
 *   the re-read then finds no file and the watch ends.
 *
 * The memory.stat snapshot: what filled the memory, not what is left once the kernel freed the
 * victim's. A snapshot is read when a notification comes, then the counters: if they still show no
 * new kill, the snapshot was read before the kill (the kernel counts a kill before it signals the
 * victim) and holds the victim's pages. The kill's event carries the fuller of the last snapshot
 * read before it and one read after it (oom-counters.ts killSnapshot), labelled `memory.stat_when`.
 * Notifications that come before a kill:
 *
 * - v1: besides the OOM notification (signalled as the OOM killer starts, but a PID-1 victim's pages
 *   were sometimes freed before the daemon's read: 1 kill in 30 on the host), a usage threshold of
 *   `memory.usage_in_bytes` (V1MemoryEventSource.watchUsageThreshold) a tenth under the limit, at
 *   most 16 MiB under (nearLimitThreshold): the kernel signals it when usage crosses it either way,
 *   while the hog still allocates and reclaim still runs. Set again when the limit changes
 *   (limitChanged).
 * - v2: `memory.events` `max` (usage reached memory.max, reclaim follows) before `oom` and `oom_kill`.
 *
 * It is read synchronously, on purpose: five small kernfs files, tens of microseconds and no disk,
 * whereas a thread-pool round trip lets the kernel finish the kill and free the memory first
 * (measured in the guest: the async snapshot showed anon 0, the synchronous one the hog's 32 MiB).
 * At most one per SNAPSHOT_MIN_INTERVAL_MS per container for v2 notifications and one per
 * THRESHOLD_MIN_INTERVAL_MS for v1 thresholds, so a cgroup grinding at its limit costs little;
 * every v1 OOM notification reads one.
 *
 * A watch ends when its cgroup is gone (ENOENT on a re-read, v2's 'gone' notification), on unwatch()
 * (the Supervisor's call when the container ended: one last re-read reports kills not yet seen,
 * before its `die`) or on close(); it closes its notification source then.
 */
import fs from 'node:fs';
import { posix as path } from 'node:path';
import { parseFlatKeyed, parseNumber, parseSingleValue } from '../cgroups/parse.js';
import type { CgroupMode, CgroupV1, CgroupV2, MemoryEventSource, MemoryNotification, V1MemoryEventSource } from '../cgroups/types.js';
import { fromV1Limit } from '../cgroups/v1/memory.js';
import type { Logger } from '../log.js';
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

/** The container's cgroup as the driver gives it (src/cgroups/types.ts Cgroup): its directory, and its notifications. */
export type OomWatchTarget = Pick<CgroupV1, 'mode' | 'paths' | 'memoryEvents'> | Pick<CgroupV2, 'mode' | 'dir' | 'memoryEvents'>;

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
  /** the driver's notifications of this cgroup; undefined once released */
  source: MemoryEventSource | undefined;
  /** v1: the usage threshold set, if any (bytes) */
  threshold: number | undefined;
  /** setup of the notification source; the watch's reads wait for it */
  ready: Promise<void>;
  reading: Promise<void> | undefined;
  again: boolean;
  timers: Set<NodeJS.Timeout>;
  ended: boolean;
}

/** the cgroup is gone: a node:fs error's code, or the errno of the driver's CgroupFileError */
function isGone(err: unknown): boolean {
  const e = err as { code?: string; errno?: unknown };
  return [e.code, e.errno].some((code) => code === 'ENOENT' || code === 'ENODEV' || code === 'ENOTDIR');
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
    const mode = target.mode;
    const dir = target.mode === 'v2' ? target.dir : target.paths.memory;
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
      source: undefined,
      threshold: undefined,
      ready: Promise.resolve(),
      reading: undefined,
      again: false,
      timers: new Set(),
      ended: false,
    };
    this.watches.set(id, w);
    w.ready = this.listen(w, target).then(
      () => this.check(w),
      (err: Error) => {
        this.o.log.warn('cannot watch the cgroup for OOM kills', { id, dir, err });
        w.ended = true;
        void w.source?.close(); // holds nothing after a failed setup; closed for good measure
      },
    );
    this.backstop ??= setInterval(() => {
      for (const each of this.watches.values()) if (!each.ended) void this.check(each);
    }, this.o.backstopMs ?? BACKSTOP_MS).unref();
  }

  /** the driver's notifications, routed by what they say; v1 also gets its usage threshold */
  private async listen(w: Watch, target: OomWatchTarget): Promise<void> {
    const source = target.memoryEvents({
      onError: (err) => (w.mode === 'v2' ? this.o.log.warn('OOM watch: chokidar error', { id: w.id, err }) : this.o.log.warn('fd poller', { err })),
    });
    w.source = source;
    source.onChange((what) => this.onNotification(w, what));
    await source.ready;
    if (source.mode === 'v1') await this.armThreshold(w, source);
  }

  private onNotification(w: Watch, what: MemoryNotification): void {
    if (what === 'oom') this.onV1Notification(w);
    else if (what === 'usage-threshold') this.onThreshold(w);
    else if (what === 'events') this.onV2Notification(w);
    else void this.end(w, 'memory.events is gone');
  }

  /**
   * v1: a usage threshold at nearLimitThreshold (see the header), replacing the one set before.
   * Without a limit there is none. A kernel that refuses thresholds (PREEMPT_RT kernels do) leaves the
   * OOM notification alone, with a warning.
   */
  private async armThreshold(w: Watch, source: V1MemoryEventSource): Promise<void> {
    const limitFile = path.join(w.dir, 'memory.limit_in_bytes');
    const limit = parsedOrUndefined(readOptionalSync(limitFile), parseSingleValue, limitFile);
    const threshold = limit === undefined ? undefined : nearLimitThreshold(fromV1Limit(limit));
    w.threshold = undefined;
    try {
      await source.watchUsageThreshold(threshold);
      w.threshold = threshold;
    } catch (err) {
      if (!isGone(err)) this.o.log.warn('no usage threshold: the OOM snapshot is read at the OOM notification only', { id: w.id, threshold, err });
    }
  }

  /**
   * The container's memory limit changed (an update): set the v1 usage threshold again for the new
   * limit. v2 needs nothing (its `max` notification follows memory.max by itself).
   */
  async limitChanged(id: string): Promise<void> {
    const w = this.watches.get(id);
    if (w?.mode !== 'v1') return;
    await w.ready;
    const source = w.source;
    if (w.ended || source?.mode !== 'v1') return;
    await this.armThreshold(w, source);
  }

  /** v1: usage crossed the threshold under the limit, up or down: the memory as it is now */
  private onThreshold(w: Watch): void {
    if (w.ended) return;
    const s = this.noteSnapshot(w, THRESHOLD_MIN_INTERVAL_MS);
    if (this.o.log.enabled('debug')) this.o.log.debug('memory usage crossed the OOM snapshot threshold', { id: w.id, threshold: w.threshold, usage: s?.usage, when: s?.when });
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
    const source = w.source;
    w.source = undefined;
    await source?.close().catch((err: Error) => this.o.log.warn('OOM watch: release failed', { id: w.id, err }));
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
    // the shared fd poller gives its thread back by itself once every v1 source closed its eventfds
  }
}

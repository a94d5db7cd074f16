/**
 * cgroup v1 memory notifications (Documentation/admin-guide/cgroup-v1/memory.rst, "Memory thresholds"
 * and "OOM Control"): an eventfd is registered by writing "<eventfd> <fd of the watched file> [args]"
 * to the cgroup's cgroup.event_control; the kernel signals the eventfd, and every eventfd of the
 * process is waited on by one epoll call on one thread (src/sys/fd-poller.ts, shared with the
 * supervisor's exit watching).
 *
 * - OOM: "<eventfd> <fd of memory.oom_control>". Signalled when the OOM killer is about to run, before
 *   the kill, once per OOM episode; also when the cgroup is removed.
 * - Usage threshold: "<eventfd> <fd of memory.usage_in_bytes> <bytes>". Signalled when usage crosses
 *   it, up or down. Own eventfd, one threshold each (see V1MemoryEventSource.watchUsageThreshold).
 *
 * The kernel takes its own references: the watched file's fd is needed only for the write. Closing
 * the eventfd unregisters the kernel's event (cgroup v1 drops it on EPOLLHUP).
 */
import fs from 'node:fs';
import { posix as path } from 'node:path';
import { sharedPoller, type FdPoller } from '../../sys/fd-poller.js';
import type { Syscalls } from '../../sys/syscalls.js';
import type { CgroupFs } from '../cgroupfs.js';
import { MemoryEventSourceBase } from '../memory-events.js';
import type { MemoryEventOptions, MemoryNotification, V1MemoryEventSource } from '../types.js';

/** the native calls the notifications need */
export type EventfdSyscalls = Pick<Syscalls, 'eventfd' | 'eventfdRead' | 'eventfdWrite' | 'epollCreate' | 'epollCtl' | 'epollWait' | 'close'>;

export interface V1MemoryEventsOptions extends MemoryEventOptions {
  fs: CgroupFs;
  /** the memory cgroup's directory */
  dir: string;
  /** the native calls, loaded when the first source is set up (v2 needs none) */
  syscalls: () => Promise<EventfdSyscalls>;
}

/** The text that registers `eventfd` for notifications on the file open as `fileFd`. */
export function eventControlLine(eventfd: number, fileFd: number, args?: number): string {
  return args === undefined ? `${eventfd} ${fileFd}` : `${eventfd} ${fileFd} ${args}`;
}

export class V1MemoryEvents extends MemoryEventSourceBase implements V1MemoryEventSource {
  readonly mode = 'v1' as const;
  private sys: EventfdSyscalls | undefined;
  private poller: FdPoller | undefined;
  private oomFd: number | undefined;
  private thresholdFd: number | undefined;
  /** threshold changes, one at a time (each replaces the eventfd of the one before) */
  private thresholds: Promise<void> = Promise.resolve();

  constructor(private readonly o: V1MemoryEventsOptions) {
    super(o.onError);
  }

  protected async setup(): Promise<void> {
    const sys = await this.o.syscalls();
    this.sys = sys;
    this.poller = sharedPoller(sys, (err) => this.o.onError?.(err));
    this.oomFd = await this.registerEventfd('memory.oom_control', undefined, 'oom');
  }

  /** a new eventfd, registered with the kernel for `file` and with the poller; closed again on failure */
  private async registerEventfd(file: string, args: number | undefined, what: MemoryNotification): Promise<number> {
    const sys = this.sys!;
    const efd = sys.eventfd();
    try {
      const watched = fs.openSync(path.join(this.o.dir, file), 'r');
      try {
        await this.o.fs.write(path.join(this.o.dir, 'cgroup.event_control'), eventControlLine(efd, watched, args));
      } finally {
        fs.closeSync(watched);
      }
      this.poller!.register(efd, () => this.emit(what));
    } catch (err) {
      sys.close(efd);
      throw err;
    }
    return efd;
  }

  private release(fd: number | undefined): void {
    if (fd === undefined) return;
    this.poller?.unregister(fd);
    this.sys?.close(fd);
  }

  watchUsageThreshold(bytes: number | undefined): Promise<void> {
    const next = this.thresholds.then(async () => {
      await this.ready;
      this.release(this.thresholdFd);
      this.thresholdFd = undefined;
      if (bytes === undefined || this.closed) return;
      this.thresholdFd = await this.registerEventfd('memory.usage_in_bytes', bytes, 'usage-threshold');
    });
    this.thresholds = next.catch(() => {});
    return next;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.ready.catch(() => {});
    await this.thresholds;
    this.release(this.thresholdFd);
    this.release(this.oomFd);
    this.thresholdFd = undefined;
    this.oomFd = undefined;
  }
}

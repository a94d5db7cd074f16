/**
 * Waits on many fds at once with ONE thread: cgroup v1 signals an eventfd when a memory cgroup runs
 * out of memory, and a pidfd becomes readable when its process ends; Node cannot watch an arbitrary
 * fd's readability from its event loop (net.Socket takes only sockets and pipes; fs reads of an
 * eventfd block a thread-pool thread each). A read per fd would hold one of libuv's 4 thread-pool
 * threads per container, and with 4 watched containers every fs call of the daemon would wait forever.
 *
 * So all the fds sit in one epoll set, and one koffi async call, `epoll_wait` with no timeout,
 * runs on one thread-pool thread while at least one eventfd is registered; when it returns, the
 * main thread drains the ready eventfds (a pidfd is dropped from the set instead: it stays readable),
 * calls their handlers and waits again. Adding an fd while
 * the wait runs needs no wake-up (the kernel's epoll set is shared); a wake eventfd in the set ends
 * the wait when the last fd goes (so an idle daemon holds no thread and no epoll fd) and on close(). Cost: one
 * thread of the pool, whatever the number of containers, only while any is watched; the daemon's
 * users of it share one (sharedPoller), so that OOM watching and exit watching do not hold two.
 */
import type { Syscalls } from './syscalls.js';

type EpollSyscalls = Pick<Syscalls, 'eventfd' | 'eventfdRead' | 'eventfdWrite' | 'epollCreate' | 'epollCtl' | 'epollWait' | 'close'>;

/** epoll_wait's batch size: more ready fds are simply reported by the next wait */
const MAX_EVENTS = 64;

/**
 * What a registered fd is: an eventfd (drained when ready, reported at each signal until unregistered)
 * or a pidfd (readable for good once its process ended: reported once, and dropped from the set first).
 */
export type PolledFd = 'eventfd' | 'pidfd';

export class FdPoller {
  private epfd: number | undefined;
  private wakeFd: number | undefined;
  private readonly handlers = new Map<number, { onReady: () => void; kind: PolledFd }>();
  private loop: Promise<void> | undefined;
  private closed = false;

  constructor(
    private readonly sys: EpollSyscalls,
    private readonly onError: (err: Error) => void = () => {},
  ) {}

  /**
   * An eventfd: call `onReady` (after draining it) each time it is signalled, until unregister. A pidfd:
   * call `onReady` once, when its process has ended (at once if it already has).
   */
  register(fd: number, onReady: () => void, kind: PolledFd = 'eventfd'): void {
    if (this.closed) throw new Error('fd poller: closed');
    if (this.epfd === undefined) {
      this.epfd = this.sys.epollCreate();
      this.wakeFd = this.sys.eventfd();
      this.sys.epollCtl(this.epfd, 'add', this.wakeFd);
    }
    this.sys.epollCtl(this.epfd, 'add', fd);
    this.handlers.set(fd, { onReady, kind });
    this.loop ??= this.run();
  }

  /** Stop reporting `fd` (the caller closes it); the waiting thread is released when none is left. */
  unregister(fd: number): void {
    if (!this.handlers.delete(fd) || this.epfd === undefined) return;
    this.sys.epollCtl(this.epfd, 'del', fd);
    if (this.handlers.size === 0 && this.wakeFd !== undefined) this.sys.eventfdWrite(this.wakeFd);
  }

  /** how many fds are registered */
  get size(): number {
    return this.handlers.size;
  }

  private async run(): Promise<void> {
    try {
      while (this.handlers.size > 0 && !this.closed && this.epfd !== undefined) {
        const ready = await this.sys.epollWait(this.epfd, MAX_EVENTS, -1);
        // without a timeout, nothing ready means EINTR or an error: do not spin on a broken set
        if (ready.length === 0) await new Promise((r) => setTimeout(r, 10));
        for (const fd of ready) {
          if (fd === this.wakeFd) {
            this.sys.eventfdRead(fd);
            continue;
          }
          const handler = this.handlers.get(fd);
          // unregistered while the wait ran (and maybe closed: the number may belong to a new fd)
          if (!handler) continue;
          if (handler.kind === 'pidfd') this.unregister(fd);
          else {
            try {
              this.sys.eventfdRead(fd);
            } catch (err) {
              this.onError(err as Error);
            }
          }
          try {
            handler.onReady();
          } catch (err) {
            this.onError(err as Error);
          }
        }
      }
    } catch (err) {
      this.onError(err as Error);
    } finally {
      this.loop = undefined;
      // registered again while the last wait ended: wait again; else give the fds back
      if (this.handlers.size > 0 && !this.closed) this.loop = this.run();
      else this.release();
    }
  }

  private release(): void {
    if (this.epfd !== undefined) this.sys.close(this.epfd);
    if (this.wakeFd !== undefined) this.sys.close(this.wakeFd);
    this.epfd = undefined;
    this.wakeFd = undefined;
  }

  /** End the wait and close the epoll and wake fds; the registered fds are the caller's to close. */
  async close(): Promise<void> {
    if (this.closed) return this.loop;
    this.closed = true;
    for (const fd of [...this.handlers.keys()]) this.unregister(fd);
    if (this.loop) {
      if (this.wakeFd !== undefined) this.sys.eventfdWrite(this.wakeFd);
      await this.loop;
    } else this.release();
  }
}

const shared = new WeakMap<object, FdPoller>();

/**
 * The one poller of this process for these syscalls (the daemon's OOM watcher and its exit watching
 * share it, and its thread). Never close() it: unregister your fds, and the thread is given back when
 * none is left.
 */
export function sharedPoller(sys: EpollSyscalls, onError: (err: Error) => void): FdPoller {
  let poller = shared.get(sys);
  if (!poller) {
    poller = new FdPoller(sys, onError);
    shared.set(sys, poller);
  }
  return poller;
}

/**
 * The TypeScript side's own native calls. koffi is confined to src/sys (this file, and preads.ts for the
 * sampler's own library): everything else talks to the `Syscalls` interface, so tests can pass the
 * recording fake in ./fake-syscalls.ts instead.
 * (Work that must happen between fork and exec is not here: that is the C launcher's job.)
 */
import { statSync } from 'node:fs';
import os from 'node:os';
import { SyscallError } from '../errors.js';

export interface Syscalls {
  /** pidfd_open(2): a descriptor that keeps naming this process even after its PID is reused */
  pidfdOpen(pid: number): number;
  /** pidfd_send_signal(2); `signal` is a name (SIGTERM) or number */
  pidfdSendSignal(pidfd: number, signal: NodeJS.Signals | number): void;
  /** statfs(2) f_type: the magic number of the file system holding `path` */
  statfsType(path: string): number;
  /** close(2) */
  close(fd: number): void;
  /**
   * pipe2(2) with O_CLOEXEC: [read end, write end]. A real pipe, where node:child_process would give
   * a socket pair: a process whose stdout is a socket cannot reopen it as /dev/stdout (ENXIO).
   */
  pipe(): [number, number];
  /** eventfd(2) with EFD_CLOEXEC | EFD_NONBLOCK: a counter the kernel can signal (cgroup v1 notifications) */
  eventfd(): number;
  /** read(2) of an eventfd: its counter, reset to 0; undefined when it is 0 (EAGAIN, non-blocking) */
  eventfdRead(fd: number): bigint | undefined;
  /** write(2) of 1 to an eventfd: wakes whoever polls it */
  eventfdWrite(fd: number): void;
  /** epoll_create1(EPOLL_CLOEXEC) */
  epollCreate(): number;
  /** epoll_ctl ADD (level-triggered EPOLLIN) or DEL; `fd` itself is the token epollWait reports */
  epollCtl(epfd: number, op: 'add' | 'del', fd: number): void;
  /**
   * epoll_wait(2) on a libuv thread-pool thread (koffi's async call), so the event loop stays free:
   * the fds that are readable, or [] on timeout or EINTR. `timeoutMs` -1 waits without end.
   */
  epollWait(epfd: number, maxEvents: number, timeoutMs: number): Promise<number[]>;
  /** poll(2) for readability of one fd, blocking this thread: true if readable, false on timeout */
  pollReadable(fd: number, timeoutMs: number): boolean;
  /** mkfifo(3); an existing FIFO at `path` is fine (EEXIST of anything else is an error) */
  mkfifo(path: string, mode: number): void;
  /** mknod(2): a device node or FIFO; `mode` holds the type (S_IFCHR, S_IFBLK, S_IFIFO) and permissions */
  mknod(path: string, mode: number, major: number, minor: number): void;
  /** lsetxattr(2): set an extended attribute of `path` itself (a symlink is not followed) */
  lsetxattr(path: string, name: string, value: Buffer): void;
  /** lgetxattr(2): the attribute's value, or undefined when `path` has no such attribute (ENODATA, or ENOTSUP: none of its namespace) */
  lgetxattr(path: string, name: string): Buffer | undefined;
  /** llistxattr(2): the names of the attributes of `path` itself ([] where the file system keeps none: ENOTSUP) */
  llistxattr(path: string): string[];
}

/** glibc's makedev(3): the dev_t of a device number (major's low 12 bits at 8, minor's low 8 bits at 0, the rest above). */
export function makedev(major: number, minor: number): bigint {
  const ma = BigInt(major);
  const mi = BigInt(minor);
  return ((ma & 0xfffn) << 8n) | ((ma & ~0xfffn) << 32n) | (mi & 0xffn) | ((mi & ~0xffn) << 12n);
}

/** ENODATA: no such attribute (the same number as ENOATTR) */
const ENODATA = 61;

/** Flags of pipe2(2), eventfd(2) and epoll_create1(2) (x86_64 and aarch64 share these values). */
const O_CLOEXEC = 0o2000000;
const EFD_NONBLOCK = 0o4000;
const EPOLLIN = 0x1;
const POLLIN = 0x1;
const EPOLL_CTL = { add: 1, del: 2 } as const;

/**
 * struct epoll_event is packed on x86_64 (4-byte events + 8-byte data = 12 bytes); elsewhere the
 * 8-byte data is aligned (16 bytes, data at offset 8).
 */
export const EPOLL_EVENT = process.arch === 'x64' ? { size: 12, dataOffset: 4 } : { size: 16, dataOffset: 8 };

/** statfs f_type magic numbers (include/uapi/linux/magic.h) */
export const FS_MAGIC = {
  CGROUP2: 0x63677270,
  CGROUP: 0x27e0eb,
  TMPFS: 0x01021994,
  OVERLAYFS: 0x794c7630,
  PROC: 0x9fa0,
} as const;

function errnoName(errno: number): string {
  for (const [name, value] of Object.entries(os.constants.errno)) if (value === errno) return name;
  return `E${errno}`;
}

function signalNumber(signal: NodeJS.Signals | number): number {
  if (typeof signal === 'number') return signal;
  const n = os.constants.signals[signal];
  if (n === undefined) throw new SyscallError('pidfd_send_signal', 22, 'EINVAL', `unknown signal ${signal}`);
  return n;
}

let loaded: Promise<Syscalls> | undefined;

/**
 * The real implementation, loading libc through koffi on first use (loading costs ~10 ms); one object
 * per process, so that its users share what hangs off it (sharedPoller).
 */
export function loadSyscalls(): Promise<Syscalls> {
  loaded ??= loadLibc();
  return loaded;
}

async function loadLibc(): Promise<Syscalls> {
  const { default: koffi } = await import('koffi');
  const libc = koffi.load('libc.so.6');
  const pidfd_open = libc.func('int pidfd_open(int pid, unsigned int flags)');
  const pidfd_send_signal = libc.func('int pidfd_send_signal(int pidfd, int sig, void *info, unsigned int flags)');
  const statfs = libc.func('int statfs(const char *path, _Out_ uint8_t *buf)');
  const close = libc.func('int close(int fd)');
  const pipe2 = libc.func('int pipe2(_Out_ int *fds, int flags)');
  const eventfd = libc.func('int eventfd(unsigned int initval, int flags)');
  const read = libc.func('long read(int fd, _Out_ uint8_t *buf, unsigned long count)');
  const write = libc.func('long write(int fd, const uint8_t *buf, unsigned long count)');
  const epoll_create1 = libc.func('int epoll_create1(int flags)');
  const epoll_ctl = libc.func('int epoll_ctl(int epfd, int op, int fd, const uint8_t *event)');
  // The output buffer is plain `void *` so that koffi hands the Buffer's own memory to the worker
  // thread; the buffer is kept referenced until the call completes.
  const epoll_wait = libc.func('int epoll_wait(int epfd, void *events, int maxevents, int timeout)');
  const poll = libc.func('int poll(void *fds, unsigned long nfds, int timeout)');
  const mkfifo = libc.func('int mkfifo(const char *path, unsigned int mode)');
  const mknod = libc.func('int mknod(const char *path, unsigned int mode, unsigned long dev)');
  const lsetxattr = libc.func('int lsetxattr(const char *path, const char *name, const uint8_t *value, unsigned long size, int flags)');
  const lgetxattr = libc.func('long lgetxattr(const char *path, const char *name, _Out_ uint8_t *value, unsigned long size)');
  const llistxattr = libc.func('long llistxattr(const char *path, _Out_ uint8_t *list, unsigned long size)');

  const fail = (syscall: string, detail: string): never => {
    const errno = koffi.errno();
    throw new SyscallError(syscall, errno, errnoName(errno), detail);
  };

  return {
    pidfdOpen(pid) {
      const fd = pidfd_open(pid, 0) as number;
      return fd >= 0 ? fd : fail('pidfd_open', `pid ${pid}`);
    },
    pidfdSendSignal(pidfd, signal) {
      if ((pidfd_send_signal(pidfd, signalNumber(signal), null, 0) as number) < 0) fail('pidfd_send_signal', `fd ${pidfd} ${signal}`);
    },
    statfsType(path) {
      // struct statfs on 64-bit Linux starts with `long f_type`; the struct is 120 bytes.
      const buf = Buffer.alloc(120);
      if ((statfs(path, buf) as number) < 0) fail('statfs', path);
      return Number(buf.readBigInt64LE(0));
    },
    close(fd) {
      if ((close(fd) as number) < 0) fail('close', `fd ${fd}`);
    },
    pipe() {
      const fds = [0, 0];
      if ((pipe2(fds, O_CLOEXEC) as number) < 0) fail('pipe2', 'O_CLOEXEC');
      return [fds[0]!, fds[1]!];
    },
    eventfd() {
      const fd = eventfd(0, O_CLOEXEC | EFD_NONBLOCK) as number;
      return fd >= 0 ? fd : fail('eventfd', '');
    },
    eventfdRead(fd) {
      const buf = Buffer.alloc(8);
      const n = Number(read(fd, buf, 8));
      if (n === 8) return buf.readBigUInt64LE(0);
      if (n < 0 && koffi.errno() === os.constants.errno.EAGAIN) return undefined;
      return fail('read', `eventfd ${fd}`);
    },
    eventfdWrite(fd) {
      const buf = Buffer.alloc(8);
      buf.writeBigUInt64LE(1n, 0);
      if (Number(write(fd, buf, 8)) !== 8) fail('write', `eventfd ${fd}`);
    },
    epollCreate() {
      const fd = epoll_create1(O_CLOEXEC) as number;
      return fd >= 0 ? fd : fail('epoll_create1', '');
    },
    epollCtl(epfd, op, fd) {
      const ev = Buffer.alloc(EPOLL_EVENT.size);
      ev.writeUInt32LE(EPOLLIN, 0);
      ev.writeBigUInt64LE(BigInt(fd), EPOLL_EVENT.dataOffset);
      if ((epoll_ctl(epfd, EPOLL_CTL[op], fd, ev) as number) < 0) fail('epoll_ctl', `${op} fd ${fd} to epoll fd ${epfd}`);
    },
    epollWait(epfd, maxEvents, timeoutMs) {
      const events = Buffer.alloc(EPOLL_EVENT.size * maxEvents);
      return new Promise((resolve) => {
        (epoll_wait.async as (...args: unknown[]) => void)(epfd, events, maxEvents, timeoutMs, (err: Error | null, n: number) => {
          // -1: EINTR (a signal landed on the worker thread) or a bad epfd; errno is the worker
          // thread's and cannot be read here, so the caller just waits again
          const ready: number[] = [];
          if (!err) for (let i = 0; i < n; i++) ready.push(Number(events.readBigUInt64LE(i * EPOLL_EVENT.size + EPOLL_EVENT.dataOffset)));
          resolve(ready);
        });
      });
    },
    pollReadable(fd, timeoutMs) {
      // struct pollfd { int fd; short events; short revents; }
      const pfd = Buffer.alloc(8);
      pfd.writeInt32LE(fd, 0);
      pfd.writeInt16LE(POLLIN, 4);
      const n = poll(pfd, 1, timeoutMs) as number;
      return n > 0 ? true : n === 0 ? false : fail('poll', `fd ${fd}`);
    },
    mkfifo(path, mode) {
      if ((mkfifo(path, mode) as number) === 0) return;
      if (koffi.errno() === os.constants.errno.EEXIST) {
        try {
          if (statSync(path).isFIFO()) return;
        } catch {
          // gone meanwhile: report the EEXIST below
        }
      }
      fail('mkfifo', path);
    },
    mknod(path, mode, major, minor) {
      if ((mknod(path, mode, makedev(major, minor)) as number) < 0) fail('mknod', `${path} mode 0${mode.toString(8)} ${major}:${minor}`);
    },
    lsetxattr(path, name, value) {
      if ((lsetxattr(path, name, value, value.length, 0) as number) < 0) fail('lsetxattr', `${path} ${name}`);
    },
    lgetxattr(path, name) {
      // no such attribute, or a namespace the file system keeps none of (user.* on tmpfs before 6.6)
      const absent = (errno: number) => errno === ENODATA || errno === os.constants.errno.ENOTSUP;
      // the size first, then the value: it may change in between (ERANGE), so ask again
      for (;;) {
        const size = Number(lgetxattr(path, name, null, 0));
        if (size < 0) return absent(koffi.errno()) ? undefined : fail('lgetxattr', `${path} ${name}`);
        const buf = Buffer.alloc(size);
        const n = Number(lgetxattr(path, name, buf, size));
        if (n >= 0) return buf.subarray(0, n);
        if (koffi.errno() !== os.constants.errno.ERANGE) return absent(koffi.errno()) ? undefined : fail('lgetxattr', `${path} ${name}`);
      }
    },
    llistxattr(path) {
      for (;;) {
        const size = Number(llistxattr(path, null, 0));
        if (size < 0) return koffi.errno() === os.constants.errno.ENOTSUP ? [] : fail('llistxattr', path);
        if (size === 0) return [];
        const buf = Buffer.alloc(size);
        const n = Number(llistxattr(path, buf, size));
        if (n >= 0)
          return buf
            .subarray(0, n)
            .toString('utf8')
            .split('\0')
            .filter((x) => x !== '');
        if (koffi.errno() !== os.constants.errno.ERANGE) return fail('llistxattr', path);
      }
    },
  };
}

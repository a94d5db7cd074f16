/**
 * The TypeScript side's own native calls. koffi is confined to this file: everything else talks to
 * the `Syscalls` interface, so tests can pass the recording fake in ./fake-syscalls.ts instead.
 * (Work that must happen between fork and exec is not here: that is the C launcher's job.)
 */
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
}

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

/** The real implementation, loading libc through koffi on first use (loading costs ~10 ms). */
export async function loadSyscalls(): Promise<Syscalls> {
  const { default: koffi } = await import('koffi');
  const libc = koffi.load('libc.so.6');
  const pidfd_open = libc.func('int pidfd_open(int pid, unsigned int flags)');
  const pidfd_send_signal = libc.func('int pidfd_send_signal(int pidfd, int sig, void *info, unsigned int flags)');
  const statfs = libc.func('int statfs(const char *path, _Out_ uint8_t *buf)');
  const close = libc.func('int close(int fd)');
  const pipe2 = libc.func('int pipe2(_Out_ int *fds, int flags)');
  const O_CLOEXEC = 0o2000000;

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
  };
}

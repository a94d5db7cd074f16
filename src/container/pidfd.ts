/**
 * A process named by a pid file (`<pid> <start time>`, native/PROTOCOL.md) as a pidfd: opened only
 * after /proc/PID/stat's start time matched the file, and checked once more after opening, so a PID
 * that the kernel reused for another process is never mistaken for ours. From then on the pidfd
 * names that process whatever happens to its PID: signals go through it, and its liveness is
 * pidfd_send_signal(fd, 0) (ESRCH once it has exited). Node has no way to wait on a pidfd's
 * readability in its event loop, so the caller polls.
 */
import { readFileSync } from 'node:fs';
import { constants } from 'node:os';
import type { Syscalls } from '../sys/syscalls.js';
import { SyscallError } from '../errors.js';
import { parsePidFile, procStatStartTime } from './records.js';

export interface ProcessHandle {
  pid: number;
  fd: number;
}

function isEsrch(err: unknown): boolean {
  return err instanceof SyscallError && err.errno === constants.errno.ESRCH;
}

// Synchronous reads: two tiny files, called from the exit poller's tick (a thread-pool round trip
// per read would cost more than the reads).
function startTimeOf(pid: number): string | undefined {
  try {
    return procStatStartTime(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return undefined;
  }
}

/** The process of a pid file as a pidfd, or undefined when the file is missing or that process is gone. */
export function openVerified(pidFile: string, sys: Syscalls): ProcessHandle | undefined {
  let text: string;
  try {
    text = readFileSync(pidFile, 'utf8');
  } catch {
    return undefined;
  }
  const p = parsePidFile(text);
  if (!p || startTimeOf(p.pid) !== p.startTime) return undefined;
  let fd: number;
  try {
    fd = sys.pidfdOpen(p.pid);
  } catch (err) {
    if (isEsrch(err)) return undefined;
    throw err;
  }
  // the process may have ended and its PID been reused between the check and the open
  if (startTimeOf(p.pid) !== p.startTime) {
    sys.close(fd);
    return undefined;
  }
  return { pid: p.pid, fd };
}

/** Whether the process behind a pidfd still exists (a signal 0 through the pidfd). */
export function isAlive(handle: ProcessHandle, sys: Syscalls): boolean {
  try {
    sys.pidfdSendSignal(handle.fd, 0);
    return true;
  } catch (err) {
    if (isEsrch(err)) return false;
    throw err;
  }
}

/** Send `signal` to the process of a pid file through a verified pidfd; false when it is not running. */
export async function signalVerified(pidFile: string, signal: number, sys: Syscalls): Promise<boolean> {
  const handle = openVerified(pidFile, sys);
  if (!handle) return false;
  try {
    sys.pidfdSendSignal(handle.fd, signal);
    return true;
  } catch (err) {
    if (isEsrch(err)) return false;
    throw err;
  } finally {
    sys.close(handle.fd);
  }
}

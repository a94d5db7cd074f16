/** A recording fake of `Syscalls` for tests that must not touch the kernel. */
import type { Syscalls } from './syscalls.js';

export type SyscallRecord =
  | { call: 'pidfdOpen'; pid: number }
  | { call: 'pidfdSendSignal'; pidfd: number; signal: NodeJS.Signals | number }
  | { call: 'statfsType'; path: string }
  | { call: 'close'; fd: number }
  | { call: 'pipe' }
  | { call: 'eventfd' | 'epollCreate'; fd: number }
  | { call: 'eventfdRead' | 'eventfdWrite'; fd: number }
  | { call: 'epollCtl'; epfd: number; op: 'add' | 'del'; fd: number }
  | { call: 'epollWait'; epfd: number }
  | { call: 'pollReadable'; fd: number; timeoutMs: number }
  | { call: 'mkfifo'; path: string; mode: number }
  | { call: 'mknod'; path: string; mode: number; major: number; minor: number }
  | { call: 'lsetxattr'; path: string; name: string; value: Buffer }
  | { call: 'lgetxattr'; path: string; name: string }
  | { call: 'llistxattr'; path: string };

export class FakeSyscalls implements Syscalls {
  readonly calls: SyscallRecord[] = [];
  private nextFd = 100;
  constructor(private readonly fsTypes: Record<string, number> = {}) {}
  pidfdOpen(pid: number): number {
    this.calls.push({ call: 'pidfdOpen', pid });
    return this.nextFd++;
  }
  pidfdSendSignal(pidfd: number, signal: NodeJS.Signals | number): void {
    this.calls.push({ call: 'pidfdSendSignal', pidfd, signal });
  }
  statfsType(path: string): number {
    this.calls.push({ call: 'statfsType', path });
    const t = this.fsTypes[path];
    if (t === undefined) throw new Error(`fake statfs: no type for ${path}`);
    return t;
  }
  close(fd: number): void {
    this.calls.push({ call: 'close', fd });
  }
  pipe(): [number, number] {
    this.calls.push({ call: 'pipe' });
    return [this.nextFd++, this.nextFd++];
  }
  eventfd(): number {
    const fd = this.nextFd++;
    this.calls.push({ call: 'eventfd', fd });
    return fd;
  }
  eventfdRead(fd: number): bigint | undefined {
    this.calls.push({ call: 'eventfdRead', fd });
    return undefined;
  }
  eventfdWrite(fd: number): void {
    this.calls.push({ call: 'eventfdWrite', fd });
  }
  epollCreate(): number {
    const fd = this.nextFd++;
    this.calls.push({ call: 'epollCreate', fd });
    return fd;
  }
  epollCtl(epfd: number, op: 'add' | 'del', fd: number): void {
    this.calls.push({ call: 'epollCtl', epfd, op, fd });
  }
  /** fds made ready by ready(), waiting for the next epollWait */
  private readyFds: number[] = [];
  private waiting: ((fds: number[]) => void) | undefined;
  /** ready only when the test says so (ready()): a fake has no kernel to signal it */
  epollWait(epfd: number): Promise<number[]> {
    this.calls.push({ call: 'epollWait', epfd });
    return new Promise((resolve) => {
      if (this.readyFds.length > 0) resolve(this.readyFds.splice(0));
      else this.waiting = resolve;
    });
  }
  /** Stand in for the kernel signalling `fd`: the pending (or next) epollWait reports it. */
  ready(fd: number): void {
    this.readyFds.push(fd);
    const resolve = this.waiting;
    this.waiting = undefined;
    resolve?.(this.readyFds.splice(0));
  }
  pollReadable(fd: number, timeoutMs: number): boolean {
    this.calls.push({ call: 'pollReadable', fd, timeoutMs });
    return false;
  }
  mkfifo(path: string, mode: number): void {
    this.calls.push({ call: 'mkfifo', path, mode });
  }
  mknod(path: string, mode: number, major: number, minor: number): void {
    this.calls.push({ call: 'mknod', path, mode, major, minor });
  }
  /** the attributes lsetxattr set, by path: what lgetxattr and llistxattr answer */
  readonly xattrs = new Map<string, Map<string, Buffer>>();
  lsetxattr(path: string, name: string, value: Buffer): void {
    this.calls.push({ call: 'lsetxattr', path, name, value });
    if (!this.xattrs.has(path)) this.xattrs.set(path, new Map());
    this.xattrs.get(path)!.set(name, value);
  }
  lgetxattr(path: string, name: string): Buffer | undefined {
    this.calls.push({ call: 'lgetxattr', path, name });
    return this.xattrs.get(path)?.get(name);
  }
  llistxattr(path: string): string[] {
    this.calls.push({ call: 'llistxattr', path });
    return [...(this.xattrs.get(path)?.keys() ?? [])];
  }
}

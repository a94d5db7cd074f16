/** A recording fake of `Syscalls` for tests that must not touch the kernel. */
import type { Syscalls } from './syscalls.js';

export type SyscallRecord =
  | { call: 'pidfdOpen'; pid: number }
  | { call: 'pidfdSendSignal'; pidfd: number; signal: NodeJS.Signals | number }
  | { call: 'statfsType'; path: string }
  | { call: 'close'; fd: number }
  | { call: 'pipe' };

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
}

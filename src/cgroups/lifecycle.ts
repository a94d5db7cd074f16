/** Bounded waiting and signalling shared by the drivers' kill/destroy. */
import { setTimeout as sleep } from 'node:timers/promises';
import { CorralError } from '../errors.js';
import { posix as path } from 'node:path';
import { isCgroupErrno, readPids, type CgroupFs } from './cgroupfs.js';

/** how long kill() waits for a cgroup to empty, and destroy() for rmdir to stop saying EBUSY */
export const DEFAULT_KILL_TIMEOUT_MS = 5000;
const POLL_MS = 10;

/** SIGKILL each pid; a pid that is already gone (ESRCH) is fine. */
export function killAll(pids: readonly number[]): void {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
    }
  }
}

/**
 * Poll `remaining` until it returns an empty list; `each` runs on every round with what remains (to
 * signal late arrivals). Throws after `timeoutMs`, naming what is left.
 */
export async function waitUntilEmpty(what: string, remaining: () => Promise<number[]>, timeoutMs: number, each?: (pids: number[]) => void | Promise<void>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const pids = await remaining();
    if (pids.length === 0) return;
    if (Date.now() >= deadline) {
      throw new CorralError('ECGROUPBUSY', `kill ${what}: processes ${pids.join(', ')} still present after ${timeoutMs} ms`);
    }
    await each?.(pids);
    await sleep(POLL_MS);
  }
}

/** rmdir that retries EBUSY for a while (the kernel releases a cgroup shortly after its last task exits). */
export async function rmdirRetrying(rmdir: () => Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await rmdir();
    } catch (err) {
      if (!isCgroupErrno(err, 'EBUSY') || Date.now() >= deadline) throw err;
      await sleep(POLL_MS);
    }
  }
}

/** rmdir `dir` and every cgroup below it, deepest first; a missing directory is fine. */
export async function removeTree(fs: CgroupFs, dir: string, timeoutMs: number): Promise<void> {
  for (const child of (await fs.subdirs(dir)) ?? []) await removeTree(fs, path.join(dir, child), timeoutMs);
  await rmdirRetrying(() => fs.rmdir(dir), timeoutMs);
}

/** The pids in cgroup `dir` and every cgroup below it (a container may nest its own); none when it is gone. */
export async function subtreePids(fs: CgroupFs, dir: string): Promise<number[]> {
  const own = await readPids(fs, path.join(dir, 'cgroup.procs'));
  const children = (await fs.subdirs(dir)) ?? [];
  const nested = await Promise.all(children.map((c) => subtreePids(fs, path.join(dir, c))));
  return [...new Set([...own, ...nested.flat()])];
}

/**
 * cgroup v1 freezer controller: freezer.state, written FROZEN or THAWED, reads FREEZING until every task
 * has stopped. As runc does (fs/freezer.go), freezing re-writes FROZEN until the state reads FROZEN, with
 * an occasional thaw and sleep: a v1 freeze can stall while new tasks keep arriving. runc gives up after
 * 1000 attempts (about a quarter of a second); on a machine whose CPUs are busy a forking workload
 * took longer than that to stop, so the bound here is time (FREEZE_TIMEOUT_MS), in runc's rhythm. On
 * failure the cgroup is thawed again: leaving it FREEZING is worse than not freezing.
 */
import { posix as path } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CorralError } from '../../errors.js';
import type { CgroupFs } from '../cgroupfs.js';

export type FreezerState = 'THAWED' | 'FREEZING' | 'FROZEN';

export async function state(fs: CgroupFs, dir: string): Promise<FreezerState> {
  const file = path.join(dir, 'freezer.state');
  const s = (await fs.read(file)).trim();
  if (s === 'THAWED' || s === 'FREEZING' || s === 'FROZEN') return s;
  throw new CorralError('EPARSE', `parse freezer.state (${file}): unexpected line "${s}"`);
}

/** How long a freeze keeps trying before it thaws the cgroup again and fails. */
export const FREEZE_TIMEOUT_MS = 5000;

export async function freeze(fs: CgroupFs, dir: string, timeoutMs = FREEZE_TIMEOUT_MS): Promise<void> {
  const file = path.join(dir, 'freezer.state');
  const deadline = performance.now() + timeoutMs;
  let attempts = 0;
  try {
    for (let i = 0; i < 1000 || performance.now() < deadline; i++) {
      attempts = i + 1;
      if (i % 50 === 49) {
        await fs.write(file, 'THAWED');
        await sleep(10);
      }
      await fs.write(file, 'FROZEN');
      const s = await state(fs, dir);
      if (s === 'FROZEN') return;
      if (i % 25 === 24) await sleep(1);
    }
  } catch (err) {
    await fs.write(file, 'THAWED').catch(() => undefined);
    throw err;
  }
  await fs.write(file, 'THAWED').catch(() => undefined);
  throw new CorralError('EFREEZE', `freeze ${dir}: freezer.state still FREEZING after ${timeoutMs} ms (${attempts} attempts); thawed again`);
}

export async function thaw(fs: CgroupFs, dir: string): Promise<void> {
  await fs.write(path.join(dir, 'freezer.state'), 'THAWED');
}

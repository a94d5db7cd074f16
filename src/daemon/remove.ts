/** Remove: refuse or force a running or restarting container, then take its cgroup, state dir and name away. */
import { constants as osConstants } from 'node:os';
import type { StoredContainer } from '../container/store.js';
import { ConflictError } from '../errors.js';
import { actorOf, type DaemonContext } from './context.js';
import { cancelRestart } from './restart.js';

export async function remove(d: DaemonContext, id: string, force: boolean): Promise<void> {
  // the monitor of the run the record is about, taken first (as in Supervisor.record)
  const recording = d.runtimes.peek(id)?.monitor;
  const r = await d.record(id);
  if (r.status === 'restarting') {
    if (!force) throw new ConflictError(`You cannot remove a restarting container ${id}. Stop the container before attempting removal or force remove`);
    cancelRestart(d, id);
    await d.runtimes.peek(id)?.launching?.catch(() => {});
    const now = await d.record(id);
    if (now.status === 'running') return remove(d, id, true);
  } else if (r.status === 'running') {
    if (!force && r.paused) throw new ConflictError(`You cannot remove a paused container ${id}. Unpause and then stop the container before attempting removal or force remove`);
    if (!force) throw new ConflictError(`You cannot remove a running container ${id}. Stop the container before attempting removal or force remove`);
    // a paused one is thawed by the SIGKILL's kill (pause.ts), so that it ends
    d.runtimes.of(id).canceled = true;
    const ended = d.watch(id);
    await d.kill(id, osConstants.signals.SIGKILL).catch(() => {});
    await ended;
    // with AutoRemove the monitor removed it already
    if (!(await d.store.exists(id))) return;
  } else if (r.status !== 'created') {
    await recording;
  }
  await discard(d, id, r.name);
}

/** Remove a container that does not run: its cgroup (if still there), state dir and name. */
export async function discard(d: DaemonContext, id: string, name: string | undefined, known: { stored?: StoredContainer; cgroupGone?: boolean } = {}): Promise<void> {
  cancelRestart(d, id);
  const stored = known.stored ?? (await d.store.readConfig(id).catch(() => undefined));
  const actor = actorOf(id, stored);
  if (stored && !known.cgroupGone) {
    const driver = await d.driver(stored.config.cgroupParent);
    await driver
      .open(id)
      .destroy()
      .catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'ENOENT') throw err;
      });
  }
  const waiters = d.runtimes.peek(id)?.waiters.splice(0) ?? [];
  // a wait for the next exit or an attach to a container removed before it ran again ends with the last run's code
  const lastCode = waiters.length > 0 ? ((await d.store.readRunState(id).catch(() => undefined))?.lastExit?.exitCode ?? 0) : 0;
  await d.store.remove(id, name);
  // what is still pending holds its own reference: the table forgets the container
  d.runtimes.drop(id);
  for (const resolve of waiters) resolve(lastCode);
  d.events.container('destroy', actor);
}

/**
 * Pause and unpause, as moby's daemon/pause.go and unpause.go: every task of the container's cgroup
 * stopped by the kernel's freezer (v1 freezer.state, v2 cgroup.freeze), then let go again. The
 * workload is not told (no signal): it simply makes no progress until it is thawed.
 *
 * The paused mark lives in state.json (run-state.ts), so that ps and inspect read it with the rest
 * of the record and it survives a daemon restart. It is written only while the cgroup is frozen
 * (after the freeze; before the thaw), when no task can end and the monitor cannot be recording
 * the run's end at the same moment; at adopt it is made to agree with the cgroup's freezer, the
 * kernel's word being final (a daemon that died between the two steps leaves them apart).
 *
 * A stopping signal to a paused container (kill-stop.ts: the stop signal or SIGKILL) is sent and
 * then the cgroup thawed, as moby's killWithSignal resumes the task after the kill: a cgroup v1
 * frozen task does not act even on SIGKILL until it is thawed, so stop, kill and rm -f would
 * otherwise wait forever. Any other signal stays queued until the unpause, as under Docker.
 * Pause, unpause and a signal's send-and-thaw go one at a time per container.
 */
import type { Cgroup } from '../cgroups/types.js';
import type { RunState } from '../container/run-state.js';
import type { StoredContainer } from '../container/store.js';
import { ConflictError, CorralError } from '../errors.js';
import type { DaemonContext } from './context.js';

/** Run `fn` after the container's pause, unpause or signal in progress (ContainerRuntime.freezer). */
function exclusive<T>(d: DaemonContext, id: string, fn: () => Promise<T>): Promise<T> {
  const rt = d.runtimes.of(id);
  const next = (rt.freezer ?? Promise.resolve()).catch(() => {}).then(fn);
  rt.freezer = next;
  void next
    .finally(() => {
      if (rt.freezer === next) rt.freezer = undefined;
    })
    .catch(() => {});
  return next;
}

async function cgroupOf(d: DaemonContext, id: string, stored?: Pick<StoredContainer, 'config'>): Promise<Cgroup> {
  const config = (stored ?? (await d.store.readConfig(id))).config;
  return (await d.driver(config.cgroupParent)).open(id);
}

/**
 * Set or clear the paused mark of the running run. A container a client runs in its foreground
 * (`corral run` through the daemon) has no state.json while it runs: it gets one, as the monitor
 * writes one at its end anyway. A run that is over keeps its recorded end untouched.
 */
async function markPaused(d: DaemonContext, id: string, paused: boolean): Promise<void> {
  const st: RunState = (await d.store.readRunState(id)) ?? { status: 'running', restartCount: 0, manuallyStopped: false };
  if (st.status !== 'running' || (st.paused === true) === paused) return;
  const { paused: _, ...rest } = st;
  await d.store.writeRunState(id, paused ? { ...rest, paused: true } : rest);
}

/** Docker's pause: 409 unless the container runs and is not paused; the freeze, the mark, a `pause` event. */
export function pause(d: DaemonContext, id: string): Promise<void> {
  return exclusive(d, id, async () => {
    const r = await d.record(id);
    // moby's order and words (daemon/pause.go; 20.10's capitalised messages)
    if (r.status === 'restarting') throw new ConflictError(`Container ${id} is restarting, wait until the container is running`);
    if (r.status !== 'running') throw new ConflictError(`Container ${id} is not running`);
    if (r.paused) throw new ConflictError(`Container ${id} is already paused`);
    // Frozen with a SIGKILL pending, the run could not end (cgroup v1 holds even SIGKILL), and
    // rm -f or stop would wait on it: a container that was sent SIGKILL is left to end.
    if (d.runtimes.peek(id)?.sigkilled) throw new ConflictError(`Container ${id} is not running: it was sent SIGKILL and is ending`);
    const cgroup = await cgroupOf(d, id);
    try {
      await cgroup.freeze();
    } catch (err) {
      // half frozen is worse than not paused (v1's freeze thaws by itself; v2's may time out frozen)
      await cgroup.thaw().catch((e: Error) => d.log.warn('cannot thaw after a failed pause', { id, error: e.message }));
      throw new CorralError('EPAUSE', `Cannot pause container ${id}: ${(err as Error).message}`, { cause: err });
    }
    await markPaused(d, id, true);
    await d.emit('pause', id);
  });
}

/** Clear the mark, then thaw (the mark is written while still frozen); restores the mark if the thaw fails. */
async function thaw(d: DaemonContext, id: string): Promise<void> {
  const cgroup = await cgroupOf(d, id);
  await markPaused(d, id, false);
  try {
    await cgroup.thaw();
  } catch (err) {
    await markPaused(d, id, true).catch(() => {});
    throw new CorralError('EUNPAUSE', `Cannot unpause container ${id}: ${(err as Error).message}`, { cause: err });
  }
  await d.emit('unpause', id);
}

/** Docker's unpause: 409 unless the container is paused; the thaw, the mark cleared, an `unpause` event. */
export function unpause(d: DaemonContext, id: string): Promise<void> {
  return exclusive(d, id, async () => {
    const r = await d.record(id);
    if (!r.paused) throw new ConflictError(`Container ${id} is not paused`);
    await thaw(d, id);
  });
}

/**
 * Send a signal (`send`: false when the workload is gone) with no pause or unpause in between;
 * a stopping one (the stop signal, SIGKILL) to a paused container is followed by the thaw, so that
 * it is acted on. A thaw that fails is logged: the signal was sent, the caller's wait decides.
 */
export function signalThawing(d: DaemonContext, id: string, stopping: boolean, send: () => Promise<boolean>): Promise<boolean> {
  return exclusive(d, id, async () => {
    if (!(await send())) return false;
    if (stopping && (await d.store.readRunState(id))?.paused) {
      await thaw(d, id).catch((err: Error) => d.log.warn('cannot unpause a container after a stopping signal', { id, error: err.message }));
    }
    return true;
  });
}

/**
 * At adopt, for a container that was running: the paused mark made to agree with the cgroup's
 * freezer. A freeze in force that the mark does not show (a daemon that died between a freeze and
 * its mark, or between an unpause's clearing of the mark and its thaw) is shown as paused, so that
 * it can be unpaused; a mark without a freeze (a thaw from outside corral) is cleared.
 */
export function adoptPaused(d: DaemonContext, id: string, stored: Pick<StoredContainer, 'config'>): Promise<void> {
  return exclusive(d, id, async () => {
    const run = await d.store.readRunState(id);
    if (run !== undefined && run.status !== 'running') return;
    const frozen = await (await cgroupOf(d, id, stored)).frozen();
    if (frozen === (run?.paused === true)) return;
    d.log.warn(frozen ? 'the cgroup is frozen: the container is shown as paused' : 'the cgroup is not frozen: the container is no longer shown as paused', { id });
    await markPaused(d, id, frozen);
  });
}

/**
 * Start: launch the container's detached launcher (again, or for the first time), one launch at a
 * time per container. A restart re-uses the writable layer, the log and the launcher spec, and
 * makes the cgroup again from the stored (maybe updated) limits: the cgroup goes at every exit.
 */
import { startLauncher } from '../container/launcher.js';
import type { RunState } from '../container/run-state.js';
import { launchFailure } from '../container/run.js';
import { ConflictError, CorralError, InvalidParameterError } from '../errors.js';
import { actorOf, type DaemonContext, type LaunchReason } from './context.js';
import { watchOom } from './monitor.js';

/**
 * Start a container: 'started', or 'running' when it already runs or waits to restart (304, as
 * Docker: a restarting container counts as running). An exited container starts again, with its
 * restart count reset and restarts enabled again (moby's start resets the restart manager).
 */
export async function start(d: DaemonContext, id: string): Promise<'started' | 'running'> {
  // the monitor of the run the record is about, taken first (as in Supervisor.record)
  const recording = d.runtimes.peek(id)?.monitor;
  const r = await d.record(id);
  // moby's start.go: a paused container is no 304
  if (r.paused) throw new ConflictError('cannot start a paused container, try unpause instead');
  if (r.status === 'running' || r.status === 'restarting') return 'running';
  // an exit being recorded (and maybe auto-removed) right now: let that finish first
  if (r.status !== 'created') await recording;
  await d.launch(id, 'user');
  return 'started';
}

/**
 * Launch the container's launcher. `user`: a start by the user, which resets the restart count
 * and the manual-stop mark; `policy`: a restart by the policy; `daemon`: a restart at daemon
 * start. Serialised per container.
 */
export function launch(d: DaemonContext, id: string, why: LaunchReason): Promise<void> {
  const rt = d.runtimes.of(id);
  const previous = rt.launching ?? Promise.resolve();
  const next = previous.catch(() => {}).then(() => launchNow(d, id, why));
  rt.launching = next;
  void next
    .finally(() => {
      if (rt.launching === next) rt.launching = undefined;
    })
    .catch(() => {});
  return next;
}

async function launchNow(d: DaemonContext, id: string, why: LaunchReason): Promise<void> {
  const r = await d.record(id);
  if (why === 'user' && r.status === 'running') return;
  const stored = await d.store.readConfig(id);
  const prev = await d.store.readRunState(id);
  const rt = d.runtimes.of(id);
  if (why === 'user') {
    rt.canceled = false;
    rt.backoffMs = 0;
  }
  rt.sigkilled = false;
  if (r.status !== 'created') {
    // the cgroup went with the last run: make it again from the stored (maybe updated) limits
    const driver = await d.driver(stored.config.cgroupParent);
    await driver.open(id).destroy();
    await driver.create(id, stored.config.resources);
    await d.store.clearRunFiles(id);
  }
  const launch = startLauncher(d.store.file(id, 'spec'), 'ignore');
  const outcome = await launch.launched.catch((err: Error) => {
    throw new CorralError('ESTARTFAILED', `start launcher: ${err.message}`);
  });
  await launch.ended;
  const state: RunState = {
    status: 'running',
    restartCount: why === 'user' ? 0 : (prev?.restartCount ?? 0),
    manuallyStopped: false,
    startedAt: new Date().toISOString(),
    ...(prev?.lastExit ? { lastExit: prev.lastExit } : {}),
  };
  await d.store.writeRunState(id, state);
  rt.monitor = undefined;
  // a fresh cgroup each run: its counters start at 0
  await watchOom(d, id, stored, 'zero');
  const ended = d.watch(id);
  if (outcome.kind === 'failed') {
    const failure = launchFailure(outcome.error, stored.config.isolation.command[0] ?? '');
    await ended;
    // 125: corral failed (a 500); 126/127: the command cannot run (a 400, as Docker's)
    throw failure.exitCode === 125 ? new CorralError('ESTARTFAILED', failure.message) : new InvalidParameterError(failure.message);
  }
  d.events.container('start', actorOf(id, stored));
}

/**
 * Monitor: follow a run to its end and record it, as moby's monitor does. One shared poll loop
 * (exit-poller.ts) looks for every launcher's `exit` file every 50 ms and, about once a second,
 * checks that the launcher is still alive through a pidfd, opened only after the launcher's start
 * time matched `launcher.pid` (so a reused PID is never mistaken for it). Polling, because a
 * pidfd's readability needs an event-loop hook that Node does not offer; it works the same for a
 * launcher this daemon started and one it re-adopted. The `exit` file is written only after the
 * log is complete, so a container whose `exit` exists has all its output logged.
 *
 * At the end: the kernel's oom_kill counter from the OOM watcher's last re-read (one `oom` event
 * per kill while it ran), the end in state.json, the cgroup destroyed, then the restart policy
 * (container/restart-policy.ts) decides: restart after the back-off, or with AutoRemove remove it.
 */
import type { ExitFile } from '../container/records.js';
import { decideRestart, NO_RESTART } from '../container/restart-policy.js';
import type { StoredContainer } from '../container/store.js';
import { isAlive, openVerified, type ProcessHandle } from '../container/pidfd.js';
import { sharedPoller } from '../sys/fd-poller.js';
import { actorOf, type DaemonContext } from './context.js';
import { scheduleRestart } from './restart.js';

/** Follow the container's OOM kills: one `oom` event per kill, as the kernel's counter moves. */
export async function watchOom(d: DaemonContext, id: string, stored: Pick<StoredContainer, 'config' | 'name'>, baseline: 'zero' | 'current'): Promise<void> {
  const actor = actorOf(id, stored);
  d.runtimes.of(id).actor = actor;
  const cgroup = (await d.driver(stored.config.cgroupParent)).open(id);
  // the actor as it is at the kill: a rename meanwhile changed the runtime's
  d.oom.watch(id, cgroup, (kill) => d.events.container('oom', d.runtimes.peek(id)?.actor ?? actor, kill.attributes), { baseline });
}

/** Follow a started container until its `exit` file appears (or its launcher is gone), then record its end. */
export function watch(d: DaemonContext, id: string): Promise<number> {
  const rt = d.runtimes.of(id);
  if (rt.monitor) return rt.monitor;
  const w = follow(d, id);
  rt.monitor = w;
  w.catch((err: Error) => d.log.error('container watch failed', { id, err }));
  return w;
}

async function follow(d: DaemonContext, id: string): Promise<number> {
  const dir = d.store.dir(id);
  const launcherPid = d.store.file(id, 'launcherPid');
  const rt = d.runtimes.of(id);
  const sys = await d.sys();
  // the launcher as a pidfd, opened only once its start time matched `launcher.pid`. In the
  // shared epoll set it says when the launcher ends; the poll loop also asks it about once a
  // second, as a backstop, and opens it there if `launcher.pid` was not written yet.
  const poller = sharedPoller(sys, (err) => d.log.warn('fd poller', { err }));
  let launcher: ProcessHandle | undefined;
  const alive = () => {
    if (!launcher && !d.closed) {
      launcher = openVerified(launcherPid, sys);
      if (launcher) {
        poller.register(launcher.fd, () => d.exits.launcherEnded(dir), 'pidfd');
        d.exits.notified(dir);
      }
    }
    return launcher !== undefined && isAlive(launcher, sys);
  };
  // given back when the container ended, or by close(): a pidfd left in the epoll set would keep
  // the daemon's process alive after it stopped
  const release = () => {
    if (rt.releaseLauncher === release) rt.releaseLauncher = undefined;
    if (!launcher) return;
    poller.unregister(launcher.fd);
    sys.close(launcher.fd);
    launcher = undefined;
  };
  rt.releaseLauncher = release;
  let exit: ExitFile | undefined;
  try {
    // one loop serves every container (exit-poller.ts); 'launcher-gone': SIGKILLed, no `exit`
    const ended = d.exits.ended(dir, alive);
    alive();
    if ((await ended) === 'exit-file') exit = await d.store.readExit(id).catch(() => undefined);
  } finally {
    release();
  }
  return recordEnd(d, id, exit);
}

/** Record how a run ended, clean its cgroup up, and restart it, remove it or leave it exited. */
async function recordEnd(d: DaemonContext, id: string, exit: ExitFile | undefined): Promise<number> {
  const stored = await d.store.readConfig(id);
  const prev = await d.store.readRunState(id).catch(() => undefined);
  const rt = d.runtimes.of(id);
  const cgroup = (await d.driver(stored.config.cgroupParent)).open(id);
  // the watcher's last re-read emits the `oom` events of kills not yet reported, before the die
  // below; without a watch, the kernel's counter (a counter that cannot be read counts no kill)
  const kills = (await d.oom.unwatch(id)) ?? (await cgroup.oomKillCount().catch(() => undefined));
  const oom = (kills ?? 0) > 0;
  // no `exit` file: the launcher was SIGKILLed with its workload (Docker's code for SIGKILL)
  let code = exit?.exitCode ?? 128 + 9;
  if (oom && code === 128 + 9) code = 137;
  await cgroup.destroy().catch((err: Error) => d.log.warn('cannot remove the cgroup', { id, err }));
  const finishedAt = exit?.time ?? new Date().toISOString();
  const startedAt = prev?.startedAt;
  const policy = stored.config.restartPolicy ?? NO_RESTART;
  const manuallyStopped = prev?.manuallyStopped ?? false;
  const restartCount = prev?.restartCount ?? 0;
  // a run that never started (setup failed) is not restarted: it would fail again at once
  const decision =
    exit?.setupFailed === true
      ? { restart: false, backoffMs: 0 }
      : decideRestart({
          policy,
          exitCode: code,
          manuallyStopped,
          canceled: rt.canceled || d.closed,
          restartCount,
          ranMs: startedAt ? new Date(finishedAt).getTime() - new Date(startedAt).getTime() : 0,
          backoffMs: rt.backoffMs,
        });
  rt.backoffMs = decision.backoffMs;
  const lastExit = { exitCode: code, oomKilled: oom, finishedAt, ...(exit?.signal !== undefined ? { signal: exit.signal } : {}) };
  // with AutoRemove and no restart the container goes at once: its state is not worth two fsyncs
  if (decision.restart || !stored.config.rm)
    await d.store.writeRunState(id, {
      status: decision.restart ? 'restarting' : 'exited',
      restartCount: restartCount + (decision.restart ? 1 : 0),
      manuallyStopped,
      ...(startedAt ? { startedAt } : {}),
      lastExit,
    });
  d.log.info('container exited', { id, exitCode: code, oomKilled: oom, ...(decision.restart ? { restartInMs: decision.backoffMs, restartCount: restartCount + 1 } : {}) });
  d.events.container('die', actorOf(id, stored), { exitCode: code });
  for (const resolve of rt.waiters.splice(0)) resolve(code);
  if (decision.restart) scheduleRestart(d, id, decision.backoffMs);
  else if (stored.config.rm) await d.discard(id, stored.name, { stored, cgroupGone: true }).catch((err: Error) => d.log.warn('auto-remove failed', { id, err }));
  return code;
}

/** Block until the container has exited; its exit code. */
export async function wait(d: DaemonContext, id: string): Promise<number> {
  // A started container has a watch until its exit is recorded and, with AutoRemove, its files
  // are gone: join it rather than read files that auto-removal may be deleting right now.
  const inflight = d.runtimes.peek(id)?.monitor;
  if (inflight) return inflight;
  const r = await d.record(id);
  if (r.status === 'exited' || r.status === 'restarting') {
    // recorded (by this daemon in state.json, or by a foreground run in config.json), not just exited
    const run = await d.store.readRunState(id);
    const foregroundEnded = !run && (await d.store.readConfig(id)).state !== undefined;
    if ((run && run.status !== 'running') || foregroundEnded) return r.exitCode ?? 0;
  }
  if (r.status === 'running' || r.status === 'dead' || r.status === 'exited') return watch(d, id);
  return new Promise<number>((resolve) => d.runtimes.of(id).waiters.push(resolve));
}

/**
 * Block until the end of the run under way, or of the next one when none is (Docker's wait
 * condition next-exit; what attach streams until); its exit code. A container removed meanwhile
 * answers with the code of its last run (discard settles the waiters).
 */
export async function nextExit(d: DaemonContext, id: string): Promise<number> {
  // waiting from this call on, before anything is awaited: a start sent as soon as the wait's
  // headers arrived cannot end before the waiter is there
  let settle!: (code: number) => void;
  const ended = new Promise<number>((resolve) => (settle = resolve));
  const waiters = d.runtimes.of(id).waiters;
  waiters.push(settle);
  try {
    await d.record(id); // NoSuchContainer
  } catch (err) {
    const i = waiters.indexOf(settle);
    if (i >= 0) waiters.splice(i, 1);
    throw err;
  }
  return ended;
}

/**
 * Block until the container is removed (Docker's wait condition removed: `docker run --rm` waits so,
 * with AutoRemove); the exit code of its last run, 0 when it never ran.
 */
export async function waitRemoved(d: DaemonContext, id: string): Promise<number> {
  let lastCode: number | undefined;
  let removed!: () => void;
  const gone = new Promise<void>((resolve) => (removed = resolve));
  let destroyed = false;
  // listening before the record is read: a removal in between is not missed
  const stop = d.events.subscribe((e) => {
    if (e.Type !== 'container' || e.Actor.ID !== id) return;
    if (e.Action === 'die') lastCode = Number(e.Actor.Attributes.exitCode);
    else if (e.Action === 'destroy') {
      destroyed = true;
      removed();
    }
  });
  try {
    const r = await d.record(id).catch((err: unknown) => {
      if (destroyed) return undefined;
      throw err;
    });
    const recorded = r?.exitCode;
    await gone;
    return lastCode ?? recorded ?? 0;
  } finally {
    stop();
  }
}

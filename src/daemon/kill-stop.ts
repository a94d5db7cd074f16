/**
 * Kill, stop and restart by the user: signals to the workload, and the restarts they cancel. A
 * paused container is signalled too: a stopping signal thaws it so that it acts on it (pause.ts).
 */
import { constants as osConstants } from 'node:os';
import { signalVerified } from '../container/pidfd.js';
import { parseSignal } from '../container/signals.js';
import { ConflictError } from '../errors.js';
import type { DaemonContext } from './context.js';
import { signalThawing } from './pause.js';
import { markManuallyStopped, stopRestarting } from './restart.js';

/** Docker's default stop timeout, in seconds. */
const DEFAULT_STOP_SECONDS = 10;

/** The container's stop signal (--stop-signal, Config.StopSignal) and timeout, Docker's SIGTERM and 10 s by default. */
async function stopSettings(d: DaemonContext, id: string): Promise<{ signal: number; seconds: number }> {
  const { config } = await d.store.readConfig(id);
  // checked at create; a record written by hand that is no signal falls back to SIGTERM rather than blocking stop
  let signal: number = osConstants.signals.SIGTERM;
  try {
    if (config.stopSignal !== undefined) signal = parseSignal(config.stopSignal);
  } catch {}
  const t = config.stopTimeout ?? DEFAULT_STOP_SECONDS;
  return { signal, seconds: t < 0 ? 86_400 : t };
}

export async function kill(d: DaemonContext, id: string, signal: number): Promise<void> {
  const r = await d.record(id);
  // the signals that end a run the user asked to end: Docker cancels restarts for the container's stop signal and SIGKILL
  const stoppingSignals = new Set([(await stopSettings(d, id)).signal, osConstants.signals.SIGKILL]);
  if (r.status === 'restarting') {
    // nothing runs: a stopping signal cancels the pending restart (moby), any other is a no-op
    if (stoppingSignals.has(signal)) await stopRestarting(d, id);
    await d.emit('kill', id, { signal });
    return;
  }
  if (r.status !== 'running' || r.pid === undefined) throw new ConflictError(`Container ${id} is not running`);
  const stopping = stoppingSignals.has(signal);
  await markManuallyStopped(d, id, stopping);
  // To the workload directly: as pid 1 of its namespace it gets only the signals it handles (and
  // SIGKILL), as under Docker; through the launcher SIGKILL could not be forwarded.
  const sys = await d.sys();
  const sent = await signalThawing(d, id, stopping, async () => {
    const ok = await signalVerified(d.store.file(id, 'pid'), signal, sys);
    if (ok && signal === osConstants.signals.SIGKILL) d.runtimes.of(id).sigkilled = true;
    return ok;
  });
  if (!sent) throw new ConflictError(`Container ${id} is not running`);
  await d.emit('kill', id, { signal });
}

/**
 * The stop signal (SIGTERM unless --stop-signal), then SIGKILL after `seconds` (the container's
 * --stop-timeout, else 10, when not given); false when it was not running (304). Cancels restarts
 * until the next start.
 */
export async function stop(d: DaemonContext, id: string, given?: number): Promise<boolean> {
  const r = await d.record(id);
  if (r.status === 'restarting') {
    await stopRestarting(d, id);
    await d.emit('stop', id);
    return true;
  }
  if (r.status !== 'running') return false;
  const settings = await stopSettings(d, id);
  const seconds = given ?? settings.seconds;
  const ended = d.watch(id);
  await d.kill(id, settings.signal).catch(() => {});
  const timedOut = await Promise.race([ended.then(() => false), new Promise<boolean>((res) => setTimeout(() => res(true), seconds * 1000).unref())]);
  if (timedOut) {
    await d.kill(id, osConstants.signals.SIGKILL).catch(() => {});
    await ended;
  }
  await d.emit('stop', id);
  return true;
}

/** Docker's restart: stop (the stop signal, SIGKILL after `seconds`) when running, then start; emits `restart`. */
export async function restart(d: DaemonContext, id: string, seconds?: number): Promise<void> {
  await stop(d, id, seconds);
  await d.launch(id, 'user');
  await d.emit('restart', id);
}

/**
 * Adopt, at daemon start: release the names an interrupted rename left claimed, move corrupt state
 * files aside and bring old layouts up to date (ContainerStore.checkAndMigrate), then follow every
 * container that was running (one that exited meanwhile gets its recorded exit and its restart
 * policy; a paused one stays paused), resume the restarts that were waiting, and start the exited
 * containers their policy brings back on a daemon start.
 */
import { readContainerRecord } from '../container/records.js';
import { BACKOFF_INITIAL_MS, formatRestartPolicy, NO_RESTART, restartOnDaemonStart } from '../container/restart-policy.js';
import type { DaemonContext } from './context.js';
import { watchOom } from './monitor.js';
import { adoptPaused } from './pause.js';
import { scheduleRestart } from './restart.js';

export async function adopt(d: DaemonContext): Promise<void> {
  // a rename interrupted by the end of the last daemon left its new or old name claimed twice
  const stale = await d.store.releaseStaleNames().catch((err: Error) => {
    d.log.warn('cannot check the names for ones a rename left behind', { error: err.message });
    return [];
  });
  for (const name of stale) d.log.warn('a name an interrupted rename left claimed was released', { name });
  for (const id of await d.store.ids()) {
    try {
      await adoptOne(d, id);
    } catch (err) {
      d.log.warn('cannot adopt container', { id, error: (err as Error).message });
    }
  }
}

async function adoptOne(d: DaemonContext, id: string): Promise<void> {
  for (const q of await d.store.checkAndMigrate(id)) {
    d.log.warn('corrupt state file moved aside', { id, file: q.file, movedTo: q.movedTo, error: q.error });
  }
  const r = await readContainerRecord(d.store.root, id);
  if (!r) return;
  const stored = await d.store.readConfig(id);
  const run = await d.store.readRunState(id);
  const policy = stored.config.restartPolicy ?? NO_RESTART;
  // no state.json but a launcher: started by a daemon that died before it wrote state.json
  if (run?.status === 'running' || (!run && (await d.store.has(id, 'launcherPid')))) {
    d.log.info('following a container started before this daemon', { id });
    // paused before this daemon: the mark in state.json, checked against the cgroup's freezer
    await adoptPaused(d, id, stored).catch((err: Error) => d.log.warn('cannot read whether the container is paused', { id, error: err.message }));
    // kills before this daemon ran were nobody's to report: count from what the kernel says now
    await watchOom(d, id, stored, 'current');
    d.watch(id);
  } else if (run?.status === 'restarting') {
    d.log.info('resuming a restart', { id });
    d.runtimes.of(id).backoffMs = BACKOFF_INITIAL_MS;
    scheduleRestart(d, id, BACKOFF_INITIAL_MS);
  } else if (run?.status === 'exited' && run.lastExit && restartOnDaemonStart(policy, { exitCode: run.lastExit.exitCode, manuallyStopped: run.manuallyStopped, restartCount: run.restartCount })) {
    d.log.info('starting a container by its restart policy', { id, policy: formatRestartPolicy(policy) });
    d.launch(id, 'daemon').catch((err: Error) => d.log.error('restart at daemon start failed', { id, err: err.message }));
  }
}

/** Restarts by the restart policy: waiting out the back-off, and cancelling a pending restart on a user stop. */
import type { DaemonContext } from './context.js';

/** Start the container again after `delayMs`, unless a user stop, a removal or the daemon's end comes first. */
export function scheduleRestart(d: DaemonContext, id: string, delayMs: number): void {
  cancelRestart(d, id);
  const rt = d.runtimes.of(id);
  // Measured on the monotonic clock, sub-millisecond: a libuv timer counts from the event loop's
  // cached millisecond time, so it can fire a little before `delayMs` has really passed; the
  // remainder is waited out, so that no restart ever comes before its back-off.
  const scheduledAt = process.hrtime.bigint();
  const waitedMs = () => Number(process.hrtime.bigint() - scheduledAt) / 1e6;
  const arm = (ms: number) => {
    const timer = setTimeout(fire, ms);
    timer.unref();
    rt.pendingRestart = timer;
  };
  const fire = () => {
    const waited = waitedMs();
    if (waited < delayMs) return arm(Math.ceil(delayMs - waited));
    rt.pendingRestart = undefined;
    if (d.closed) return;
    d.log.info('restarting container', { id, backoffMs: delayMs, waitedMs: Math.round(waited * 100) / 100 });
    d.launch(id, 'policy').catch(async (err: Error) => {
      // moby: a restart that fails leaves the container stopped
      d.log.error('restart failed', { id, err: err.message });
      const st = await d.store.readRunState(id).catch(() => undefined);
      if (st?.status === 'restarting') await d.store.writeRunState(id, { ...st, status: 'exited' }).catch(() => {});
    });
  };
  arm(delayMs);
}

/** Cancel a pending restart; whether there was one. */
export function cancelRestart(d: DaemonContext, id: string): boolean {
  const rt = d.runtimes.peek(id);
  if (!rt?.pendingRestart) return false;
  clearTimeout(rt.pendingRestart);
  rt.pendingRestart = undefined;
  return true;
}

/**
 * A user stop or kill of a container waiting for its restart: the restart is cancelled and it
 * stays exited (moby: ExitOnNext on a restarting container).
 */
export async function stopRestarting(d: DaemonContext, id: string): Promise<void> {
  cancelRestart(d, id);
  d.runtimes.of(id).canceled = true;
  const st = await d.store.readRunState(id);
  if (st) await d.store.writeRunState(id, { ...st, status: 'exited', manuallyStopped: true });
}

/** Remember that the user stopped it (persisted: unless-stopped stays stopped across daemon restarts). */
export async function markManuallyStopped(d: DaemonContext, id: string, cancel: boolean): Promise<void> {
  if (cancel) d.runtimes.of(id).canceled = true;
  const st = await d.store.readRunState(id).catch(() => undefined);
  if (st && !st.manuallyStopped) await d.store.writeRunState(id, { ...st, manuallyStopped: true });
}

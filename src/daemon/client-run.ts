/**
 * `corral run` through the fast front (native/front.c): the container is created from the CLI's
 * own configuration with a spec whose launcher stays in the foreground of the client, which runs
 * it. The exit is followed as soon as the launcher exists, so that a client that dies does not
 * leave the container unwatched.
 */
import fs from 'node:fs/promises';
import type { RunConfig } from '../container/config/run-flags.js';
import { newContainerId } from '../container/ids.js';
import { createContainer as createStored, launchFailure, oomKillMessage } from '../container/run.js';
import type { LauncherStatus } from '../container/status.js';
import { ConflictError } from '../errors.js';
import { actorOf, type DaemonContext } from './context.js';
import { watchOom } from './monitor.js';
import type { ClientRun } from './runtime.js';

export async function prepareClientRun(d: DaemonContext, config: RunConfig): Promise<{ id: string; spec: string }> {
  const driver = await d.driver(config.cgroupParent);
  const id = newContainerId();
  const created = await createStored(config, { stateRoot: d.store.root, driver, stderr: process.stderr, id });
  // with its name: a generated one when the client gave none
  const stored = { config: created.config, ...(created.config.name !== undefined ? { name: created.config.name } : {}) };
  const run: ClientRun = { oom: false, started: false, stop: () => {} };
  run.stop = d.events.subscribe((e) => {
    if (e.Actor.ID === id && e.Action === 'oom') run.oom = true;
  });
  const rt = d.runtimes.of(id);
  rt.clientRun = run;
  await watchOom(d, id, stored, 'zero');
  d.events.container('create', rt.actor ?? actorOf(id, stored));
  const launched = setInterval(() => {
    if (d.runtimes.peek(id)?.monitor || d.closed) return clearInterval(launched);
    fs.access(d.store.file(id, 'launcherPid')).then(
      () => {
        clearInterval(launched);
        followClientRun(d, id);
      },
      () => fs.access(d.store.dir(id)).catch(() => clearInterval(launched)),
    );
  }, 1000);
  launched.unref();
  return { id, spec: created.paths.spec };
}

/**
 * The client's launcher ended: record the exit, clean up as the stand-alone run does, and give the
 * exit code and the message to print (a setup failure's, or the OOM kill's with the limit).
 */
export async function finishClientRun(d: DaemonContext, id: string, statusLines: LauncherStatus[], launcherCode: number): Promise<{ exitCode: number; message: string }> {
  const rt = d.runtimes.peek(id);
  const run = rt?.clientRun;
  if (!rt || !run) throw new ConflictError(`container ${id.slice(0, 12)} was not prepared for a client run by this daemon`);
  const stored = await d.store.readConfig(id);
  const error = statusLines.find((l): l is LauncherStatus & { kind: 'error' } => l.kind === 'error');
  const exited = statusLines.find((l) => l.kind === 'exit');
  try {
    if (error || !exited) {
      // never started: like the stand-alone run, a failed start leaves nothing
      await d.discard(id, stored.name);
      if (error) {
        const failure = launchFailure(error, stored.config.isolation.command[0] ?? '');
        return { exitCode: failure.exitCode, message: failure.message };
      }
      return { exitCode: launcherCode === 0 ? 125 : launcherCode, message: `the launcher ended without reporting the workload's exit (code ${launcherCode})` };
    }
    followClientRun(d, id);
    d.exits.poke(d.store.dir(id));
    const code = await d.watch(id);
    const limit = stored.config.resources.memory?.max;
    return { exitCode: code, message: run.oom ? oomKillMessage(limit) : '' };
  } finally {
    run.stop();
    rt.clientRun = undefined;
  }
}

/** The client's launcher is running (or has run): say so once and follow it to its end. */
function followClientRun(d: DaemonContext, id: string): void {
  const rt = d.runtimes.peek(id);
  const run = rt?.clientRun;
  if (rt?.actor && run && !run.started) {
    run.started = true;
    d.events.container('start', rt.actor);
  }
  d.watch(id);
}

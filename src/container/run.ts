/**
 * `corral run` in the foreground: create the container (state dir, cgroup, launcher spec), start
 * the launcher, forward signals, wait, report an OOM kill, and clean up. Every failure before the
 * workload runs removes what was created, so a failed start leaves no cgroup, mount or state.
 */
import fs from 'node:fs/promises';
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Writable } from 'node:stream';
import type { CgroupDriver, Cgroup } from '../cgroups/types.js';
import { CorralError } from '../errors.js';
import { planIsolation } from '../isolate/plan.js';
import { parseKernelRelease } from '../isolate/seccomp/filter.js';
import { encodeSpec, type SpecHeader } from '../isolate/spec.js';
import { prepareContainerDirs, ensureHostSkeleton, describeHostSystemDirs, removeContainerDirs, skeletonPath } from '../isolate/rootfs.js';
import type { RunConfig } from './config/run-flags.js';
import { unsupportedNamingFlag } from './config/fields.js';
import { discardedOnMode } from './config/mode.js';
import { newContainerId, shortId } from './ids.js';
import { startLauncher } from './launcher.js';
import { exitCodeOf, setupFailureCode, type LauncherStatus } from './status.js';
import { claimGeneratedName, claimName, containerPaths, releaseName, writeLabelsFile, writeRecord } from './store.js';
import { formatSizeRounded } from './format.js';
import { CONTAINER_FILES } from './layout.js';
import { loadSyscalls } from '../sys/syscalls.js';

/** Signals a foreground `corral run` passes on to the workload (via its launcher), as `docker run` does. */
export const FORWARDED_SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2', 'SIGWINCH'];

export interface RunDeps {
  stateRoot: string;
  driver: CgroupDriver;
  stderr: Writable;
  /** the container id to use (tests); a fresh random one by default */
  id?: string;
  /** called as each phase ends (validated, created, started, exited, removed): for benchmarks */
  onPhase?: (phase: RunPhase) => void;
}

export type RunPhase = 'validated' | 'created' | 'started' | 'exited' | 'removed';

/** What `corral run` says when the OOM killer killed in the container's cgroup; `limit` in bytes. */
export function oomKillMessage(limit: number | 'max' | undefined): string {
  return `killed by the OOM killer: memory limit ${limit === undefined || limit === 'max' || limit === 0 ? 'unlimited' : formatSizeRounded(limit)}`;
}

export class LaunchFailedError extends CorralError {
  readonly exitCode: number;
  constructor(message: string, exitCode: number) {
    super('ELAUNCH', message);
    this.exitCode = exitCode;
  }
}

function describeSetupFailure(step: string, errnoName: string, detail: string, command: string): string {
  if (step === 'exec' && errnoName === 'ENOENT') return `exec "${command}": executable file not found in $PATH`;
  if (step === 'exec') return `exec "${command}": cannot execute (${errnoName})`;
  return `container setup failed at ${step}${detail ? ` ${detail}` : ''}: ${errnoName}`;
}

/** What createContainer made: everything a start needs, and how to take it all down again. */
export interface CreatedContainer {
  id: string;
  /** the configuration as recorded, with its name (generated when it had none) */
  config: RunConfig;
  /** the isolation options as recorded (hostname and HOSTNAME filled in) */
  isolation: RunConfig['isolation'];
  paths: ReturnType<typeof containerPaths>;
  cgroup: Cgroup;
  created: string;
  /** removes what creation made (name, dirs, cgroup), in reverse order; errors are ignored */
  rollback(): Promise<void>;
  /** what this host discarded of the configuration, in Docker's words (create's Warnings) */
  warnings: string[];
}

export interface CreateOptions {
  /** extra header directives for the launcher's spec (the daemon: detach, log) */
  header?: Pick<SpecHeader, 'detach' | 'log'>;
}

/**
 * Create a container: validate the limits and the isolation plan, claim the name (a generated one
 * when the config has none: the returned config has it), make the state dirs and the cgroup, write
 * the launcher's spec and the record. Nothing is started. On failure everything made so far is
 * removed again.
 */
export async function createContainer(asked: RunConfig, deps: RunDeps, options: CreateOptions = {}): Promise<CreatedContainer> {
  // what this cgroup mode cannot do and Docker discards with a warning (--oom-kill-disable on v2)
  const { config, warnings } = discardedOnMode(asked, deps.driver.mode);
  const id = deps.id ?? newContainerId();
  const hostname = config.isolation.hostname || shortId(id);
  const isolation = { ...config.isolation, hostname, env: [`HOSTNAME=${hostname}`, ...config.isolation.env] };
  const paths = containerPaths(deps.stateRoot, id);
  const systemDirs = isolation.rootfs === undefined ? await describeHostSystemDirs() : [];

  // Validate everything that can be validated before anything exists: limits against the driver,
  // the isolation plan against a stand-in cgroup.
  await deps.driver.plan(config.resources).catch((err: unknown) => {
    throw unsupportedNamingFlag(err);
  });
  const host = { systemDirs, skeleton: skeletonPath(deps.stateRoot), kernel: parseKernelRelease(os.release()) };
  const standIn = deps.driver.mode === 'v2' ? { mode: 'v2' as const, dir: '/sys/fs/cgroup', procsFiles: [] } : { mode: 'v1' as const, procsFiles: [] };
  planIsolation(isolation, paths, standIn, host);
  deps.onPhase?.('validated');

  const created = new Date().toISOString();
  const undo: (() => Promise<void>)[] = [];
  const rollback = async () => {
    for (const step of undo.splice(0).reverse()) await step().catch(() => {});
  };
  try {
    // every container has a name, as in Docker: one of Docker's generated names when none was given
    if (config.name !== undefined) await claimName(deps.stateRoot, config.name, id);
    const name = config.name ?? (await claimGeneratedName(deps.stateRoot, id));
    undo.push(() => releaseName(deps.stateRoot, name, id));
    undo.push(() => removeContainerDirs(paths));
    await fs.mkdir(paths.dir, { recursive: true, mode: 0o700 });
    // The state dirs and the cgroup are independent: make them concurrently, and register the
    // cgroup's removal even if the dirs fail.
    const [dirs, made] = await Promise.allSettled([
      (async () => {
        if (isolation.rootfs === undefined) await ensureHostSkeleton(deps.stateRoot, systemDirs);
        await prepareContainerDirs(paths, isolation);
      })(),
      deps.driver.create(id, config.resources),
    ]);
    if (made.status === 'fulfilled') undo.push(() => made.value.destroy());
    if (dirs.status === 'rejected') throw dirs.reason;
    if (made.status === 'rejected') throw made.reason;
    const { header, directives } = planIsolation(isolation, paths, { mode: made.value.mode, dir: made.value.dir, procsFiles: [...made.value.procsFiles] }, host);
    writeFileSync(paths.spec, encodeSpec({ ...header, ...options.header, ...(await terminalHeader(config, paths.dir, options.header?.detach === true)) }, directives), { mode: 0o600 });
    await writeRecord(paths, { id, name, created, config: { ...config, name, isolation } });
    if (config.labels !== undefined) await writeLabelsFile(paths, config.labels);
    deps.onPhase?.('created');
    return { id, config: { ...config, name }, isolation, paths, cgroup: made.value, created, rollback, warnings };
  } catch (err) {
    await rollback();
    throw err;
  }
}

/**
 * -i and -t: the launcher's `tty`, `stdin` and `control` (native/PROTOCOL.md "Terminal and input").
 * A container the daemon runs in the background gets FIFOs, made now in the container's directory
 * (root's alone) so that an attach before the start (as `docker run -it` does) can open them. A
 * foreground run's launcher has its caller's terminal: the pty follows it, and the workload reads
 * the caller's input (through the pty with -t, directly without).
 */
async function terminalHeader(config: RunConfig, dir: string, background: boolean): Promise<Partial<SpecHeader>> {
  if (!background) return config.tty === true ? { tty: true } : {};
  if (config.tty !== true && config.openStdin !== true) return {};
  const sys = await loadSyscalls();
  const control = path.join(dir, CONTAINER_FILES.control);
  sys.mkfifo(control, 0o600);
  const stdin = config.openStdin === true ? path.join(dir, CONTAINER_FILES.stdin) : undefined;
  if (stdin !== undefined) sys.mkfifo(stdin, 0o600);
  return { ...(config.tty === true ? { tty: true } : {}), ...(stdin === undefined ? {} : { stdin }), control };
}

/** The message for a setup failure the launcher reported. */
export function launchFailure(error: LauncherStatus & { kind: 'error' }, command: string): LaunchFailedError {
  return new LaunchFailedError(describeSetupFailure(error.step, error.errnoName, error.detail, command), setupFailureCode(error));
}

export async function runForeground(asked: RunConfig, deps: RunDeps): Promise<number> {
  const c = await createContainer(asked, deps);
  // the config with its name (a generated one when none was asked for)
  const { id, config, isolation, paths, cgroup, created, rollback } = c;
  // as Docker's CLI prints create's Warnings
  for (const w of c.warnings) deps.stderr.write(`WARNING: ${w}\n`);
  // The cgroup was made for this container moments ago: its oom_kill counter starts at 0.
  const oomBefore = 0;
  const launch = startLauncher(paths.spec);
  const forward = (signal: NodeJS.Signals) => launch.process.kill(signal);
  for (const s of FORWARDED_SIGNALS) process.on(s, forward);
  let started = false;
  try {
    const outcome = await launch.launched.catch((err: Error) => {
      throw new LaunchFailedError(err.message, 125);
    });
    if (outcome.kind === 'failed') {
      await launch.ended;
      throw launchFailure(outcome.error, isolation.command[0] ?? '');
    }
    started = true;
    deps.onPhase?.('started');
    const ended = await launch.ended;
    deps.onPhase?.('exited');
    if (!ended.status) {
      throw new LaunchFailedError(`launcher ended without reporting the workload's exit (code ${ended.launcherCode}, signal ${ended.launcherSignal})`, 125);
    }
    let code = exitCodeOf(ended.status);
    const oomAfter = (await cgroup.oomKillCount()) ?? 0;
    if (oomAfter > oomBefore) {
      deps.stderr.write(`corral: ${oomKillMessage(config.resources.memory?.max)}\n`);
      if (ended.status.how === 'signaled') code = 137;
    }
    if (!config.rm) {
      await writeRecord(paths, {
        id,
        name: config.name,
        created,
        config: { ...config, isolation },
        state: { status: 'exited', exitCode: code, oomKilled: oomAfter > oomBefore, finishedAt: new Date().toISOString() },
      });
    }
    return code;
  } finally {
    for (const s of FORWARDED_SIGNALS) process.off(s, forward);
    await cgroup.destroy();
    // A failed start leaves nothing; a finished container keeps its record and layer unless --rm.
    if (config.rm || !started) await rollback();
    deps.onPhase?.('removed');
  }
}

/**
 * The daemon's exec instances (Docker's: created by POST /containers/{id}/exec, run once by POST
 * /exec/{id}/start, inspected with GET /exec/{id}/json). They live in the daemon's memory only, as
 * Docker's do: an instance that has ended is kept for EXEC_KEEP_MS so that a client can read its exit
 * code, and one whose container is gone is dropped; both are swept whenever a new one is created.
 */
import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { planExec, startExec, type ExecRequest, type ExecStart } from '../container/exec.js';
import { parsePidFile } from '../container/records.js';
import { containerDir, containerFile } from '../container/layout.js';
import { InvalidArgumentError } from '../errors.js';
import { parseKernelRelease } from '../isolate/seccomp/filter.js';
import type { Syscalls } from '../sys/syscalls.js';
import { ApiError } from './errors.js';
import type { ContainerBackend } from '../daemon/backend.js';
import type { Logger } from '../log.js';

/** How long an ended exec instance stays inspectable. */
export const EXEC_KEEP_MS = 5 * 60_000;

/** The Docker field each exec flag comes from, so that a 400 names what the client sent. */
const FIELD_OF_FLAG: Record<string, string> = { COMMAND: 'Cmd', '--env': 'Env', '--workdir': 'WorkingDir', '--user': 'User' };

export interface ExecCreateOptions extends ExecRequest {
  attachStdout: boolean;
  attachStderr: boolean;
}

export interface ExecInstance {
  readonly id: string;
  readonly containerId: string;
  readonly request: ExecRequest;
  /** the user as Docker shows it: the exec's own, else the container's uid:gid */
  readonly user: string;
  readonly openStdout: boolean;
  readonly openStderr: boolean;
  state: 'created' | 'running' | 'exited';
  /** host pid once it started (0 before, as Docker's) */
  pid: number;
  exitCode?: number;
  endedAt?: number;
}

export interface ExecRun {
  started: Promise<ExecStart>;
  /** resolves with the exit code once it is recorded in the instance */
  ended: Promise<number>;
  resumeOutput(): void;
  /** its input (AttachStdin): ending it is the process's EOF */
  stdin: Socket | undefined;
}

export interface ExecInstancesDeps {
  supervisor: ContainerBackend;
  stateRoot: string;
  log: Logger;
  /** the koffi syscalls (pipe2), loaded on first use */
  syscalls: () => Promise<Syscalls>;
  now?: () => number;
}

export class NoSuchExecError extends ApiError {
  constructor(id: string) {
    // Docker's wording (objNotFoundError)
    super(404, `No such exec instance: ${id.length > 80 ? `${id.slice(0, 80)}...` : id}`);
  }
}

export class ExecInstances {
  private readonly instances = new Map<string, ExecInstance>();
  constructor(private readonly deps: ExecInstancesDeps) {}

  private now(): number {
    return (this.deps.now ?? Date.now)();
  }

  /**
   * A running container that is not paused (moby's getActiveContainer): an exec's process joins
   * the container's cgroup, and in a frozen one it would stop there, and its start with it.
   */
  private async requireRunning(containerId: string): Promise<void> {
    const record = await this.deps.supervisor.record(containerId);
    if (record.status !== 'running') throw new ApiError(409, `Container ${containerId} is not running`);
    if (record.paused) throw new ApiError(409, `Container ${containerId} is paused, unpause the container before exec`);
  }

  /** Register an exec in a running container; the request is validated (400 naming the field) by planning it. */
  async create(containerId: string, options: ExecCreateOptions): Promise<string> {
    await this.requireRunning(containerId);
    const { stored } = await this.deps.supervisor.hostConfigOf(containerId);
    const isolation = stored.config.isolation;
    const request: ExecRequest = {
      command: options.command,
      env: options.env,
      ...(options.workdir ? { workdir: options.workdir } : {}),
      ...(options.user ? { user: options.user } : {}),
      ...(options.tty ? { tty: true } : {}),
      ...(options.stdin ? { stdin: true } : {}),
    };
    try {
      planExec(isolation, request, { pid: 1, startTime: '0' }, { mode: 'v1', procsFiles: [] }, parseKernelRelease(os.release()));
    } catch (err) {
      if (err instanceof InvalidArgumentError) throw new ApiError(400, `${FIELD_OF_FLAG[err.flag] ?? err.flag}: ${err.message}`);
      throw err;
    }
    await this.sweep();
    const id = randomBytes(32).toString('hex');
    this.instances.set(id, {
      id,
      containerId,
      request,
      user: options.user || `${isolation.user.uid}:${isolation.user.gid}`,
      openStdout: options.attachStdout,
      openStderr: options.attachStderr,
      state: 'created',
      pid: 0,
    });
    // Docker's exec events: the action carries the command line, the attributes the exec's id
    await this.deps.supervisor.emit(`exec_create: ${request.command.join(' ')}`, containerId, { execID: id });
    return id;
  }

  get(id: string): ExecInstance {
    const instance = this.instances.get(id);
    if (!instance) throw new NoSuchExecError(id);
    return instance;
  }

  /**
   * Start a created exec (409 when it has run or runs, or its container does not run any more).
   * `onOutput` gets the streams it was created to attach; without it the output is discarded.
   */
  async start(id: string, onOutput?: (stream: 'stdout' | 'stderr', chunk: Buffer) => boolean | undefined): Promise<ExecRun> {
    const instance = this.get(id);
    const conflict = () => {
      if (instance.state === 'running') return new ApiError(409, `exec command ${id} is already running`);
      if (instance.state === 'exited') return new ApiError(409, `exec command ${id} has already run`);
      return undefined;
    };
    const early = conflict();
    if (early) throw early;
    const { containerId } = instance;
    await this.requireRunning(containerId);
    const target = parsePidFile(await fs.readFile(containerFile(this.deps.stateRoot, containerId, 'pid'), 'utf8').catch(() => ''));
    if (!target) throw new ApiError(409, `Container ${containerId} is not running`);
    const [{ stored }, cgroup, sys] = await Promise.all([this.deps.supervisor.hostConfigOf(containerId), this.deps.supervisor.cgroupOf(containerId), this.deps.syscalls()]);
    const late = conflict(); // another start may have won while this one read the files
    if (late) throw late;
    const cgroupPlacement = { mode: cgroup.mode, dir: cgroup.dir, procsFiles: [...cgroup.procsFiles] };
    const control = instance.request.tty === true ? this.controlFile(containerId, id) : undefined;
    if (control !== undefined) sys.mkfifo(control, 0o600);
    const spec = planExec(stored.config.isolation, instance.request, target, cgroupPlacement, parseKernelRelease(os.release()), control);
    instance.state = 'running';
    await this.deps.supervisor.emit(`exec_start: ${instance.request.command.join(' ')}`, containerId, { execID: id });
    let process: ReturnType<typeof startExec>;
    try {
      process = startExec(spec, {
        specFile: path.join(containerDir(this.deps.stateRoot, containerId), `exec-${id}.spec`),
        sys,
        // a terminal writes everything to stdout (the launcher's fd 1), which the client gets whatever it attached
        onOutput: (stream, chunk) => ((stream === 'stdout' ? instance.openStdout || instance.request.tty === true : instance.openStderr) ? onOutput?.(stream, chunk) : undefined),
        ...(instance.request.stdin === true ? { stdin: true } : {}),
      });
    } catch (err) {
      instance.state = 'exited';
      instance.exitCode = 126;
      instance.endedAt = this.now();
      throw err;
    }
    void process.started.then((s) => {
      if (s.kind === 'started') instance.pid = s.pid;
      this.deps.log.info('exec started', { id, container: containerId, ...(s.kind === 'started' ? { pid: s.pid } : { error: s.message }) });
    });
    const ended = process.ended.then(async (code) => {
      instance.state = 'exited';
      instance.exitCode = code;
      instance.endedAt = this.now();
      this.deps.log.info('exec exited', { id, container: containerId, exitCode: code });
      if (control !== undefined) await fs.rm(control, { force: true }).catch(() => {});
      // before the stream ends, so that a client that saw the end also sees the event
      await this.deps.supervisor.emit('exec_die', containerId, { execID: id, exitCode: code }).catch(() => {});
      return code;
    });
    return { started: process.started, ended, resumeOutput: process.resumeOutput, stdin: process.stdin };
  }

  /** The control FIFO of an exec with a terminal (resize), beside its spec in the container's directory. */
  controlFile(containerId: string, id: string): string {
    return path.join(containerDir(this.deps.stateRoot, containerId), `exec-${id}.control`);
  }

  /** Drop instances that ended more than EXEC_KEEP_MS ago, and those whose container is gone. */
  private async sweep(): Promise<void> {
    const cutoff = this.now() - EXEC_KEEP_MS;
    for (const [id, instance] of this.instances) {
      if (instance.state === 'running') continue;
      if ((await this.containerGone(instance.containerId)) || (instance.endedAt !== undefined && instance.endedAt < cutoff)) this.instances.delete(id);
    }
  }

  private async containerGone(containerId: string): Promise<boolean> {
    return !(await fs.access(containerDir(this.deps.stateRoot, containerId)).then(
      () => true,
      () => false,
    ));
  }

  /** Docker's ExecInspectResponse; 404 once the container is gone, as Docker's. */
  async inspect(id: string): Promise<Record<string, unknown>> {
    const e = this.get(id);
    if (e.state !== 'running' && (await this.containerGone(e.containerId))) {
      this.instances.delete(id);
      throw new NoSuchExecError(id);
    }
    const [entrypoint = '', ...args] = e.request.command;
    return {
      ID: e.id,
      Running: e.state === 'running',
      ExitCode: e.exitCode ?? null,
      ProcessConfig: { tty: e.request.tty === true, entrypoint, arguments: args, privileged: false, user: e.user },
      OpenStdin: e.request.stdin === true,
      OpenStderr: e.openStderr,
      OpenStdout: e.openStdout,
      CanRemove: false,
      ContainerID: e.containerId,
      DetachKeys: '',
      Pid: e.pid,
    };
  }
}

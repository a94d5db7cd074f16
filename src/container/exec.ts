/**
 * `exec`: one more process in a running container, through the launcher's `join` (native/PROTOCOL.md
 * "Joining a running container"): in the container's namespaces, cgroup and root, with its
 * capabilities and no_new_privs, as the launcher's child rather than its PID 1's.
 *
 * planExec is pure: the container's stored isolation options and the exec's request become a
 * launcher spec, validated before anything runs. startExec writes the spec and runs the launcher
 * with the process's stdout and stderr on two pipes whose output it hands on as it arrives.
 */
import { writeFileSync } from 'node:fs';
import fs from 'node:fs/promises';
import net from 'node:net';
import { posix } from 'node:path';
import { parseUser, parseWorkdir } from './config/run-flags.js';
import { InvalidArgumentError } from '../errors.js';
import { capabilityMask } from '../isolate/caps.js';
import { buildEnvironment, seccompProgram } from '../isolate/plan.js';
import type { KernelVersion } from '../isolate/seccomp/profile.js';
import { encodeSpec, JOIN_NAMESPACES, type LaunchSpec } from '../isolate/spec.js';
import type { CgroupPlacement, IsolationOptions } from '../isolate/types.js';
import type { Syscalls } from '../sys/syscalls.js';
import { launcherPath, startLauncher } from './launcher.js';
import { exitCodeOf, type LauncherStatus } from './status.js';

/** What to run, as `docker exec` asks for it. */
export interface ExecRequest {
  /** the command and its arguments; command[0] is looked up in the exec's PATH when it has no slash */
  command: string[];
  /** KEY=VALUE sets KEY, a bare KEY removes it, over the container's environment (Docker's rule) */
  env: string[];
  /** an absolute path inside the container; undefined: the container's working directory */
  workdir?: string;
  /** uid[:gid]; undefined: the container's user (with its supplementary groups) */
  user?: string;
  /** a terminal of its own (Docker's Tty): its output one stream, its size set through `control` */
  tty?: boolean;
  /** its input comes from the caller (Docker's AttachStdin): ExecProcess.stdin */
  stdin?: boolean;
}

/** The container's workload, which the exec joins: its host pid and start time (its `pid` state file). */
export interface ExecTarget {
  pid: number;
  startTime: string;
}

/**
 * Docker's ReplaceOrAppendEnvValues: each override replaces the variable of the same name in place
 * or is appended; an override without "=" removes the variable.
 */
export function mergeEnvironment(base: readonly string[], overrides: readonly string[]): string[] {
  const env = new Map<string, string | undefined>();
  for (const entry of base) {
    const eq = entry.indexOf('=');
    env.set(eq < 0 ? entry : entry.slice(0, eq), eq < 0 ? undefined : entry.slice(eq + 1));
  }
  for (const entry of overrides) {
    const eq = entry.indexOf('=');
    if (eq < 0) env.delete(entry);
    else env.set(entry.slice(0, eq), entry.slice(eq + 1));
  }
  return [...env].filter((kv): kv is [string, string] => kv[1] !== undefined).map(([key, value]) => `${key}=${value}`);
}

/**
 * The launcher spec for one exec: the container's capabilities, no_new_privs and seccomp filter
 * (as Docker gives an exec its container's profile; `kernel` is the host's, for the profile's
 * rules with minKernel). Throws InvalidArgumentError naming `COMMAND`, `--env`, `--workdir` or
 * `--user` for a request that cannot run.
 */
export function planExec(isolation: IsolationOptions, request: ExecRequest, target: ExecTarget, cgroup: CgroupPlacement, kernel: KernelVersion, control?: string): LaunchSpec {
  const [command, ...args] = request.command;
  if (command === undefined || command === '') throw new InvalidArgumentError('COMMAND', command ?? '', 'a command to run is required');
  for (const entry of request.env) {
    if (entry === '' || entry.startsWith('=')) throw new InvalidArgumentError('--env', entry, 'expected KEY=VALUE, or KEY to remove it (KEY not empty)');
  }
  const workdir = request.workdir === undefined || request.workdir === '' ? isolation.workdir : parseWorkdir(request.workdir);
  const user = request.user === undefined || request.user === '' ? isolation.user : parseUser(request.user);
  const env = buildEnvironment(mergeEnvironment(isolation.env, request.env), user.uid);
  const caps = capabilityMask(isolation.capAdd, isolation.capDrop);
  const seccomp = seccompProgram(isolation.seccomp, { caps, kernel });
  return {
    header: {
      version: 1,
      namespaces: [],
      ...(cgroup.mode === 'v2' && cgroup.dir !== undefined ? { cgroupDir: cgroup.dir } : {}),
      cgroupProcs: [...cgroup.procsFiles],
      join: { pid: target.pid, startTime: target.startTime, namespaces: [...JOIN_NAMESPACES] },
      // with a terminal the launcher relays its fd 0 and 1 to the pty, and takes resizes on `control`
      ...(request.tty === true ? { tty: true, ...(control === undefined ? {} : { control }) } : {}),
    },
    directives: [
      ...env.map((entry) => ({ kind: 'env' as const, entry })),
      { kind: 'cwd', path: posix.normalize(workdir) },
      // the container's --ulimit and --oom-score-adj, as moby gives an exec its container's process spec
      ...(isolation.ulimits ?? []).map((u) => ({ kind: 'rlimit' as const, name: u.name, soft: u.soft, hard: u.hard })),
      ...(isolation.oomScoreAdj === undefined ? [] : [{ kind: 'oom-score-adj' as const, value: isolation.oomScoreAdj }]),
      { kind: 'user', uid: user.uid, gid: user.gid, additionalGids: [...user.additionalGids] },
      { kind: 'caps', mask: caps },
      { kind: 'no-new-privs' },
      ...(seccomp === undefined ? [] : [{ kind: 'seccomp' as const, program: seccomp }]),
      { kind: 'exec', command, argv: [command, ...args] },
    ],
  };
}

/**
 * Docker's exit code for an exec that could not start: 127 when something was not found (the
 * command in PATH, the working directory), 126 for anything else (moby's setExitCodeFromError).
 */
export function execFailureCode(error: LauncherStatus & { kind: 'error' }): number {
  return error.errnoName === 'ENOENT' && (error.step === 'exec' || error.step === 'cwd') ? 127 : 126;
}

/** The message for an exec that could not start, in Docker's words where Docker has them. */
export function describeExecFailure(error: LauncherStatus & { kind: 'error' }, command: string): string {
  if (error.step === 'exec' && error.errnoName === 'ENOENT') return `exec "${command}": executable file not found in $PATH`;
  if (error.step === 'exec') return `exec "${command}": cannot execute (${error.errnoName})`;
  if (error.step === 'cwd') return `chdir to cwd "${error.detail}": ${error.errnoName}`;
  if (error.step === 'join' && (error.errnoName === 'ENOENT' || error.errnoName === 'ESRCH')) return 'the container is not running any more';
  return `exec setup failed at ${error.step}${error.detail ? ` ${error.detail}` : ''}: ${error.errnoName}`;
}

export type ExecStart = { kind: 'started'; pid: number } | { kind: 'failed'; exitCode: number; message: string };

export interface ExecOptions {
  /** where the spec is written (it is removed once the launcher has read it) */
  specFile: string;
  sys: Syscalls;
  /** each piece of output as it arrives; return false to pause reading until resumeOutput() */
  onOutput?: (stream: 'stdout' | 'stderr', chunk: Buffer) => boolean | undefined;
  /** how long output is still read after the process ended (a process it left behind may hold the pipes) */
  drainMs?: number;
  /** the process reads its input from ExecProcess.stdin (else /dev/null) */
  stdin?: boolean;
  launcher?: string;
}

export interface ExecProcess {
  /** the process runs (pid on the host), or it could not be started (exit code and message) */
  readonly started: Promise<ExecStart>;
  /** its exit code once it has ended and its output has been read: Docker's codes (128+N for signal N) */
  readonly ended: Promise<number>;
  /** pass a signal on to it (through the launcher) */
  kill(signal: NodeJS.Signals): void;
  /** its input, with ExecOptions.stdin: ending it is the process's EOF */
  readonly stdin: net.Socket | undefined;
  resumeOutput(): void;
}

/** How long output is still read after the process ended, by default (the launcher's own drain). */
export const EXEC_DRAIN_MS = 2000;

/** Run the launcher for a planned exec; stdin is /dev/null. */
export function startExec(spec: LaunchSpec, options: ExecOptions): ExecProcess {
  const last = spec.directives.at(-1);
  const command = last?.kind === 'exec' ? last.command : '';
  writeFileSync(options.specFile, encodeSpec(spec.header, spec.directives), { mode: 0o600 });
  const pipes: [number, number][] = [];
  let input: [number, number] | undefined;
  let launch: ReturnType<typeof startLauncher>;
  try {
    pipes.push(options.sys.pipe(), options.sys.pipe());
    if (options.stdin === true) input = options.sys.pipe();
    launch = startLauncher(options.specFile, { ...(input ? { stdin: input[0] } : {}), stdout: pipes[0]![1], stderr: pipes[1]![1] }, options.launcher ?? launcherPath());
  } catch (err) {
    for (const fd of [...pipes.flat(), ...(input ?? [])]) options.sys.close(fd);
    void fs.rm(options.specFile, { force: true });
    throw err;
  }
  // the launcher has its own copies of the pipes' other ends: ours would keep them from ever ending
  for (const [, w] of pipes) options.sys.close(w);
  let stdin: net.Socket | undefined;
  if (input) {
    options.sys.close(input[0]);
    stdin = new net.Socket({ fd: input[1], readable: false, writable: true });
    stdin.on('error', () => {}); // EPIPE: the process closed its input; what is written is dropped
  }
  const streams = (['stdout', 'stderr'] as const).map((name, i) => {
    const socket = new net.Socket({ fd: pipes[i]![0], readable: true, writable: false });
    socket.on('data', (chunk: Buffer) => {
      if (options.onOutput?.(name, chunk) === false) socket.pause();
    });
    socket.on('error', () => {}); // a read error ends the stream like EOF
    return { socket, done: new Promise<void>((resolve) => socket.once('close', () => resolve())) };
  });

  const started = launch.launched.then(
    (outcome): ExecStart =>
      outcome.kind === 'started' ? { kind: 'started', pid: outcome.pid } : { kind: 'failed', exitCode: execFailureCode(outcome.error), message: describeExecFailure(outcome.error, command) },
    (err: Error): ExecStart => ({ kind: 'failed', exitCode: 126, message: err.message }),
  );
  void started.finally(() => fs.rm(options.specFile, { force: true }).catch(() => {}));

  const ended = (async () => {
    const start = await started;
    const end = await launch.ended.catch(() => undefined);
    // read on what the process wrote before it ended, for at most drainMs
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all(streams.map((s) => s.done)), new Promise<void>((resolve) => (timer = setTimeout(resolve, options.drainMs ?? EXEC_DRAIN_MS)))]);
    clearTimeout(timer);
    for (const s of streams) s.socket.destroy();
    stdin?.destroy();
    if (start.kind === 'failed') return start.exitCode;
    if (end?.status) return exitCodeOf(end.status);
    // the launcher itself died without reporting (SIGKILLed): as Docker for a lost process
    return 126;
  })();

  return {
    started,
    ended,
    stdin,
    kill: (signal) => {
      if (launch.process.exitCode === null && launch.process.signalCode === null) launch.process.kill(signal);
    },
    resumeOutput: () => {
      for (const s of streams) s.socket.resume();
    },
  };
}

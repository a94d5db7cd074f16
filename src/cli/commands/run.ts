/**
 * `corral run` through the daemon (the Node CLI's path: with native/corral-front built, an attached
 * run with a daemon goes through the front instead). `-d`: create, start, print the id. Attached:
 * create, start, follow the log from its beginning (Docker's demultiplexing to this process's
 * stdout and stderr) until the container has ended, forward this process's signals to it, and exit
 * with its exit code (the same codes and OOM message as the stand-alone run). Attached, `--rm`
 * removes the container here once the exit code is known; detached, it is the daemon's AutoRemove.
 *
 * With -i or -t, as Docker's CLI: the attach (hijacked, with our stdin for -i) before the start, the
 * terminal raw and its size sent for -t (cli/interactive.ts); without, the workload's stdin is
 * /dev/null.
 */
import { ApiResponseError, call } from '../../client/client.js';
import { openHijacked, openStream } from '../../client/stream.js';
import { holdSession } from '../interactive.js';
import { FORWARDED_SIGNALS, LaunchFailedError, oomKillMessage } from '../../container/run.js';
import type { RawRunOptions, RunConfig } from '../../container/config/run-flags.js';
import { createRequestFromRun } from '../create-body.js';
import { containerPath, type ClientContext } from './context.js';
import { copyDemuxed } from './logs.js';
import { realOrResolved } from '../../api/client-run.js';

/**
 * The exit code for a start the daemon refused, from its message, as the stand-alone run decides
 * it from the launcher's report: 127 not found, 126 not executable, 125 anything else.
 */
export function startFailureExitCode(message: string): number {
  if (/^exec ".*": executable file not found/.test(message)) return 127;
  if (/^exec ".*": cannot execute/.test(message)) return 126;
  return 125;
}

async function create(ctx: ClientContext, options: RawRunOptions, config: RunConfig, detach: boolean): Promise<string> {
  const { name, body } = createRequestFromRun(options, config, detach);
  // as Docker's CLI: an attached stdin is closed when our input ends
  if (config.openStdin === true && !detach) body.StdinOnce = true;
  try {
    const answer = await call<{ Id: string; Warnings?: string[] | null }>(ctx.socket, { method: 'POST', path: `/containers/create${name ? `?name=${encodeURIComponent(name)}` : ''}`, body });
    // as Docker's CLI prints them
    for (const w of answer.body.Warnings ?? []) ctx.err.write(`WARNING: ${w}\n`);
    return answer.body.Id;
  } catch (err) {
    if (err instanceof ApiResponseError) throw new LaunchFailedError(err.message, 125);
    throw err;
  }
}

async function start(ctx: ClientContext, id: string): Promise<void> {
  try {
    await call(ctx.socket, { method: 'POST', path: containerPath(id, '/start') });
  } catch (err) {
    if (err instanceof ApiResponseError) throw new LaunchFailedError(err.message, startFailureExitCode(err.message));
    throw err;
  }
}

/**
 * Where the daemon keeps its state, when the user asked for another state root (--root or
 * CORRAL_ROOT) than the daemon's: such a run is not the daemon's (the fast front decides the same).
 */
export async function otherDaemonRoot(ctx: ClientContext, root: string | undefined): Promise<string | undefined> {
  if (root === undefined) return undefined;
  const { body } = await call<{ DockerRootDir?: string }>(ctx.socket, { method: 'GET', path: '/info' });
  const daemonRoot = body.DockerRootDir ?? '';
  return realOrResolved(daemonRoot) === realOrResolved(root) ? undefined : daemonRoot;
}

/** `corral run -d`: the full id on stdout. */
export async function runDetached(ctx: ClientContext, options: RawRunOptions, config: RunConfig): Promise<number> {
  const id = await create(ctx, options, config, true);
  await start(ctx, id);
  ctx.out.write(`${id}\n`);
  return 0;
}

/** `corral run` attached to a container the daemon runs; resolves with its exit code. */
export async function runAttached(ctx: ClientContext, options: RawRunOptions, config: RunConfig): Promise<number> {
  const id = await create(ctx, options, config, false);
  const forward = (signal: NodeJS.Signals) => {
    call(ctx.socket, { method: 'POST', path: containerPath(id, `/kill?signal=${signal}`) }).catch(() => {
      // not running (any more): nothing to forward to
    });
  };
  // with a terminal, Ctrl-C is a key the container's terminal acts on, not a signal to forward
  const signals = config.tty === true ? [] : FORWARDED_SIGNALS;
  for (const s of signals) process.on(s, forward);
  try {
    if (config.tty === true || config.openStdin === true) return await runInteractive(ctx, id, config);
    await start(ctx, id);
    // The followed log starts at the log's beginning, so nothing written before it is missed; a
    // container that has already ended answers with its whole (complete) log.
    const output = await openStream(ctx.socket, { method: 'GET', path: containerPath(id, '/logs?follow=1&stdout=1&stderr=1') });
    await copyDemuxed(output, ctx.out, ctx.err);
    const code = (await call<{ StatusCode: number }>(ctx.socket, { method: 'POST', path: containerPath(id, '/wait') })).body.StatusCode;
    const info = await call<{ State: { OOMKilled: boolean }; HostConfig: { Memory?: number } }>(ctx.socket, { method: 'GET', path: containerPath(id, '/json') });
    if (info.body.State.OOMKilled) ctx.err.write(`corral: ${oomKillMessage(info.body.HostConfig.Memory)}\n`);
    return code;
  } finally {
    for (const s of signals) process.off(s, forward);
    if (config.rm) await call(ctx.socket, { method: 'DELETE', path: containerPath(id, '?force=1') }).catch(() => {});
  }
}

/** -i/-t: attach (hijacked) before the start, hold the session, then the exit code. */
async function runInteractive(ctx: ClientContext, id: string, config: RunConfig): Promise<number> {
  const stdin = config.openStdin === true;
  const query = new URLSearchParams({ stream: '1', stdout: '1', stderr: '1', stdin: stdin ? '1' : '0' });
  const { socket, head } = await openHijacked(ctx.socket, { method: 'POST', path: containerPath(id, `/attach?${query}`) });
  const session = holdSession({
    socket,
    head,
    tty: config.tty === true,
    stdin,
    resize: async (rows, cols) => void (await call(ctx.socket, { method: 'POST', path: containerPath(id, `/resize?h=${rows}&w=${cols}`) }).catch(() => {})),
    out: ctx.out,
    err: ctx.err,
  });
  try {
    await start(ctx, id);
  } catch (err) {
    socket.destroy();
    await session.catch(() => {});
    throw err;
  }
  // the size sent with the session's start came before the container ran
  if (config.tty === true && process.stdout.isTTY) await call(ctx.socket, { method: 'POST', path: containerPath(id, `/resize?h=${process.stdout.rows}&w=${process.stdout.columns}`) }).catch(() => {});
  await session;
  return (await call<{ StatusCode: number }>(ctx.socket, { method: 'POST', path: containerPath(id, '/wait') })).body.StatusCode;
}

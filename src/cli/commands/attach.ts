/**
 * `corral attach [--no-stdin] [--detach-keys KEYS] CONTAINER`: this terminal on a running
 * container's input and output, as `docker attach`: its terminal (raw, resized with ours) when it
 * has one, our stdin when it keeps its stdin open, until it exits (its exit code is ours) or the
 * detach keys (ctrl-p ctrl-q by default) leave it running.
 */
import { call } from '../../client/client.js';
import { openHijacked } from '../../client/stream.js';
import { CorralError } from '../../errors.js';
import { holdSession } from '../interactive.js';
import { containerPath, type ClientContext } from './context.js';
import { clientCommand, parseCommand } from './parse.js';

interface AttachOptions {
  stdin?: boolean;
  detachKeys?: string;
}

export function attachCommand() {
  return clientCommand('attach', '[OPTIONS] CONTAINER', "attach this terminal to a running container's input and output")
    .option('--no-stdin', 'do not send our input to it')
    .option('--detach-keys <keys>', 'the keys that detach and leave it running (default ctrl-p,ctrl-q)')
    .argument('<container>');
}

interface Inspected {
  Id: string;
  State: { Running: boolean; Paused: boolean; ExitCode: number };
  Config: { Tty: boolean; OpenStdin: boolean };
}

export async function attach(ctx: ClientContext, argv: readonly string[]): Promise<number> {
  const { opts, args } = parseCommand<AttachOptions>(attachCommand(), argv);
  const ref = args[0]!;
  const info = (await call<Inspected>(ctx.socket, { method: 'GET', path: containerPath(ref, '/json') })).body;
  // as Docker's CLI says it
  if (!info.State.Running) throw new CorralError('EATTACH', 'You cannot attach to a stopped container, start it first');
  if (info.State.Paused) throw new CorralError('EATTACH', 'You cannot attach to a paused container, unpause it first');
  const stdin = opts.stdin !== false && info.Config.OpenStdin;
  const query = new URLSearchParams({ stream: '1', stdout: '1', stderr: '1', stdin: stdin ? '1' : '0' });
  if (opts.detachKeys !== undefined) query.set('detachKeys', opts.detachKeys);
  const { socket, head } = await openHijacked(ctx.socket, { method: 'POST', path: containerPath(info.Id, `/attach?${query}`) });
  await holdSession({
    socket,
    head,
    tty: info.Config.Tty,
    stdin,
    resize: async (rows, cols) => void (await call(ctx.socket, { method: 'POST', path: containerPath(info.Id, `/resize?h=${rows}&w=${cols}`) })),
    out: ctx.out,
    err: ctx.err,
  });
  // ended by the container's exit (its code) or by the detach keys (it still runs: 0)
  const after = (await call<Inspected>(ctx.socket, { method: 'GET', path: containerPath(info.Id, '/json') })).body;
  return after.State.Running ? 0 : after.State.ExitCode;
}

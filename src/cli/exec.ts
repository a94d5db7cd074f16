/**
 * `corral exec [-e K=V] [-w DIR] [-u UID[:GID]] [-d] CONTAINER CMD [ARG...]`: run a command in a
 * running container through the daemon's API, as `docker exec` does: create the exec, start it,
 * copy its multiplexed output to our stdout and stderr, then read its exit code, which becomes
 * ours (126/127 when it cannot be executed / is not found). A refusal by the daemon (no such
 * container, not running) exits 1 with Docker's "Error response from daemon" line; a bad flag 125.
 */
import type { IncomingMessage } from 'node:http';
import type { Writable } from 'node:stream';
import { call, errorMessage, ApiResponseError } from '../client/client.js';
import { openRequest, readBody } from '../client/stream.js';
import { socketFromGlobal } from '../client/host.js';
import { CorralError } from '../errors.js';

export const EXEC_USAGE = `Usage: corral [--host unix://PATH] exec [OPTIONS] CONTAINER CMD [ARG...]

Run a command in a running container: in its namespaces, cgroup and root file system, with its
capabilities, as a process of its own (not a child of the container's PID 1). corral exits with the
command's exit code (126: cannot be executed, 127: not found; 1: the daemon refused, e.g. the
container does not run; 125: a bad flag).

Options:
  -e, --env KEY=VALUE   set an environment variable (repeatable); KEY alone copies corral's own
                        value, or removes KEY from the container's environment when corral has none
  -w, --workdir DIR     working directory inside the container (default: the container's)
  -u, --user UID[:GID]  numeric user and group (default: the container's)
  -d, --detach          start the command and return at once; its output is discarded
  -i, --interactive     send corral's stdin to the command (its end is the command's EOF)
  -t, --tty             give the command a terminal of its own (with -i: an interactive shell)
`;

export interface ExecArgs {
  container: string;
  command: string[];
  env: string[];
  workdir?: string;
  user?: string;
  detach: boolean;
  interactive: boolean;
  tty: boolean;
  help: boolean;
}

const WITH_VALUE: Record<string, 'env' | 'workdir' | 'user'> = { '-e': 'env', '--env': 'env', '-w': 'workdir', '--workdir': 'workdir', '-u': 'user', '--user': 'user' };

/**
 * Parse exec's arguments: options until the container (or `--`), then the command, whose own
 * options are left alone. `-e KEY` takes corral's own value of KEY when it has one, as Docker's
 * CLI does; otherwise KEY is sent bare, which removes it.
 */
export function parseExecArgs(argv: readonly string[], getEnv: (key: string) => string | undefined = (k) => process.env[k]): ExecArgs {
  const args: ExecArgs = { container: '', command: [], env: [], detach: false, interactive: false, tty: false, help: false };
  const BOOLEAN: Record<string, 'detach' | 'interactive' | 'tty'> = { d: 'detach', i: 'interactive', t: 'tty' };
  let i = 0;
  for (; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      i++;
      break;
    }
    if (!arg.startsWith('-') || arg === '-') break;
    if (arg === '--detach' || arg === '--interactive' || arg === '--tty') {
      args[arg.slice(2) as 'detach' | 'interactive' | 'tty'] = true;
      continue;
    }
    // -d, -i, -t, and together (-it)
    if (/^-[dit]+$/.test(arg)) {
      for (const c of arg.slice(1)) args[BOOLEAN[c]!] = true;
      continue;
    }
    if (arg === '-h' || arg === '--help') {
      args.help = true;
      return args;
    }
    const eq = arg.startsWith('--') ? arg.indexOf('=') : -1;
    const name = eq > 0 ? arg.slice(0, eq) : arg;
    const field = WITH_VALUE[name];
    if (field === undefined) throw new CorralError('EUSAGE', `unknown flag: ${arg} (see 'corral exec --help')`);
    const value = eq > 0 ? arg.slice(eq + 1) : argv[++i];
    if (value === undefined) throw new CorralError('EUSAGE', `flag needs an argument: ${name}`);
    if (field === 'env') {
      const own = value.includes('=') ? undefined : getEnv(value);
      args.env.push(own === undefined ? value : `${value}=${own}`);
    } else args[field] = value;
  }
  const [container, ...command] = argv.slice(i);
  if (container === undefined || container === '') throw new CorralError('EUSAGE', "exec needs a container and a command (see 'corral exec --help')");
  if (command.length === 0) throw new CorralError('EUSAGE', `exec needs a command to run in ${container} (see 'corral exec --help')`);
  return { ...args, container, command };
}

/**
 * Docker's multiplexed stream, decoded as it arrives: 8-byte headers (stream 1 stdout, 2 stderr,
 * three zero bytes, a big-endian length) and their payloads, split anywhere across chunks.
 */
export class FrameDecoder {
  private buffered: Buffer = Buffer.alloc(0);

  /** The complete frames in what has arrived so far; a partial one is kept for the next chunk. */
  push(chunk: Buffer): { stream: 1 | 2; payload: Buffer }[] {
    this.buffered = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk]);
    const frames: { stream: 1 | 2; payload: Buffer }[] = [];
    while (this.buffered.length >= 8) {
      const stream = this.buffered[0];
      if ((stream !== 1 && stream !== 2) || this.buffered[1] !== 0 || this.buffered[2] !== 0 || this.buffered[3] !== 0) {
        throw new CorralError('EFRAME', `malformed output stream from the daemon: frame header ${this.buffered.subarray(0, 8).toString('hex')}`);
      }
      const length = this.buffered.readUInt32BE(4);
      if (this.buffered.length < 8 + length) break;
      frames.push({ stream, payload: this.buffered.subarray(8, 8 + length) });
      this.buffered = this.buffered.subarray(8 + length);
    }
    return frames;
  }

  /** Bytes of an unfinished frame left at the end of the stream. */
  get pending(): number {
    return this.buffered.length;
  }
}

/** Copy the exec's output to `stdout` and `stderr`, holding the response while either is full. */
async function copyOutput(res: IncomingMessage, stdout: Writable, stderr: Writable): Promise<void> {
  const decoder = new FrameDecoder();
  for await (const chunk of res) {
    for (const { stream, payload } of decoder.push(chunk as Buffer)) {
      const target = stream === 1 ? stdout : stderr;
      if (!target.write(payload)) await new Promise((resolve) => target.once('drain', resolve));
    }
  }
  if (decoder.pending > 0) throw new CorralError('EFRAME', `the output stream from the daemon ended inside a frame (${decoder.pending} bytes left)`);
}

export interface ExecIo {
  stdout: Writable;
  stderr: Writable;
}

/** `corral exec`: the exit code of the command, or throws when it could not be run (main maps the error to 1 or 125). */
export async function execCommand(host: string | undefined, argv: readonly string[], io: ExecIo = { stdout: process.stdout, stderr: process.stderr }): Promise<number> {
  const args = parseExecArgs(argv);
  if (args.help) {
    io.stdout.write(EXEC_USAGE);
    return 0;
  }
  const socketPath = socketFromGlobal(host);
  const created = await call<{ Id: string }>(socketPath, {
    method: 'POST',
    path: `/containers/${encodeURIComponent(args.container)}/exec`,
    body: {
      Cmd: args.command,
      Env: args.env,
      WorkingDir: args.workdir ?? '',
      User: args.user ?? '',
      AttachStdin: args.interactive && !args.detach,
      AttachStdout: !args.detach,
      AttachStderr: !args.detach,
      Detach: args.detach,
      Tty: args.tty,
    },
  });
  const execPath = `/exec/${created.body.Id}`;
  if (args.detach) {
    await call(socketPath, { method: 'POST', path: `${execPath}/start`, body: { Detach: true, Tty: args.tty } });
    return 0;
  }
  if (args.interactive || args.tty) {
    // Docker's hijack: our input one way, its output (raw with a terminal) the other
    const { openHijacked } = await import('../client/stream.js');
    const { holdSession } = await import('./interactive.js');
    const { socket, head } = await openHijacked(socketPath, { method: 'POST', path: `${execPath}/start`, body: { Detach: false, Tty: args.tty } });
    await holdSession({
      socket,
      head,
      tty: args.tty,
      stdin: args.interactive,
      resize: async (rows, cols) => void (await call(socketPath, { method: 'POST', path: `${execPath}/resize?h=${rows}&w=${cols}` })),
      out: { write: (c) => io.stdout.write(c), drained: () => Promise.resolve() },
      err: { write: (c) => io.stderr.write(c), drained: () => Promise.resolve() },
    });
  } else {
    const res = await openRequest(socketPath, { method: 'POST', path: `${execPath}/start`, body: { Detach: false, Tty: false } });
    const status = res.statusCode ?? 0;
    if (status >= 400) throw new ApiResponseError(status, errorMessage(status, await readBody(res)));
    await copyOutput(res, io.stdout, io.stderr);
  }
  const inspected = await call<{ ExitCode: number | null; Running: boolean }>(socketPath, { method: 'GET', path: `${execPath}/json` });
  if (typeof inspected.body.ExitCode !== 'number') throw new CorralError('EEXEC', `the daemon did not report how exec ${created.body.Id.slice(0, 12)} ended`);
  return inspected.body.ExitCode;
}

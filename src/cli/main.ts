/**
 * The `corral` command: global options, then one subcommand. Exit codes follow Docker:
 * 125 when corral itself fails, otherwise the workload's.
 */
import { CorralError, InvalidArgumentError } from '../errors.js';
import { formatRestartPolicy } from '../container/restart-policy.js';
import { resolveStateRoot } from '../state/root.js';
import { createCgroupDriver } from '../cgroups/index.js';
import { parseRunCommandLine, RunHelpRequested, type RunConfig } from '../container/config/run-flags.js';
import { hostFacts } from '../container/config/host-facts.js';
import { runForeground, LaunchFailedError } from '../container/run.js';
import { CORRAL_VERSION } from '../version.js';
import { runDaemon } from './daemon.js';
import { runUp } from './up.js';
import { ApiResponseError, daemonAnswers } from '../client/client.js';
import { socketFromGlobal } from '../client/host.js';
import { HelpRequested } from './commands/parse.js';
import { daemonErrorLine, type ClientContext } from './commands/context.js';
import { CONTAINER_ACTIONS, runContainerAction } from './commands/actions.js';
import { ps } from './commands/ps.js';
import { inspect } from './commands/inspect.js';
import { logs } from './commands/logs.js';
import { events } from './commands/events.js';
import { update } from './commands/update.js';
import { otherDaemonRoot, runAttached, runDetached } from './commands/run.js';

const USAGE = `Usage: corral [--root DIR] [--host unix://PATH] COMMAND

A Linux resource-limit and monitoring supervisor.

Global options:
  --root DIR              state directory (env CORRAL_ROOT; default /var/lib/corral)
  -H, --host unix://PATH  the daemon's socket (env CORRAL_HOST; default unix:///run/corral/corral.sock)

Commands:
  run [OPTIONS] CMD [ARG...]   run a command isolated and inside cgroup limits (through the daemon
                               when one answers, else stand-alone; -d needs the daemon)
  daemon [OPTIONS]             run the supervisor and its API in the foreground
  ps [OPTIONS]                 list containers
  inspect CONTAINER...         show containers' details as JSON
  logs [OPTIONS] CONTAINER     show a container's output
  stop [-t N] CONTAINER...     stop containers (SIGTERM, then SIGKILL after N seconds)
  kill [-s SIGNAL] CONTAINER...  send a signal to containers (default KILL)
  restart [-t N] CONTAINER...  restart containers
  rm [-f] CONTAINER...         remove containers (-f: a running one too)
  wait CONTAINER...            wait for containers to stop and print their exit codes
  exec [OPTIONS] CONTAINER CMD [ARG...]  run a command in a running container
  stats [OPTIONS] [CONTAINER...]  live CPU, memory, I/O and PIDs of containers
  update [OPTIONS] CONTAINER...  change containers' limits and restart policy
  events [OPTIONS]             stream the daemon's events
  up -f FILE, down -f FILE     reconcile a workloads file through the daemon / remove its containers
  version                      print the version

Run 'corral COMMAND --help' for a command's options. Every command but run and daemon talks to the
daemon: start it first with 'corral daemon'.
`;

interface GlobalOptions {
  root?: string;
  host?: string;
  rest: string[];
}

function parseGlobal(argv: string[]): GlobalOptions {
  const opts: GlobalOptions = { rest: [] };
  let i = 0;
  for (; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--root') {
      const value = argv[++i];
      if (value === undefined) throw new CorralError('EUSAGE', 'flag needs an argument: --root');
      opts.root = value;
    } else if (arg.startsWith('--root=')) {
      opts.root = arg.slice('--root='.length);
    } else if (arg === '--host' || arg === '-H') {
      const value = argv[++i];
      if (value === undefined) throw new CorralError('EUSAGE', `flag needs an argument: ${arg}`);
      opts.host = value;
    } else if (arg.startsWith('--host=')) {
      opts.host = arg.slice('--host='.length);
    } else break;
  }
  opts.rest = argv.slice(i);
  return opts;
}

/** Exit codes: 125 corral's own failure (usage, bad values), 1 a client command that failed. */
// bad input the user gave (a flag, a value, a workloads file): Docker's 125
const USAGE_CODES = new Set(['EUSAGE', 'EINVALIDARG', 'EWORKLOADS', 'EWORKLOADSREAD']);

function clientContext(global: GlobalOptions): ClientContext {
  return { socket: socketFromGlobal(global.host), out: process.stdout, err: process.stderr, now: () => new Date() };
}

async function runStandAlone(global: GlobalOptions, config: RunConfig, defaultDriver: Awaited<ReturnType<typeof createCgroupDriver>>): Promise<number> {
  const state = resolveStateRoot(global.root);
  if (state.fallbackNotice) process.stderr.write(`corral: ${state.fallbackNotice}\n`);
  // A foreground run ends with its workload: nobody is left to restart it. Only the daemon restarts.
  if (config.restartPolicy !== undefined && config.restartPolicy.name !== 'no') {
    throw new InvalidArgumentError(
      '--restart',
      formatRestartPolicy(config.restartPolicy),
      'restart policies need the daemon: a stand-alone corral run ends with its workload (start the daemon with \'corral daemon\'; corral run then goes through it)',
    );
  }
  const driver = config.cgroupParent === undefined ? defaultDriver : await createCgroupDriver({ parent: config.cgroupParent });
  return runForeground(config, { stateRoot: state.root, driver, stderr: process.stderr });
}

/**
 * `corral run`: with -d through the daemon (it must answer); without, through the daemon when one
 * answers on the socket, else stand-alone, which is said once on stderr.
 */
async function runCommand(global: GlobalOptions, argv: string[]): Promise<number> {
  const defaultDriver = await createCgroupDriver({});
  const { config, options, detach } = parseRunCommandLine(argv, await hostFacts(defaultDriver));
  const ctx = clientContext(global);
  const root = global.root ?? process.env.CORRAL_ROOT;
  if (detach) {
    const other = await otherDaemonRoot(ctx, root);
    if (other !== undefined) throw new CorralError('EUSAGE', `a detached run goes to the daemon at unix://${ctx.socket}, which keeps its state in ${other}, not ${root}: drop --root (and CORRAL_ROOT) or point --host at a daemon using it`);
    return runDetached(ctx, options, config);
  }
  if (await daemonAnswers(ctx.socket)) {
    const other = await otherDaemonRoot(ctx, root);
    if (other === undefined) return runAttached(ctx, options, config);
    process.stderr.write(`corral: the daemon at unix://${ctx.socket} keeps its state in ${other}, not ${root}; running stand-alone\n`);
  } else {
    process.stderr.write(`corral: no daemon at unix://${ctx.socket}; running stand-alone\n`);
  }
  return runStandAlone(global, config, defaultDriver);
}

/** Commands that only talk to the daemon, dispatched below: they fail as the client commands do (1). */
const DAEMON_ONLY_COMMANDS: ReadonlySet<string> = new Set(['exec', 'stats', 'up', 'down']);

/** The commands that talk to the daemon, by name. */
const CLIENT_COMMANDS: Readonly<Record<string, (ctx: ClientContext, argv: readonly string[]) => Promise<number>>> = {
  ps,
  inspect,
  logs,
  events,
  update,
  ...Object.fromEntries(Object.keys(CONTAINER_ACTIONS).map((name) => [name, (ctx: ClientContext, argv: readonly string[]) => runContainerAction(name, ctx, argv)])),
};

export async function main(argv: string[]): Promise<number> {
  // `corral logs web | head`: the reader going away ends the command quietly, as with Docker's CLI
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(0);
    throw err;
  });
  let command: string | undefined;
  try {
    const global = parseGlobal(argv);
    const rest = global.rest.slice(1);
    command = global.rest[0];
    if (command !== undefined && Object.prototype.hasOwnProperty.call(CLIENT_COMMANDS, command)) return await CLIENT_COMMANDS[command]!(clientContext(global), rest);
    switch (command) {
      case 'run':
        return await runCommand(global, rest);
      case 'daemon':
        return await runDaemon(global, rest);
      case 'exec':
        return await (await import('./exec.js')).execCommand(global.host, rest);
      case 'stats':
        return await (await import('./stats.js')).runStats(global, rest);
      case 'up':
      case 'down':
        return await runUp(global, rest, command);
      case 'version':
      case '--version':
        process.stdout.write(`corral ${CORRAL_VERSION}\n`);
        return 0;
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        process.stdout.write(USAGE);
        return command === undefined ? 125 : 0;
      default:
        throw new CorralError('EUSAGE', `unknown command "${command}" (see 'corral --help')`);
    }
  } catch (err) {
    if (err instanceof RunHelpRequested || err instanceof HelpRequested) {
      process.stdout.write(err.text);
      return 0;
    }
    const isRun = command === 'run';
    if (err instanceof ApiResponseError && !isRun) {
      process.stderr.write(`${daemonErrorLine(err)}\n`);
      return 1;
    }
    const message = err instanceof Error ? err.message : String(err);
    process.stderr.write(`corral: ${message}\n`);
    if (process.env.CORRAL_DEBUG && err instanceof Error && err.stack) process.stderr.write(err.stack + '\n');
    if (err instanceof LaunchFailedError) return err.exitCode;
    if (isRun || command === undefined || (err instanceof CorralError && USAGE_CODES.has(err.code))) return 125;
    // a client command the daemon could not serve (not running, or failed): Docker's 1
    return command in CLIENT_COMMANDS || DAEMON_ONLY_COMMANDS.has(command) ? 1 : 125;
  }
}

/**
 * The `corral` command: global options, then one subcommand. Exit codes follow Docker:
 * 125 when corral itself fails, otherwise the workload's.
 */
// Only what every command needs is imported here; each command's modules load when it runs, so that
// `corral version` or `corral ps` does not load the cgroup drivers, prom-client or chokidar.
import { CorralError } from '../errors.js';
import { CORRAL_VERSION } from '../version.js';
import { socketFromGlobal } from '../client/host.js';
import type { ClientContext } from './commands/context.js';
import { exitOnEpipe, stderr, stdout } from './output.js';

const USAGE = `Usage: corral [--root DIR] [--host unix://PATH] COMMAND

A Linux resource-limit and monitoring supervisor.

Global options:
  --root DIR              state directory (env CORRAL_ROOT; default /var/lib/corral)
  -H, --host unix://PATH  the daemon's socket (env CORRAL_HOST; default unix:///run/corral/corral.sock)

Commands:
  run [OPTIONS] [IMAGE] CMD [ARG...]
                               run a command isolated and inside cgroup limits, on an image's
                               layers or the host's directories (through the daemon when one
                               answers, else stand-alone; -d needs the daemon)
  daemon [OPTIONS]             run the supervisor and its API in the foreground
  alert [OPTIONS]              run the alerting sidecar: rules on the daemon's stats and events,
                               alerts to Alertmanager, webhooks or a JSON-lines log
  ps [OPTIONS]                 list containers
  inspect CONTAINER...         show containers' details as JSON
  logs [OPTIONS] CONTAINER     show a container's output
  attach [OPTIONS] CONTAINER   attach this terminal to a running container (ctrl-p ctrl-q detaches)
  stop [-t N] CONTAINER...     stop containers (SIGTERM, then SIGKILL after N seconds)
  kill [-s SIGNAL] CONTAINER...  send a signal to containers (default KILL)
  restart [-t N] CONTAINER...  restart containers
  pause CONTAINER...           pause all processes in containers (their cgroup frozen)
  unpause CONTAINER...         unpause paused containers
  rm [-f] CONTAINER...         remove containers (-f: a running one too)
  rename CONTAINER NEW_NAME    rename a container
  top CONTAINER [ps OPTIONS]   show a running container's processes (the host's ps, -ef by default)
  wait CONTAINER...            wait for containers to stop and print their exit codes
  exec [OPTIONS] CONTAINER CMD [ARG...]  run a command in a running container (-it: a terminal)
  stats [OPTIONS] [CONTAINER...]  live CPU, memory, I/O and PIDs of containers
  top [OPTIONS]                the live dashboard: host, containers, events (--batch: text frames)
  update [OPTIONS] CONTAINER...  change containers' limits and restart policy
  events [OPTIONS]             stream the daemon's events
  pull NAME[:TAG]              download an image from a registry (OCI distribution API)
  images [OPTIONS]             list images
  rmi [-f] IMAGE...            remove images
  tag SOURCE TARGET            give an image another name
  history IMAGE                show an image's layers' history
  image COMMAND                ls, pull, rm, tag, history, inspect, prune
  diff CONTAINER               what a container changed in its root (A, C, D)
  commit CONTAINER [REPO[:TAG]]  a new image from a container's changes
  system df                    disk usage: images, containers, volumes, build cache
  export [-o FILE] CONTAINER   a container's root as a tar archive
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
  return { socket: socketFromGlobal(global.host), out: stdout, err: stderr, now: () => new Date() };
}

/** Commands that only talk to the daemon, dispatched below: they fail as the client commands do (1). */
const DAEMON_ONLY_COMMANDS: ReadonlySet<string> = new Set(['exec', 'stats', 'top', 'up', 'down']);

type ClientCommand = (ctx: ClientContext, argv: readonly string[]) => Promise<number>;

/** The commands that talk to the daemon, by name, each loaded when it runs. */
const CLIENT_COMMANDS: Readonly<Record<string, () => Promise<ClientCommand>>> = {
  ps: async () => (await import('./commands/ps.js')).ps,
  inspect: async () => (await import('./commands/inspect.js')).inspect,
  logs: async () => (await import('./commands/logs.js')).logs,
  attach: async () => (await import('./commands/attach.js')).attach,
  events: async () => (await import('./commands/events.js')).events,
  update: async () => (await import('./commands/update.js')).update,
  rename: async () => (await import('./commands/rename.js')).rename,
  top: async () => (await import('./commands/top.js')).top,
  pull: async () => (await import('./commands/images.js')).pull,
  images: async () => (await import('./commands/images.js')).images,
  rmi: async () => (await import('./commands/images.js')).rmi,
  tag: async () => (await import('./commands/images.js')).tag,
  history: async () => (await import('./commands/images.js')).history,
  image: async () => (await import('./commands/images.js')).image,
  system: async () => (await import('./commands/images.js')).system,
  export: async () => (await import('./commands/images.js')).exportContainer,
  diff: async () => (await import('./commands/images.js')).diff,
  commit: async () => (await import('./commands/images.js')).commit,
  ...Object.fromEntries(
    ['stop', 'restart', 'kill', 'pause', 'unpause', 'rm', 'wait'].map((name) => [
      name,
      async () => {
        const { runContainerAction } = await import('./commands/actions.js');
        return (ctx: ClientContext, argv: readonly string[]) => runContainerAction(name, ctx, argv);
      },
    ]),
  ),
};

/**
 * The commands whose code is large (run's flags and commander, the daemon, exec, the workloads file,
 * update's limits): bin/corral's CommonJS entry (quick.ts) holds every other command and hands these
 * to the ES module bundle, which splits them into chunks loaded on demand.
 */
export const HEAVY_COMMANDS: ReadonlySet<string> = new Set(['run', 'daemon', 'alert', 'exec', 'up', 'down', 'update', 'top']);

/** Whether `corral top`'s words name a container (docker top's form) rather than the dashboard's flags. */
export function namesContainer(rest: readonly string[]): boolean {
  const first = rest[0];
  return first !== undefined && (first === '--' || !first.startsWith('-'));
}

export interface MainOptions {
  /** runs a command of HEAVY_COMMANDS instead (the whole command line, as given) */
  handOff?: (argv: string[]) => Promise<number>;
}

export async function main(argv: string[], options: MainOptions = {}): Promise<number> {
  let command: string | undefined;
  try {
    const global = parseGlobal(argv);
    const rest = global.rest.slice(1);
    command = global.rest[0];
    if (command !== undefined && HEAVY_COMMANDS.has(command)) {
      if (options.handOff) return await options.handOff(argv);
      // these write to process.stdout too: `corral run ... | head` ends quietly when head does (output.ts)
      process.stdout.on('error', exitOnEpipe);
    }
    // `corral top` alone is the dashboard; `corral top CONTAINER [ps OPTIONS]` is docker top's process list
    if (command === 'top' && !namesContainer(rest)) return await (await import('./top/command.js')).runTop(global, rest);
    if (command !== undefined && Object.hasOwn(CLIENT_COMMANDS, command)) return await (await CLIENT_COMMANDS[command]!())(clientContext(global), rest);
    switch (command) {
      case 'run':
        return await (await import('./run-command.js')).runCommand(global, clientContext(global), rest);
      case 'daemon':
        return await (await import('./daemon.js')).runDaemon(global, rest);
      case 'alert':
        return await (await import('./commands/alert.js')).runAlert(global, rest);
      case 'exec':
        return await (await import('./exec.js')).execCommand(global.host, rest);
      case 'stats':
        return await (await import('./stats.js')).runStats(global, rest);
      case 'up':
      case 'down':
        return await (await import('./up.js')).runUp(global, rest, command);
      case 'version':
      case '--version':
        stdout.write(`corral ${CORRAL_VERSION}\n`);
        return 0;
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        stdout.write(USAGE);
        return command === undefined ? 125 : 0;
      default:
        throw new CorralError('EUSAGE', `unknown command "${command}" (see 'corral --help')`);
    }
  } catch (err) {
    // by code, not class, so that the classes' modules need not be loaded for every command
    const code = err instanceof CorralError ? err.code : undefined;
    if (code === 'EHELP') {
      stdout.write((err as CorralError & { text: string }).text);
      return 0;
    }
    const isRun = command === 'run';
    if (code === 'EAPI' && !isRun) {
      const { daemonErrorLine } = await import('./commands/context.js');
      stderr.write(`${daemonErrorLine(err as Parameters<typeof daemonErrorLine>[0])}\n`);
      return 1;
    }
    const message = err instanceof Error ? err.message : String(err);
    stderr.write(`corral: ${message}\n`);
    if (process.env.CORRAL_DEBUG && err instanceof Error && err.stack) stderr.write(err.stack + '\n');
    // the workload could not be started (container/run.ts's LaunchFailedError): 126, 127, ...
    if (code === 'ELAUNCH' && typeof (err as { exitCode?: unknown }).exitCode === 'number') return (err as { exitCode: number }).exitCode;
    if (isRun || command === undefined || (err instanceof CorralError && USAGE_CODES.has(err.code))) return 125;
    // a client command the daemon could not serve (not running, or failed): Docker's 1
    return command in CLIENT_COMMANDS || DAEMON_ONLY_COMMANDS.has(command) ? 1 : 125;
  }
}

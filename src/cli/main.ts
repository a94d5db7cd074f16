/**
 * The `corral` command: global options, then one subcommand. Exit codes follow Docker:
 * 125 when corral itself fails, otherwise the workload's.
 */
import { CorralError, InvalidArgumentError } from '../errors.js';
import { formatRestartPolicy } from '../container/restart-policy.js';
import { resolveStateRoot } from '../state/root.js';
import { createCgroupDriver } from '../cgroups/index.js';
import { parseRunArgs, RunHelpRequested } from './run-flags.js';
import { hostFacts } from './host-facts.js';
import { runForeground, LaunchFailedError } from '../container/run.js';
import { CORRAL_VERSION } from '../version.js';
import { runDaemon } from './daemon.js';
import { runUp } from './up.js';

const USAGE = `Usage: corral [--root DIR] [--host unix://PATH] COMMAND

A Linux resource-limit and monitoring supervisor.

Global options:
  --root DIR              state directory (env CORRAL_ROOT; default /var/lib/corral)
  -H, --host unix://PATH  the daemon's socket (env CORRAL_HOST; default unix:///run/corral/corral.sock)

Commands:
  run [OPTIONS] CMD [ARG...]   run a command isolated and inside cgroup limits
  daemon [OPTIONS]             run the supervisor and its API in the foreground
  up -f FILE, down -f FILE     reconcile a workloads file through the daemon / remove its containers
  version                      print the version

Run 'corral run --help' and 'corral daemon --help' for their options.
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

async function runCommand(global: GlobalOptions, argv: string[]): Promise<number> {
  const state = resolveStateRoot(global.root);
  if (state.fallbackNotice) process.stderr.write(`corral: ${state.fallbackNotice}\n`);
  const defaultDriver = await createCgroupDriver({});
  const config = parseRunArgs(argv, await hostFacts(defaultDriver));
  // A foreground run ends with its workload: nobody is left to restart it. Only the daemon restarts.
  if (config.restartPolicy !== undefined && config.restartPolicy.name !== 'no') {
    throw new InvalidArgumentError(
      '--restart',
      formatRestartPolicy(config.restartPolicy),
      'restart policies need the daemon: a foreground corral run ends with its workload (create the container through the daemon\'s API with HostConfig.RestartPolicy)',
    );
  }
  const driver = config.cgroupParent === undefined ? defaultDriver : await createCgroupDriver({ parent: config.cgroupParent });
  return runForeground(config, { stateRoot: state.root, driver, stderr: process.stderr });
}

export async function main(argv: string[]): Promise<number> {
  try {
    const global = parseGlobal(argv);
    const [command, ...rest] = global.rest;
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
    if (err instanceof RunHelpRequested) {
      process.stdout.write(err.text);
      return 0;
    }
    const code = err instanceof LaunchFailedError ? err.exitCode : 125;
    const message = err instanceof Error ? err.message : String(err);
    process.stderr.write(`corral: ${message}\n`);
    if (process.env.CORRAL_DEBUG && err instanceof Error && err.stack) process.stderr.write(err.stack + '\n');
    return code;
  }
}

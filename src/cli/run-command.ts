/**
 * `corral run` from the Node CLI (the fast front, native/front.c, handles the attached run when a
 * daemon answers): loaded only for `run`, since it brings the cgroup drivers and the launcher.
 */
import { CorralError, InvalidArgumentError } from '../errors.js';
import { formatRestartPolicy } from '../container/restart-policy.js';
import { resolveStateRoot } from '../state/root.js';
import { createCgroupDriver } from '../cgroups/index.js';
import { parseRunCommandLine, type RunConfig } from '../container/config/run-flags.js';
import { hostFacts } from '../container/config/host-facts.js';
import { runForeground } from '../container/run.js';
import { daemonAnswers } from '../client/client.js';
import type { ClientContext } from './commands/context.js';
import { otherDaemonRoot, runAttached, runDetached } from './commands/run.js';
import { imageStandAlone, imageThroughDaemon } from './run-image.js';

export interface RunGlobals {
  root?: string;
}

async function runStandAlone(global: RunGlobals, config: RunConfig, defaultDriver: Awaited<ReturnType<typeof createCgroupDriver>>): Promise<number> {
  const state = resolveStateRoot(global.root);
  if (state.fallbackNotice) process.stderr.write(`corral: ${state.fallbackNotice}\n`);
  // A foreground run ends with its workload: nobody is left to restart it. Only the daemon restarts.
  if (config.restartPolicy !== undefined && config.restartPolicy.name !== 'no') {
    throw new InvalidArgumentError(
      '--restart',
      formatRestartPolicy(config.restartPolicy),
      "restart policies need the daemon: a stand-alone corral run ends with its workload (start the daemon with 'corral daemon'; corral run then goes through it)",
    );
  }
  const driver = config.cgroupParent === undefined ? defaultDriver : await createCgroupDriver({ parent: config.cgroupParent });
  return runForeground(config, { stateRoot: state.root, driver, stderr: process.stderr });
}

/**
 * `corral run`: with -d through the daemon (it must answer); without, through the daemon when one
 * answers on the socket, else stand-alone, which is said once on stderr.
 */
export async function runCommand(global: RunGlobals, ctx: ClientContext, argv: string[]): Promise<number> {
  const defaultDriver = await createCgroupDriver({});
  const facts = await hostFacts(defaultDriver);
  // the flags are read once as for the host's directories, so that a bad flag is reported before
  // any lookup or pull
  const { detach: detached } = parseRunCommandLine(argv, facts);
  const root = global.root ?? process.env.CORRAL_ROOT;
  const daemonUp = detached || ((await daemonAnswers(ctx.socket)) && (await otherDaemonRoot(ctx, root)) === undefined);
  const image = daemonUp ? await imageThroughDaemon(ctx, argv) : await imageStandAlone(resolveStateRoot(global.root).root, argv);
  const { config, options, detach } = parseRunCommandLine(argv, facts, undefined, image);
  if (detach) {
    const other = await otherDaemonRoot(ctx, root);
    if (other !== undefined)
      throw new CorralError(
        'EUSAGE',
        `a detached run goes to the daemon at unix://${ctx.socket}, which keeps its state in ${other}, not ${root}: drop --root (and CORRAL_ROOT) or point --host at a daemon using it`,
      );
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

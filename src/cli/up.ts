/**
 * `corral up -f FILE` and `corral down -f FILE`: reconcile a workloads file through the daemon's
 * API, printing what was done per container as Compose does ("Container shop-web-1  Started").
 * `up` checks the whole file first, every service through the same create validation the daemon
 * applies (run with this machine's facts), and changes nothing when any of it is refused.
 */
import { createCgroupDriver } from '../cgroups/index.js';
import type { CgroupDriver } from '../cgroups/types.js';
import { socketFromGlobal } from '../client/host.js';
import { runConfigFromBody } from '../container/config/body.js';
import { CorralError } from '../errors.js';
import { hostFacts } from '../container/config/host-facts.js';
import { flagsCommand, parseCommand } from './commands/parse.js';
import { apiTarget } from '../workloads/api-target.js';
import { loadWorkloads, WorkloadsReadError } from '../workloads/load.js';
import { parseWorkloads } from '../workloads/parse.js';
import { applyPlan, planDown, planReconcile, type StepReport } from '../workloads/reconcile.js';
import { projectName } from '../workloads/service.js';
import type { CreateCheck } from '../workloads/validate.js';
import fs from 'node:fs/promises';
import path from 'node:path';

export const UP_USAGE = `Usage: corral up -f FILE [-p NAME] [-t SECONDS] [--force-recreate]
       corral down -f FILE [-p NAME] [-t SECONDS]

up: create and start the workloads file's services, recreate those whose definition changed,
stop and remove the containers of services no longer in the file. down: stop and remove every
container of the file's project. Needs a running daemon (corral daemon).

Options:
  -f, --file FILE       the workloads file (YAML, a subset of the Compose format)
  -p, --project-name N  project name (default: the file's top-level name, else its directory's)
  -t, --timeout SECONDS seconds to wait for a container to stop before SIGKILL (default 10)
  --force-recreate      up: recreate the containers even when their definition is unchanged
`;

export interface UpFlags {
  file?: string;
  project?: string;
  timeout: number;
  forceRecreate: boolean;
  help: boolean;
}

/** corral up's and down's flags (--force-recreate: up only). */
export function upCommand(command: 'up' | 'down') {
  const c = flagsCommand(command).option('-f, --file <file>').option('-p, --project-name <name>').option('-t, --timeout <seconds>');
  return command === 'up' ? c.option('--force-recreate') : c;
}

export function parseUpArgs(argv: readonly string[], command: 'up' | 'down'): UpFlags {
  const { opts } = parseCommand<{ file?: string; projectName?: string; timeout?: string; forceRecreate?: boolean; help?: boolean }>(upCommand(command), argv);
  const flags: UpFlags = { timeout: 10, forceRecreate: opts.forceRecreate === true, help: opts.help === true };
  if (opts.file !== undefined) flags.file = opts.file;
  if (opts.projectName !== undefined) flags.project = opts.projectName;
  if (opts.timeout !== undefined) {
    if (!/^\d{1,5}$/.test(opts.timeout)) {
      // the message names the flag as it was written
      const typed = [...argv].reverse().find((a) => a.startsWith('-t') || a === '--timeout' || a.startsWith('--timeout='));
      throw new CorralError('EUSAGE', `invalid value "${opts.timeout}" for ${typed?.startsWith('--') ? '--timeout' : '-t'}: expected whole seconds from 0 to 99999`);
    }
    flags.timeout = Number(opts.timeout);
  }
  if (!flags.help && flags.file === undefined && !(command === 'down' && flags.project !== undefined)) {
    throw new CorralError('EUSAGE', `corral ${command} needs the workloads file: corral ${command} -f FILE`);
  }
  return flags;
}

/** The daemon's create validation, run here with this machine's facts: nothing is created. */
async function localCreateCheck(): Promise<CreateCheck> {
  const drivers = new Map<string, Promise<CgroupDriver>>();
  const driver = (parent: string | undefined) => {
    let d = drivers.get(parent ?? '');
    if (!d) {
      d = createCgroupDriver(parent === undefined ? {} : { parent });
      drivers.set(parent ?? '', d);
    }
    return d;
  };
  const facts = await hostFacts(await driver(undefined));
  return async (body, name) => {
    const config = runConfigFromBody(body, name, facts);
    await (await driver(config.cgroupParent)).plan(config.resources);
  };
}

export interface UpIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

const defaultIo: UpIo = { stdout: (t) => void process.stdout.write(t), stderr: (t) => void process.stderr.write(t) };

function printer(io: UpIo): (step: StepReport) => void {
  return (step) => {
    if (step.status === 'Error') io.stderr(`Container ${step.container}  Error: ${step.error ?? ''}\n`);
    else io.stdout(`Container ${step.container}  ${step.status}\n`);
  };
}

/** `down`'s project: -p, else the file's (parsed, not validated: down also works once a value in the file is refused, or with -p alone). */
async function downProject(flags: UpFlags): Promise<string> {
  if (flags.project !== undefined) return projectName('', undefined, flags.project);
  const file = flags.file!;
  let text: string;
  try {
    text = await fs.readFile(path.resolve(file), 'utf8');
  } catch (err) {
    throw new WorkloadsReadError(file, err as NodeJS.ErrnoException);
  }
  return projectName(path.resolve(file), parseWorkloads(text, { file }).name, undefined);
}

export async function runUp(global: { host?: string }, argv: readonly string[], command: 'up' | 'down', io: UpIo = defaultIo): Promise<number> {
  const flags = parseUpArgs(argv, command);
  if (flags.help) {
    io.stdout(UP_USAGE);
    return 0;
  }
  const target = apiTarget(socketFromGlobal(global.host));
  const report = printer(io);
  if (command === 'down') {
    const project = await downProject(flags);
    const existing = await target.list(project);
    if (existing.length === 0) io.stderr(`No resource found to remove for project "${project}".\n`);
    const outcome = await applyPlan(planDown(existing), target, { stopSeconds: flags.timeout, report });
    return outcome.failures.length > 0 ? 1 : 0;
  }
  const loaded = await loadWorkloads(flags.file!, { ...(flags.project !== undefined ? { project: flags.project } : {}), check: await localCreateCheck() });
  const actions = planReconcile(loaded.desired, await target.list(loaded.project), { forceRecreate: flags.forceRecreate });
  const outcome = await applyPlan(actions, target, { stopSeconds: flags.timeout, report });
  return outcome.failures.length > 0 ? 1 : 0;
}

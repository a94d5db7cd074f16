/**
 * `corral update [limits] [--restart POLICY] CONTAINER...`: change a container's limits and restart
 * policy (POST /containers/{id}/update, Docker's UpdateConfig body: Resources fields and
 * RestartPolicy). Units are read as `corral run` reads them; only the flags given are sent, so the
 * daemon leaves the rest as they are. Ranges are the daemon's to check, against the container's
 * other limits.
 */
import { call } from '../../client/client.js';
import { InvalidArgumentError } from '../../errors.js';
import { EXPECT, parseInteger, parseNanoCpus } from '../../container/config/run-flags.js';
import { parseByteSize } from '../../container/config/units.js';
import { clientCommand, parseCommand, UsageError } from './parse.js';
import { parseRestartFlag, restartPolicyJson } from '../../container/restart-policy.js';
import { containerPath, forEachContainer, type ClientContext } from './context.js';

interface UpdateOptions {
  memory?: string;
  memorySwap?: string;
  memoryReservation?: string;
  cpus?: string;
  cpuShares?: string;
  cpuPeriod?: string;
  cpuQuota?: string;
  cpusetCpus?: string;
  cpusetMems?: string;
  pidsLimit?: string;
  restart?: string;
}

export function updateCommand() {
  return clientCommand('update', '[OPTIONS] CONTAINER [CONTAINER...]', "change containers' limits and restart policy")
    .option('-m, --memory <bytes>', 'memory limit')
    .option('--memory-swap <bytes>', 'memory plus swap limit; -1 for unlimited swap')
    .option('--memory-reservation <bytes>', 'memory soft limit')
    .option('--cpus <number>', 'number of CPUs')
    .option('-c, --cpu-shares <shares>', 'CPU shares (relative weight)')
    .option('--cpu-period <usec>', 'CPU CFS period')
    .option('--cpu-quota <usec>', 'CPU CFS quota')
    .option('--cpuset-cpus <list>', 'CPUs in which to allow execution (0-1,3)')
    .option('--cpuset-mems <list>', 'memory nodes in which to allow execution')
    .option('--pids-limit <n>', 'process limit; -1 for unlimited')
    .option('--restart <policy>', 'restart policy: no, always, unless-stopped, on-failure[:max-retries]')
    .argument('<containers...>');
}

function integer(flag: string, text: string, expected: string): number {
  const n = parseInteger(text);
  if (n === undefined) throw new InvalidArgumentError(flag, text, `expected ${expected}`);
  return n;
}

/** The update body from the flags given; throws InvalidArgumentError naming a flag whose value is not of its kind. */
export function updateBody(o: UpdateOptions): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  if (o.memory !== undefined) body.Memory = parseByteSize('--memory', o.memory, EXPECT.memory);
  if (o.memorySwap !== undefined) body.MemorySwap = o.memorySwap === '-1' ? -1 : parseByteSize('--memory-swap', o.memorySwap, EXPECT.memorySwap);
  if (o.memoryReservation !== undefined) body.MemoryReservation = parseByteSize('--memory-reservation', o.memoryReservation, EXPECT.memoryReservation);
  if (o.cpus !== undefined) {
    const nano = parseNanoCpus(o.cpus);
    if (nano === undefined) throw new InvalidArgumentError('--cpus', o.cpus, `expected ${EXPECT.cpus}`);
    body.NanoCpus = nano;
  }
  if (o.cpuShares !== undefined) body.CpuShares = integer('--cpu-shares', o.cpuShares, EXPECT.cpuShares);
  if (o.cpuPeriod !== undefined) body.CpuPeriod = integer('--cpu-period', o.cpuPeriod, EXPECT.cpuPeriod);
  if (o.cpuQuota !== undefined) body.CpuQuota = integer('--cpu-quota', o.cpuQuota, EXPECT.cpuQuota);
  if (o.cpusetCpus !== undefined) body.CpusetCpus = cpuList('--cpuset-cpus', o.cpusetCpus, EXPECT.cpusetCpus);
  if (o.cpusetMems !== undefined) body.CpusetMems = cpuList('--cpuset-mems', o.cpusetMems, EXPECT.cpusetMems);
  if (o.pidsLimit !== undefined) body.PidsLimit = integer('--pids-limit', o.pidsLimit, EXPECT.pidsLimit);
  if (o.restart !== undefined) body.RestartPolicy = restartPolicyJson(parseRestartFlag(o.restart));
  return body;
}

function cpuList(flag: string, text: string, expected: string): string {
  if (!/^\d+(-\d+)?(,\d+(-\d+)?)*$/.test(text)) throw new InvalidArgumentError(flag, text, `expected ${expected}`);
  return text;
}

export async function update(ctx: ClientContext, argv: readonly string[]): Promise<number> {
  const { opts, args } = parseCommand<UpdateOptions>(updateCommand(), argv);
  const body = updateBody(opts);
  if (Object.keys(body).length === 0) throw new UsageError("corral update needs at least one flag to change (see 'corral update --help')");
  return forEachContainer(ctx, args, async (ref) => {
    const answer = await call<{ Warnings?: string[] | null } | undefined>(ctx.socket, { method: 'POST', path: containerPath(ref, '/update'), body });
    for (const w of answer.body?.Warnings ?? []) ctx.err.write(`${w}\n`);
    return ref;
  });
}

/**
 * Every service of a workloads file checked by the daemon's own create validation (run-flags, then
 * the cgroup driver's plan) before anything is reconciled, creating nothing. A refusal is turned
 * back into the file's terms: the position of the key the refused Docker field came from, the
 * value as written there, and the Compose key in place of each `corral run` flag the reason names
 * (the registry, fields.ts, knows each field's key; the reason names flags through InvalidArgumentError's Reason).
 */
import { dockerFieldOf } from '../container/config/body.js';
import { fieldOfFlag } from '../container/config/fields.js';
import { RunUsageError } from '../container/config/run-flags.js';
import { type CorralError, InvalidArgumentError, InvalidParameterError, InvalidLimitError, UnsupportedError } from '../errors.js';
import { WorkloadsFileError, type FileProblem, type Origin, type WorkloadService } from './parse.js';
import type { DesiredService } from './service.js';

/** Docker's create validation of one body, throwing what create would throw (Supervisor.checkCreate, or runConfigFromBody). */
export type CreateCheck = (body: Record<string, unknown>, name: string) => Promise<unknown> | unknown;

/** Where a refused field came from: the list item holding the refused value, else the field's key, else the service. */
function originOf(svc: WorkloadService, field: string, value: string): Origin {
  const item = svc.itemOrigins[field]?.find((i) => i.value === value || i.value.startsWith(`${value}=`));
  return item?.origin ?? svc.origins[field] ?? svc.at;
}

/** The refusal of one service in the file's terms. */
export function problemOf(svc: WorkloadService, err: CorralError): FileProblem {
  const where = (o: Origin) => ({ line: o.line, column: o.column, path: o.path });
  if (err instanceof RunUsageError && err.flag === 'COMMAND') {
    return { ...where(svc.origins.Cmd ?? svc.at), reason: 'a command is required: corral has no images, so nothing else supplies one (command: [prog, arg...])' };
  }
  if (err instanceof InvalidArgumentError) {
    const field = dockerFieldOf(err.flag);
    const origin = originOf(svc, field, err.value);
    // each flag the reason mentions, by the key that set it in this service, or by the file's name for it
    const key = (flag: string) => {
      const f = fieldOfFlag(flag);
      if (f?.workloads === undefined || f.path === undefined) return flag;
      const o = svc.origins[f.path];
      return o ? o.path.slice(`services.${svc.name}.`.length) : f.workloads[0]!.key;
    };
    const shown = origin.text !== '' ? origin.text : err.value;
    const reason = err instanceof RunUsageError ? err.message : err.reasonNaming(key);
    return { ...where(origin), reason: `invalid value "${shown}": ${reason}` };
  }
  return { ...where(svc.at), reason: err.message };
}

/** What create refuses as bad input (a 400), as opposed to a failure of the machine or a bug. */
function isRefusal(err: unknown): err is CorralError {
  return err instanceof InvalidArgumentError || err instanceof InvalidLimitError || err instanceof UnsupportedError || err instanceof InvalidParameterError;
}

/**
 * Check every service (all of them, so that every problem is reported at once); throws a
 * WorkloadsFileError listing the refusals. Errors that are not refusals (I/O, bugs) propagate.
 */
export async function validateServices(file: string, services: readonly WorkloadService[], desired: readonly DesiredService[], check: CreateCheck): Promise<void> {
  const problems: FileProblem[] = [];
  for (const [i, svc] of services.entries()) {
    const want = desired[i]!;
    try {
      await check(want.body, want.name);
    } catch (err) {
      if (!isRefusal(err)) throw err;
      problems.push(problemOf(svc, err));
    }
  }
  if (problems.length > 0) throw new WorkloadsFileError(file, problems);
}

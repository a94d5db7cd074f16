/**
 * Top (moby's daemon/top_unix.go): the host's `ps` with the client's options, its rows narrowed to
 * the processes of the container's cgroup (container/top.ts parses). ps is executed directly with
 * its argv, never through a shell, so a ps_args value can only ever be options of ps.
 */
import { execFile } from 'node:child_process';
import { parsePsOutput, psArgv, psPidsArg, type TopResponse } from '../container/top.js';
import { ConflictError, SystemError } from '../errors.js';
import type { DaemonContext } from './context.js';

/** ps is quick; one that hangs (a stuck /proc read) must not hold the request for ever. */
const PS_TIMEOUT_MS = 10_000;
/** What ps may print: a container with many thousands of threads and `-L` stays well below it. */
const PS_MAX_OUTPUT = 32 * 1024 * 1024;

/** ps's stdout; a failure is moby's: "ps: " and the first line of ps's stderr (else the error itself). */
export function runPs(argv: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('ps', argv, { encoding: 'utf8', timeout: PS_TIMEOUT_MS, killSignal: 'SIGKILL', maxBuffer: PS_MAX_OUTPUT, windowsHide: true }, (err, stdout, stderr) => {
      if (!err) return resolve(stdout);
      const first = stderr.split('\n', 1)[0] ?? '';
      reject(new SystemError(`ps: ${first !== '' ? first : err.message}`));
    });
  });
}

function notRunning(id: string): ConflictError {
  return new ConflictError(`Container ${id} is not running`);
}

export async function top(d: DaemonContext, id: string, psArgs: string | null, run: (argv: readonly string[]) => Promise<string> = runPs): Promise<TopResponse> {
  // the options first, as moby: a refused ps_args is refused whatever the container's state
  const args = psArgv(psArgs);
  const r = await d.record(id);
  if (r.status === 'restarting') throw new ConflictError(`Container ${id} is restarting, wait until the container is running`);
  if (r.status !== 'running') throw notRunning(id);
  const stored = await d.store.readConfig(id);
  const cgroup = (await d.driver(stored.config.cgroupParent)).open(id);
  let pids: number[];
  try {
    pids = await cgroup.pids();
  } catch (err) {
    // it ended meanwhile and its cgroup is gone
    if ((await d.record(id).catch(() => undefined))?.status !== 'running') throw notRunning(id);
    throw err;
  }
  // as moby: ps reads only the container's processes (-q); some options (f) refuse -q, so without it then
  const output = await run([...args, psPidsArg(pids)]).catch(() => run(args));
  const answer = parsePsOutput(output, pids);
  await d.emit('top', id);
  return answer;
}

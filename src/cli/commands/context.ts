/**
 * What a client command runs with: the daemon's socket, where its output goes, and the clock
 * (injected so that tests can fix "now"). Plus the one loop the per-container commands share.
 */
import { ApiResponseError, DaemonUnreachableError } from '../../client/client.js';
import type { Output } from '../output.js';

export interface ClientContext {
  socket: string;
  out: Output;
  err: Output;
  now: () => Date;
}

/** Docker's wording for an error the daemon answered with. */
export function daemonErrorLine(err: ApiResponseError): string {
  return `Error response from daemon: ${err.message}`;
}

/**
 * `stop a b c`, `kill`, `rm`, `restart`, `wait`: run `action` for every container concurrently (as
 * Docker's CLI does), then print, in the order given, what each printed (Docker prints the name as
 * given) or its error on stderr. Exit 1 if any failed. No daemon at all is not a per-container
 * error: it is thrown, once.
 */
export async function forEachContainer(ctx: ClientContext, refs: readonly string[], action: (ref: string, index: number) => Promise<string>): Promise<number> {
  const results = await Promise.allSettled(refs.map(action));
  const unreachable = results.find((r): r is PromiseRejectedResult => r.status === 'rejected' && r.reason instanceof DaemonUnreachableError);
  if (unreachable) throw unreachable.reason;
  let failed = false;
  for (const r of results) {
    if (r.status === 'fulfilled') ctx.out.write(`${r.value}\n`);
    else {
      failed = true;
      const e = r.reason as Error;
      ctx.err.write(`${e instanceof ApiResponseError ? daemonErrorLine(e) : `corral: ${e.message}`}\n`);
    }
  }
  return failed ? 1 : 0;
}

/** A container reference as a path segment. */
export function containerPath(ref: string, rest = ''): string {
  return `/containers/${encodeURIComponent(ref)}${rest}`;
}
